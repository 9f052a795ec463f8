"""Does every bar line of every built chorale fall on the MIDI's bar grid? (a check, not a speed goal)

    python benchmarks/check_corpus_bar_lines.py [--corpus data/bach-chorales]

Builds ``data/bach-chorales`` first when it is missing (``python -m data build bach-chorales``), then, for
every piece, re-parses its score with music21, expands its repeats and compares the measure starts with
``read_midi(file).bar_starts()`` (:func:`data.check.check_bar_lines`). Prints how many pieces have every bar
line in place and lists the others with their first missing or extra bar lines (quarter notes). Exit status
0 when every piece is in place, 1 otherwise. Takes about a minute for the 350 chorales (music21 parsing).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from data import build_corpus
from data.check import check_bar_lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=None,
                        help="a built corpus folder (default: data/bach-chorales, built when missing)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes if the corpus must be built")
    args = parser.parse_args(argv)
    folder = args.corpus or build_corpus("bach-chorales", jobs=args.jobs)
    results = check_bar_lines(folder, progress=True)
    bad = [result for result in results if not result.ok]
    bars = sum(result.n_bars for result in results)
    print(f"{folder}: {len(results) - len(bad)} of {len(results)} pieces have every bar line in place "
          f"({bars} bar lines compared)")
    for result in bad:
        print(f"  {result.id}: missing {list(result.missing[:5])}, extra {list(result.extra[:5])}")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
