"""Reaction emoji drawn from the vendored Twemoji sheet: the map from characters to cells, and the fallback."""

import json
from pathlib import Path

from django.conf import settings

from chat.emoji import SHEET_MAP, cell_of, emoji_html
from chat.templatetags.chat_tags import REACTION_CHOICES, reaction_buttons

SHEET = Path(settings.BASE_DIR) / "static" / "vendor" / "emoji-datasource-twitter"


def test_it_finds_the_cell_of_an_emoji_with_or_without_its_variation_selector():
    thumbs = cell_of("👍")
    assert thumbs is not None and thumbs.name == "+1"
    assert cell_of("❤️") == cell_of("❤") and cell_of("❤").name == "heart"
    assert cell_of("✔️") == cell_of("✔")


def test_skin_tones_flags_and_families_have_cells_of_their_own():
    assert cell_of("👍🏽") not in (None, cell_of("👍"))
    assert cell_of("🇩🇪").name == "de"
    assert cell_of("👨‍👩‍👧") is not None


def test_every_emoji_of_the_palette_is_on_the_sheet():
    assert all(cell_of(emoji) is not None for emoji in REACTION_CHOICES)


def test_an_emoji_the_sheet_lacks_falls_back_to_its_character():
    assert cell_of("★") is None and cell_of("") is None
    assert emoji_html("★") == '<span class="emoji emoji-text">★</span>'
    assert "&lt;b&gt;" in emoji_html("<b>")


def test_an_emoji_is_an_image_named_by_its_character_at_its_cell():
    html = emoji_html("👍")
    cell = cell_of("👍")
    size = json.loads(SHEET_MAP.read_text())["size"]
    assert 'class="emoji emoji-img"' in html and 'role="img"' in html and 'aria-label="👍"' in html
    x, y = (f"{100 * value / (size - 1):.4f}".rstrip("0").rstrip(".") for value in (cell.x, cell.y))
    assert f'style="background-position:{x}% {y}%"' in html


def test_the_palette_shows_images_and_keeps_its_names():
    html = str(reaction_buttons())
    assert html.count('class="emoji emoji-img"') == len(REACTION_CHOICES)
    assert 'aria-label="React 👍"' in html and 'title=":+1:"' in html and 'value="👍"' in html


def test_the_sheet_and_its_licences_are_vendored_and_small():
    assert (SHEET / "LICENSE").exists() and "CC-BY 4.0" in (SHEET / "LICENSE-GRAPHICS").read_text()
    total = sum(path.stat().st_size for path in SHEET.iterdir()) + SHEET_MAP.stat().st_size
    assert total < 4 * 1024 * 1024
