"""The light markdown renderer: its subset, its escaping guarantees and its mentions.

Pure functions, so no database: every test calls `render` or `mentioned_usernames`.
"""

import re
from html.parser import HTMLParser

import pytest

from nexus.markdown import MAX_BRACKET_NESTING, mentioned_usernames, render

BOB = {"bob": (7, "Bob Builder")}
REL = 'target="_blank" rel="noopener noreferrer nofollow"'


# The subset


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("At *ten*.", "<p>At <em>ten</em>.</p>"),
        ("**boots** and _hall_", "<p><strong>boots</strong> and <em>hall</em></p>"),
        ("snake_case_name stays", "<p>snake_case_name stays</p>"),
        ("***both***", "<p><em><strong>both</strong></em></p>"),
        ("run `rm -rf <dir>` now", "<p>run <code>rm -rf &lt;dir&gt;</code> now</p>"),
        ("one\ntwo", "<p>one<br>\ntwo</p>"),
        ("one\n\ntwo", "<p>one</p>\n<p>two</p>"),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
        ("1. a\n2) b", '<ol>\n<li>a</li>\n</ol>\n<ol start="2">\n<li>b</li>\n</ol>'),
        ("3. c\n4. d", '<ol start="3">\n<li>c</li>\n<li>d</li>\n</ol>'),
        ("```python\nif a < b:\n    *x*\n```", "<pre><code>if a &lt; b:\n    *x*\n</code></pre>"),
        ("```\nnever closed\n**x**", "<pre><code>never closed\n**x**</code></pre>"),
    ],
)
def test_it_renders_the_subset(text, html):
    assert render(text) == html


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("# not a heading", "# not a heading"),
        ("> not a quote", "&gt; not a quote"),
        ("---", "---"),
        ("    not code", "not code"),
        ("[ref]: /x/", "[ref]: /x/"),
        ("&lt;b&gt; typed as entities", "&amp;lt;b&amp;gt; typed as entities"),
        ("| a | b |\n| - | - |", "| a | b |<br>\n| - | - |"),
        ("~~not struck~~", "~~not struck~~"),
    ],
)
def test_it_shows_markup_outside_the_subset_as_typed(text, shown):
    assert render(text) == f"<p>{shown}</p>"


def test_it_links_http_https_and_mailto_and_opens_them_safely():
    html = render('[site](https://x.org/a "Title") <http://y.org> [mail](mailto:ops@x.org)')
    assert f'<a href="https://x.org/a" title="Title" {REL}>site</a>' in html
    assert f'<a href="http://y.org" {REL}>http://y.org</a>' in html
    assert f'<a href="mailto:ops@x.org" {REL}>mail</a>' in html


def test_it_links_bare_urls_without_their_trailing_punctuation():
    html = render("see https://x.org/a?b=1&c=2. or (https://y.org/p)")
    assert f'<a href="https://x.org/a?b=1&amp;c=2" {REL}>https://x.org/a?b=1&amp;c=2</a>.' in html
    assert f'(<a href="https://y.org/p" {REL}>https://y.org/p</a>)' in html


def test_it_does_not_link_a_url_twice_inside_a_link():
    html = render("[https://x.org](https://y.org)")
    assert html == f'<p><a href="https://y.org" {REL}>https://x.org</a></p>'


# Escaping guarantees (XSS)


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src=https://evil.org></iframe>",
        "<!-- comment --><style>body{display:none}</style>",
        '<svg onload="alert(1)"><math><mi xlink:href="javascript:alert(1)">',
        "<<script>script>alert(1)<</script>/script>",
        "**<b>bold</b>** _<i onclick=x>i</i>_",
    ],
)
def test_it_shows_raw_html_as_text(text):
    html = render(text)
    tags = re.findall(r"<\s*([a-zA-Z]+)", html)
    assert set(tags) <= {"p", "strong", "em", "br"}
    assert "&lt;" in html


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "  javascript:alert(1)",
        "java%0ascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "data:image/png;base64,AAAA",
        "file:///etc/passwd",
        "/relative/path",
        "//evil.org/x",
    ],
)
def test_it_refuses_link_targets_other_than_http_https_and_mailto(target):
    html = render(f"[click]({target}) <{target}>")
    assert "<a " not in html and "href" not in html


