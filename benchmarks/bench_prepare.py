"""Speed of ``python -m generation prepare`` per encoding vs music21 parsing the same files, in one run.

    python benchmarks/bench_prepare.py [--n 350] [--peer-sample 40] [--abc-corpus DIR]

Files: the Bach chorales of ``data/bach-chorales`` (built first if missing, not timed), copied to a temporary
folder with their manifest. For every MIDI encoding it times a full ``prepare`` (read, preprocess, split,
fit, encode, write) into a fresh folder, and prints seconds, milliseconds per piece and the ratio to the
peer: ``music21.converter.parse`` of each file plus a walk over its notes, what the pipelines of the source
reports (Classical-Piano-Composer and its descendants) spend per file before they encode anything, timed
on ``--peer-sample`` of the same files. The goal: every MIDI encoding prepares the 350 chorales in
seconds, not minutes.

``abc-chars`` parses every tune with music21 to check it, so it is timed on an ABC corpus given with
``--abc-corpus`` (e.g. ``python -m data build essen-folk --limit 400 --out /tmp/essen400``), with the same
peer (music21 parsing the tunes' text alone).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
import warnings
from pathlib import Path

from generation.encodings import ENCODINGS
from generation.prepare import PrepareRequest, prepare
from tunelab.testing.corpora import chorale_files


def music21_seconds_per_file(paths: list[Path], text: bool = False) -> float:
    """Mean seconds music21 takes to parse one file (or ABC text) and walk its notes."""
    from music21 import converter  # noqa: PLC0415

    converter.parse(paths[0].read_text() if text else paths[0], format="abc" if text else None, forceSource=True)
    clock = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in paths:
            score = (converter.parse(path.read_text(), format="abc", forceSource=True) if text
                     else converter.parse(path, forceSource=True))
            sum(1 for _ in score.flatten().notes)
    return (time.perf_counter() - clock) / len(paths)


def time_prepare(corpus: Path, encoding: str, out: Path) -> tuple[float, int]:
    clock = time.perf_counter()
    result = prepare(PrepareRequest(corpus=corpus, encoding=encoding, out=out, progress=False, force=True))
    return time.perf_counter() - clock, sum(result.report["pieces"]["kept"].values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=350, help="chorales to prepare (default: all 350)")
    parser.add_argument("--peer-sample", type=int, default=40, help="files music21 parses for its per-file time")
    parser.add_argument("--abc-corpus", type=Path, help="a built ABC corpus for abc-chars (skipped without it)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "chorales"
        corpus.mkdir()
        files = chorale_files(args.n)
        for path in files:
            shutil.copy(path, corpus / path.name)
        manifest = json.loads((files[0].parent / "manifest.json").read_text())
        names = {path.name for path in files}
        manifest["files"] = [entry for entry in manifest["files"] if entry["midi"] in names]
        (corpus / "manifest.json").write_text(json.dumps(manifest))
        peer = music21_seconds_per_file(sorted(corpus.glob("*.mid"))[:args.peer_sample])
        print(f"{len(files)} chorales; peer: music21 parse + note walk {peer * 1000:.1f} ms per file "
              f"(mean of {args.peer_sample}), {peer * len(files):.1f} s for all")
        print(f"{'encoding':<20}{'pieces':>7}{'seconds':>9}{'ms/piece':>10}{'vs music21':>12}")
        for name, cls in ENCODINGS.items():
            if cls.source != "midi":
                continue
            seconds, kept = time_prepare(corpus, name, Path(scratch) / name)
            print(f"{name:<20}{kept:>7}{seconds:>9.2f}{seconds / len(files) * 1000:>10.2f}"
                  f"{peer * len(files) / seconds:>11.1f}x")
        if args.abc_corpus:
            tunes = sorted(args.abc_corpus.glob("*.abc"))
            peer = music21_seconds_per_file(tunes[:args.peer_sample], text=True)
            seconds, kept = time_prepare(args.abc_corpus, "abc-chars", Path(scratch) / "abc-chars")
            print(f"{'abc-chars':<20}{kept:>7}{seconds:>9.2f}{seconds / len(tunes) * 1000:>10.2f}"
                  f"{peer * len(tunes) / seconds:>11.1f}x  ({len(tunes)} tunes of {args.abc_corpus}; "
                  f"music21 parses each tune to check it)")


if __name__ == "__main__":
    main()
