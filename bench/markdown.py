"""Benchmark: the light markdown renderer (nexus.markdown) on ordinary and hostile text, by input size.

For each input and size it times `nexus.markdown.render` and, as the baseline of
the same run, stock markdown-it-py (CommonMark, HTML off) on the same text. The
point is the growth: doubling the input should about double the time. The stock
link-label scan is quadratic in unclosed brackets ("[" repeated), which
nexus.markdown bounds; the other inputs show what the sanitizer and the
mention/URL pass cost on top of the parser. (A line of "*" is a thematic break
to stock CommonMark, which nexus.markdown turns off, so there stock does far
less work: its figure is no baseline for that row.)

Measured on the shared 2-core machine (one run): "unclosed [" at 100,000 chars
0.29 s against stock's 1.48 s; "[ ... ]" 0.94 s against 0.98 s; both doubling
with the input.

    .venv/bin/python bench/markdown.py
    .venv/bin/python bench/markdown.py --sizes 10000 20000 40000 --repeat 3
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from markdown_it import MarkdownIt

from nexus.markdown import render

INPUTS = {
    "ordinary": lambda n: ("Press **4** is leaking, see https://x.org/a and ask @bob.\n- one\n- two\n\n" * n)[:n],
    "unclosed [": lambda n: "[" * n,
    "[ ... ]": lambda n: "[" * (n - 1) + "]",
    "[a](": lambda n: ("[a](" * n)[:n],
    "*": lambda n: "*" * n,
    "urls and mentions": lambda n: ("https://x.org/@bob @bob " * n)[:n],
}


def _best(function, text: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(text)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[25_000, 50_000, 100_000])
    parser.add_argument("--repeat", type=int, default=2)
    options = parser.parse_args()
    stock = MarkdownIt("commonmark", {"html": False})
    mentions = {"bob": (1, "Bob")}
    print(f"{'input':<20}{'chars':>9}{'nexus s':>10}{'stock s':>10}")
    for name, make in INPUTS.items():
        for size in options.sizes:
            text = make(size)
            ours = _best(lambda value: render(value, mentions), text, options.repeat)
            theirs = _best(stock.render, text, options.repeat)
            print(f"{name:<20}{len(text):>9}{ours:>10.3f}{theirs:>10.3f}")


if __name__ == "__main__":
    main()