@pytest.mark.parametrize(
    "text",
    [
        '[x](https://x.org"onmouseover="alert(1))',
        "[x](https://x.org' onmouseover='alert(1))",
        '[x](https://x.org "a\\" onmouseover=\\"alert(1)")',
        'https://x.org/"onmouseover="alert(1)',
        '@bob" onmouseover="alert(1)',
    ],
)
def test_it_never_lets_an_attribute_break_out(text):
    assert _attributes(render(text, BOB)) <= {"href", "title", "target", "rel", "class", "data-user", "start"}


def _attributes(html: str) -> set[str]:
    """Every attribute name in `html`, as a browser's parser would read them."""
    names: set[str] = set()

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            names.update(name for name, _ in attrs)

    Collector().feed(html)
    return names


def test_it_keeps_nested_emphasis_balanced():
    html = render("*a **b _c `d` c_ b** a*")
    assert html == "<p><em>a <strong>b <em>c <code>d</code> c</em> b</strong> a</em></p>"
    # Unbalanced markers stay text rather than leaving a tag open.
    html = render("**a *b")
    assert html == "<p>**a *b</p>"


def test_it_drops_nul_characters_without_failing():
    assert "\x00" not in render("a\x00b")


def test_it_renders_a_label_nested_to_the_limit_and_shows_a_deeper_one_as_text():
    depth = MAX_BRACKET_NESTING - 1
    within = "[" + "[" * depth + "x" + "]" * depth + "](https://x.org)"
    assert '<a href="https://x.org"' in render(within)
    beyond = "[" + "[" * MAX_BRACKET_NESTING + "x" + "]" * MAX_BRACKET_NESTING + "](https://x.org)"
    assert render(beyond).startswith("<p>" + "[" * (MAX_BRACKET_NESTING + 1) + "x")


# Mentions


def test_it_renders_mentions_of_known_people_only():
    html = render("@bob and @Bob and @carol, a@bob.com", BOB)
    assert html.count('<span class="mention" data-user="7">@Bob Builder</span>') == 2
    assert "@carol" in html and "a@bob.com" in html


def test_it_escapes_the_display_name_of_a_mention():
    html = render("@bob", {"bob": (7, '<img src=x onerror="alert(1)">')})
    assert html == '<p><span class="mention" data-user="7">@&lt;img src=x onerror="alert(1)"&gt;</span></p>'


def test_it_does_not_render_mentions_in_code_or_urls():
    html = render("`@bob`\n```\n@bob\n```\nhttps://x.org/@bob", BOB)
    assert 'class="mention"' not in html


def test_it_finds_the_mentioned_usernames_outside_code():
    text = "Hi @Bob, ask @carol.\n`@dan` https://x.org/@erin mail@frank.org\n```\n@gus\n```\n@hal_9"
    assert mentioned_usernames(text) == {"bob", "carol", "hal_9"}


# Hostile input


@pytest.mark.parametrize(
    "hostile",
    [
        "[" * 100_000,
        "[" * 99_999 + "]",
        "[a](" * 25_000,
        "![" * 50_000,
        "*" * 100_000,
        "_a" * 50_000,
        "*a **b " * 14_000,
        "`a``" * 25_000,
        "<" * 100_000,
        "@" * 100_000,
        " @" + "." * 100_000,
        "https://" + "a." * 50_000,
        "\\" * 100_000,
        "- " * 50_000,
        "".join("  " * i + "- a\n" for i in range(300)),
        "**_`[@bob](http://" * 6_000,
        "https://x.org/@bob @bob " * 4_000,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_it_renders_100_kb_of_hostile_input(hostile):
    # Termination is the assertion (bench/ measures speed): every rule here is linear or bounded, where
    # the stock link-label scan was quadratic in unclosed brackets.
    html = render(hostile, BOB)
    assert html and "<script" not in html
    mentioned_usernames(hostile)
