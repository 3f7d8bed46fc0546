"""Reaction emoji as images from the vendored Twemoji sprite sheet, so they look the same on every screen.

A plant PC without an emoji font shows empty boxes for emoji characters; like Zulip, chat draws reactions
from an image set instead (static/vendor/emoji-datasource-twitter/, fetched by scripts/vendor_emoji.py).
Any emoji may still be a reaction: one the sheet lacks is shown as its character.
"""

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from django.utils.html import format_html
from django.utils.safestring import SafeString

SHEET_MAP = Path(__file__).with_name("emoji_sheet.json")
VARIATION_SELECTOR = 0xFE0F


@dataclass(frozen=True)
class SheetCell:
    x: int
    y: int
    name: str  # The short name, e.g. "+1" or "white check mark".


@functools.cache
def _sheet() -> tuple[int, dict[str, SheetCell]]:
    data = json.loads(SHEET_MAP.read_text(encoding="utf-8"))
    return data["size"], {code: SheetCell(*cell) for code, cell in data["cells"].items()}


def _code(points: list[int]) -> str:
    return "-".join(f"{point:04x}" for point in points)


def cell_of(emoji: str) -> SheetCell | None:
    """The sheet's cell for an emoji (with or without its variation selectors), or None when it has none."""
    points = [ord(char) for char in emoji or ""]
    if not points:
        return None
    cells = _sheet()[1]
    found = cells.get(_code(points))
    if found is None:
        bare = [point for point in points if point != VARIATION_SELECTOR]
        found = cells.get(_code(bare))
        if found is None and len(bare) == 1:
            found = cells.get(_code([bare[0], VARIATION_SELECTOR]))
    return found


def emoji_html(emoji: str) -> SafeString:
    """An emoji as an image from the sheet, named by its character; the character itself when the sheet lacks it."""
    cell = cell_of(emoji)
    if cell is None:
        return format_html('<span class="emoji emoji-text">{}</span>', emoji)
    size = _sheet()[0]
    step = 100 / (size - 1)
    return format_html(
        '<span class="emoji emoji-img" role="img" aria-label="{}" style="background-position:{}% {}%"></span>',
        emoji,
        f"{cell.x * step:.4f}".rstrip("0").rstrip("."),
        f"{cell.y * step:.4f}".rstrip("0").rstrip("."),
    )
