"""Command line: ``python -m data build NAME`` | ``python -m data list`` | ``python -m data import FOLDER --out DIR``
| ``python -m data files FOLDER``.

Exit status (as every tunelab command, :mod:`tunelab.settings`): 0 when done (pieces that failed to convert
are listed in the output and the manifest); 2 for bad input, with ``error: <message>`` on stderr and no
traceback: an unknown corpus, a bad option value, a folder that is not a corpus or cannot be written;
argparse's usage errors are 2 as well.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tunelab import EXIT_BAD_INPUT

from .build import corpus_files, corpus_status, timed_build
from .errors import DataError
from .manifest import SPLITS
from .registry import CORPORA


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m data",
        description="Build MIDI corpora from the scores bundled with music21, and list them. Exit status 0 "
        "when done, 2 (with 'error: ...' on stderr) for bad input.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser(
        "build",
        help="convert a corpus to MIDI files plus manifest.json",
        description="Convert one corpus to one MIDI file per piece (plus the tune's .abc text for ABC "
        "collections) and a manifest.json with the train/validation/test split by piece and the pieces "
        "that failed. Building again with the same arguments does nothing and returns at once.",
    )
    b.add_argument("name", choices=list(CORPORA), metavar="NAME", help=f"corpus: {', '.join(CORPORA)}")
    b.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder (default: data/NAME/ in the repository)",
    )
    b.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="convert only the first N pieces in source order (default: all)",
    )
    b.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes for the conversion (default: 1)")
    b.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="seed of the train/validation/test split (default: 0)",
    )
    b.add_argument(
        "--split",
        type=float,
        nargs=3,
        default=(0.8, 0.1, 0.1),
        metavar=("TRAIN", "VALIDATION", "TEST"),
        help="split fractions, summing to 1 (default: 0.8 0.1 0.1)",
    )
    b.add_argument("--force", action="store_true", help="rebuild even if the folder already holds this build")

    ls = sub.add_parser(
        "list",
        help="show the corpora, what they are, and where they are built",
        description="Print each corpus name, a one-line description, and whether and where "
        "it is built, with its piece counts.",
    )
    ls.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")

    imp = sub.add_parser(
        "import",
        help="convert a folder of your own score files (kern, MusicXML, MEI) into a corpus",
        description="Parse every Humdrum **kern (.krn), MusicXML (.xml, .musicxml, .mxl) and MEI (.mei) file under "
        "FOLDER with music21 and write a built corpus like the bundled ones: one MIDI file per piece and a "
        "manifest.json with the train/validation/test split by piece and every file that failed, with the "
        "reason. Every encoding and command then reads --out. (A folder of MIDI files needs no import.)",
    )
    imp.add_argument("folder", type=Path, help="folder of score files (searched recursively)")
    imp.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder of the corpus")
    imp.add_argument("--name", default=None, help="corpus name in the manifest (default: the folder's name)")
    imp.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes (default: 1)")
    imp.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the split by piece (default: 0)")
    imp.add_argument("--split", type=float, nargs=3, default=(0.8, 0.1, 0.1), metavar=("TRAIN", "VALIDATION", "TEST"),
                     help="split fractions, summing to 1 (default: 0.8 0.1 0.1)")

    f = sub.add_parser(
        "files",
        help="print the MIDI files of a corpus folder (one path a line)",
        description="Print the MIDI files of a built corpus (optionally one split) or of any folder of MIDI files.",
    )
    f.add_argument("folder", type=Path, help="corpus folder, e.g. data/bach-chorales or your own MIDI folder")
    f.add_argument("--split", choices=SPLITS, default=None, help="only this split (built corpora only)")
    return p


def _cmd_build(a: argparse.Namespace) -> int:
    path, seconds, noop = timed_build(
        name=a.name,
        out_dir=a.out,
        limit=a.limit,
        jobs=a.jobs,
        seed=a.seed,
        force=a.force,
        fractions=tuple(a.split),
    )
    _, m = corpus_status(a.name, path)
    assert m is not None  # build_corpus just wrote or verified it
    counts = "/".join(str(len(m.split_ids(s))) for s in SPLITS)
    repaired = sum(1 for e in m.entries if e.repairs)
    state = "already built (use --force to rebuild)" if noop else "built"
    print(f"{a.name}: {state} in {seconds:.1f} s -> {path}")
    print(
        f"  {m.count} pieces (train/validation/test {counts}), {len(m.failures)} failed, "
        f"{repaired} repaired, {len(m.duplicates)} duplicate listings skipped"
    )
    for fail in m.failures[:10]:
        print(f"  failed: {fail.source}: {fail.reason}")
    if len(m.failures) > 10:
        print(f"  ... {len(m.failures) - 10} more failures in {path / 'manifest.json'}")
    return 0


def _cmd_list(a: argparse.Namespace) -> int:
    rows = []
    for name, spec in CORPORA.items():
        folder, m = corpus_status(name)
        rows.append(
            {
                "name": name,
                "description": spec.description,
                "built": m is not None,
                "folder": str(folder),
                "count": m.count if m else 0,
                "splits": {s: len(m.split_ids(s)) for s in SPLITS} if m else {},
                "failures": len(m.failures) if m else 0,
                "limit": m.limit if m else None,
            }
        )
    if a.json:
        print(json.dumps(rows, indent=1))
        return 0
    for r in rows:
        print(f"{r['name']:<14} {r['description']}")
        if r["built"]:
            s = r["splits"]
            lim = f", --limit {r['limit']}" if r["limit"] else ""
            print(
                f"{'':<14} built: {r['folder']} ({r['count']} pieces: {s['train']} train, "
                f"{s['validation']} validation, {s['test']} test; {r['failures']} failed{lim})"
            )
        else:
            print(f"{'':<14} not built (python -m data build {r['name']})")
    return 0


def _cmd_import(a: argparse.Namespace) -> int:
    from .import_scores import import_scores  # noqa: PLC0415

    m = import_scores(a.folder, a.out, name=a.name, jobs=a.jobs, seed=a.seed, fractions=tuple(a.split))
    counts = "/".join(str(len(m.split_ids(s))) for s in SPLITS)
    print(f"{m.name}: {m.count} pieces (train/validation/test {counts}) -> {a.out}; {len(m.failures)} failed")
    for fail in m.failures[:10]:
        print(f"  failed: {fail.source}: {fail.reason}")
    if len(m.failures) > 10:
        print(f"  ... {len(m.failures) - 10} more failures in {a.out / 'manifest.json'}")
    return 0


def _cmd_files(a: argparse.Namespace) -> int:
    for p in corpus_files(a.folder, a.split):
        print(p)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for bad input, with the reason on stderr)."""
    a = _parser().parse_args(argv)
    try:
        return {"build": _cmd_build, "list": _cmd_list, "import": _cmd_import, "files": _cmd_files}[a.command](a)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # e.g. an --out folder that cannot be created or written
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
