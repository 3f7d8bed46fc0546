#!/usr/bin/env python3
"""Vendor the interface icons: one SVG sprite of the Lucide icons the hub uses, from lucide-static.

Writes static/vendor/lucide/sprite.svg (a <symbol id="NAME"> per icon, drawn with `{% icon "NAME" %}`)
and its licence. Emoji characters render as empty boxes on a PC without an emoji font; these are plain
SVG paths in the page's text colour. To add an icon, add its name (https://lucide.dev/icons) to ICONS and
run the script again; to change version, change VERSION.
"""

import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

VERSION = "1.62.0"
PACKAGE = "lucide-static"
ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "static" / "vendor" / "lucide"
SVG = "http://www.w3.org/2000/svg"

# Every interface icon the hub draws, one a line.
ICONS = (
    "arrow-down",  # chat: jump to the latest message
    "arrow-left",  # back links
    "arrow-right",  # from -> to (a project's dates)
    "bell",  # notifications
    "bell-off",  # a muted conversation
    "box",  # a machine type's 3D model
    "check",  # acknowledged, done
    "chevron-down",  # menus that open
    "chevron-left",  # back to the previous pane (chat on a phone)
    "external-link",  # links that leave the hub
    "heart",  # likes
    "menu",  # the phone's navigation toggle
    "message-circle",  # comments
    "paperclip",  # attachments
    "play",  # videos
    "smile-plus",  # add a reaction
    "wifi-off",  # content that needs the internet
    "x",  # close, dismiss
)

# The presentation attributes every Lucide icon shares; they move from each <svg> onto its <symbol>.
_SHARED = ("fill", "stroke", "stroke-width", "stroke-linecap", "stroke-linejoin")


def symbol(name: str, source: str) -> str:
    """One icon's <symbol>, its shapes unchanged."""
    ET.register_namespace("", SVG)
    svg = ET.fromstring(source)  # noqa: S314 (the npm package's own files)
    attributes = " ".join(f'{key}="{svg.get(key)}"' for key in ("viewBox", *_SHARED) if svg.get(key))
    for child in svg:
        child.tail = None  # The source's indentation.
    shapes = "".join(ET.tostring(child, encoding="unicode").replace(f' xmlns="{SVG}"', "") for child in svg)
    return f'<symbol id="{name}" {attributes}>{shapes}</symbol>'


def main() -> int:
    with tempfile.TemporaryDirectory() as work:
        npm = shutil.which("npm") or "npm"
        subprocess.run([npm, "pack", "--silent", f"{PACKAGE}@{VERSION}"], cwd=work, check=True, capture_output=True)  # noqa: S603
        with tarfile.open(Path(work) / f"{PACKAGE}-{VERSION}.tgz") as archive:
            names = {f"package/icons/{name}.svg": name for name in ICONS}
            missing = sorted(set(names) - set(archive.getnames()))
            if missing:
                print(f"{PACKAGE} {VERSION} has no icon named: {', '.join(missing)}", file=sys.stderr)
                return 1
            symbols = [symbol(name, archive.extractfile(path).read().decode()) for path, name in names.items()]
            licence = archive.extractfile("package/LICENSE").read().decode()
    TARGET.mkdir(parents=True, exist_ok=True)
    header = f"<!-- Lucide icons (lucide-static {VERSION}, ISC licence: LICENSE); made by scripts/vendor_icons.py -->"
    body = "\n".join(symbols)
    (TARGET / "sprite.svg").write_text(f'{header}\n<svg xmlns="{SVG}">\n{body}\n</svg>\n')
    (TARGET / "LICENSE").write_text(licence)
    print(f"{PACKAGE} {VERSION}: {len(symbols)} icons in static/vendor/lucide/sprite.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
