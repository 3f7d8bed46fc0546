#!/usr/bin/env python3
"""Vendor the reaction emoji: Twemoji's 32 px sprite sheet (256 colours) from emoji-datasource-twitter.

Writes static/vendor/emoji-datasource-twitter/ (the sheet and the licences) and chat/emoji_sheet.json,
the map from code points to the sheet's cells that chat/emoji.py reads. Run it again to change version.
"""

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "16.0.0"
PACKAGE = "emoji-datasource-twitter"
ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "static" / "vendor" / PACKAGE
SHEET = "package/img/twitter/sheets-256/32.png"

GRAPHICS_NOTICE = """Twemoji graphics (the sprite sheet sheet-32.png)

Copyright (c) 2014-2021 Twitter, Inc and other contributors; 2022-present Jason Sofonia & Justine De Caires
(https://github.com/jdecked/twemoji). Licensed under the Creative Commons Attribution 4.0 International
licence (CC-BY 4.0): https://creativecommons.org/licenses/by/4.0/

The sheet is the one published in the npm package emoji-datasource-twitter {version}
(https://github.com/iamcal/emoji-data), whose code and data are under the MIT licence in LICENSE.
"""


def key(unified: str) -> str:
    return unified.lower()


def main() -> int:
    with tempfile.TemporaryDirectory() as work:
        npm = shutil.which("npm") or "npm"
        subprocess.run([npm, "pack", "--silent", f"{PACKAGE}@{VERSION}"], cwd=work, check=True, capture_output=True)  # noqa: S603
        wanted = (SHEET, "package/LICENSE", "package/emoji.json")
        with tarfile.open(Path(work) / f"{PACKAGE}-{VERSION}.tgz") as archive:
            archive.extractall(work, members=[archive.getmember(name) for name in wanted], filter="data")
        TARGET.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(work) / SHEET, TARGET / "sheet-32.png")
        shutil.copy(Path(work) / "package" / "LICENSE", TARGET / "LICENSE")
        (TARGET / "LICENSE-GRAPHICS").write_text(GRAPHICS_NOTICE.format(version=VERSION))
        data = json.loads((Path(work) / "package" / "emoji.json").read_text())
    size = max(max(entry["sheet_x"], entry["sheet_y"]) for entry in data) + 1
    cells: dict[str, list] = {}
    for entry in data:
        if not entry.get("has_img_twitter"):
            continue
        name = entry["short_name"].replace("_", " ")
        for unified in filter(None, [entry["unified"], entry.get("non_qualified")]):
            cells[key(unified)] = [entry["sheet_x"], entry["sheet_y"], name]
        for variation in (entry.get("skin_variations") or {}).values():
            if variation.get("has_img_twitter"):
                cells[key(variation["unified"])] = [variation["sheet_x"], variation["sheet_y"], name]
    out = {"version": VERSION, "size": size, "cells": dict(sorted(cells.items()))}
    (ROOT / "chat" / "emoji_sheet.json").write_text(json.dumps(out, separators=(",", ":"), ensure_ascii=False) + "\n")
    print(f"{PACKAGE} {VERSION}: {len(cells)} emoji on a {size}x{size} sheet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
