"""Chords and keys against the expert Roman-numeral analyses music21 ships (an accuracy check, not a speed goal).

    python benchmarks/chord_accuracy.py [--corpus data/bach-chorales] [--json FILE]

Builds ``data/bach-chorales`` first when it is missing, pairs each RomanText analysis in music21's
``corpus/bach/choraleAnalyses`` with its chorale (:func:`data.analyses.analysed_chorales`) and prints, beat by
beat, the accuracy of tunelab (global and local keys), music21 (``chordify`` + ``chord.root()``,
``analyze('key')``) and "lowest note as root" (:func:`evaluation.accuracy.evaluate_chorales`; protocol in
its module docstring), as the markdown table of ``docs/analysis-accuracy.md``. Takes about 15 s.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from data import build_corpus
from data.analyses import analysed_chorales
from evaluation.accuracy import evaluate_chorales


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=None,
                        help="a built bach-chorales corpus (default: data/bach-chorales, built when missing)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes if the corpus must be built")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE",
                        help="also write the rates and counts per row and method as JSON")
    args = parser.parse_args(argv)
    folder = args.corpus or build_corpus("bach-chorales", jobs=args.jobs)
    table = evaluate_chorales(analysed_chorales(folder), progress=True)
    print(table.to_markdown())
    ceiling = table.one_key_ceiling
    print(f"\nbeats whose analysed key is the piece's global key (the most one key per piece can get right): "
          f"{100 * ceiling.rate:.1f}% ({ceiling.correct}/{ceiling.total})")
    for name, semitones in table.transposed.items():
        print(f"{name}: the analysis is of an edition {semitones} semitone(s) away; transposed to the score")
    for name, reason in table.excluded.items():
        print(f"{name}: left out: {reason}")
    if args.json:
        rows = {row: {method: {"rate": tally.rate, "correct": tally.correct, "total": tally.total}
                      for method, tally in methods.items()} for row, methods in table.rows.items()}
        args.json.write_text(json.dumps({"pieces": table.pieces, "beats": table.beats, "rows": rows,
                                         "transposed": table.transposed, "excluded": table.excluded}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
