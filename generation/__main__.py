"""Command line of ``generation``: ``python -m generation VERB --help``. Arguments only; the work is in
:mod:`generation.prepare`, :mod:`generation.roundtrip`, :mod:`generation.encodings`, :mod:`generation.baselines`,
:mod:`generation.runs` (train), :mod:`generation.run_evaluation` (evaluate), :mod:`generation.sweep`,
:mod:`generation.run_sampling` (sample) and :mod:`generation.activations`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from generation.cli_models import add_model_verbs
from generation.cli_options import (
    add_encoding_options,
    add_preprocess_options,
    encoding_options,
    numbers,
    preprocess_options,
)
from generation.errors import GenerationError
from generation.experiments_cli import add_experiment_verb


def _prepare(args: argparse.Namespace) -> int:
    from generation.prepare import PrepareRequest, prepare, summary_lines  # noqa: PLC0415

    request = PrepareRequest(corpus=args.corpus, encoding=args.encoding, out=args.out,
                             encoding_options=encoding_options(args), preprocess=preprocess_options(args),
                             window=args.window, limit=args.limit, check_abc=not args.no_abc_check, jobs=args.jobs,
                             progress=not args.no_progress, force=args.force)
    result = prepare(request)
    if args.json:
        print(json.dumps({"up_to_date": result.up_to_date, "out": str(result.out), **result.report}, indent=1))
    else:
        print("\n".join(summary_lines(result)))
    return 0


def _roundtrip(args: argparse.Namespace) -> int:
    from generation.roundtrip import format_table, roundtrip  # noqa: PLC0415

    rows = roundtrip(args.corpus, args.encoding, options=encoding_options(args),
                     preprocess=preprocess_options(args), fs_values=args.fs_list, tolerance=args.tolerance,
                     limit=args.limit, progress=not args.no_progress)
    if args.json:
        print(json.dumps({"tolerance_seconds": args.tolerance, "rows": [row.to_dict() for row in rows]}, indent=1))
    else:
        print(format_table(rows, args.tolerance))
    return 0


def _encodings(args: argparse.Namespace) -> int:
    from generation.encodings import catalogue  # noqa: PLC0415

    entries = catalogue()
    if args.json:
        print(json.dumps(entries, indent=1))
        return 0
    width = max(len(entry["name"]) for entry in entries)
    print("\n".join(f"{entry['name'].ljust(width)}  {entry['summary']}" for entry in entries))
    return 0


def _markov(args: argparse.Namespace) -> int:
    from data import DataError, corpus_files  # noqa: PLC0415
    from generation.baselines import generate_markov_set  # noqa: PLC0415

    try:
        files = corpus_files(args.corpus, split=args.split)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    written, skipped = generate_markov_set(files, args.out, n_pieces=args.n, n_beats=args.beats, seed=args.seed,
                                           tempo_bpm=args.tempo)
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"wrote {len(written)} pieces to {args.out} (trained on {len(files) - len(skipped)} files)")
    return 0



def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", type=Path, required=True,
                        help="a corpus built by `python -m data build` or `data import` (kern, MusicXML), or any "
                             "folder of MIDI files (of .abc files for abc-chars); train/ validation/ test/ sub-folders "
                             "are used as the split, else "
                             "the pieces are split with a fixed seed")
    parser.add_argument("--limit", type=int, metavar="N", help="at most N pieces per split (default: all)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m generation",
        description="Music generators: encode a corpus into training sequences (prepare, roundtrip, encodings), train "
                    "LSTM-family models on it (presets, train, sweep), score them beside the baselines (evaluate), "
                    "sample MIDI from them (sample, activations), and the Markov chord baseline (markov). Score "
                    "the MIDI with `python -m evaluation score`.")
    verbs = parser.add_subparsers(dest="verb", required=True)

    prepare = verbs.add_parser(
        "prepare", help="encode a corpus into training sequences with a report",
        description="Read a corpus, preprocess each piece, split by piece, augment the training pieces, fit the "
                    "encoding on them and write encoding.json, arrays.npz, pieces.json and report.json to --out. "
                    "Running it again with the same sources and options does nothing.")
    _common(prepare)
    prepare.add_argument("--encoding", required=True, help="encoding name (see `python -m generation encodings`)")
    prepare.add_argument("--out", type=Path, required=True, help="folder for the prepared data")
    prepare.add_argument("--window", type=int, default=32, help="window length in steps for the report's window "
                                                                "counts (default: 32)")
    prepare.add_argument("--no-abc-check", action="store_true",
                         help="abc-chars: do not parse every tune with music21 (faster; unparsable tunes stay in)")
    prepare.add_argument("--jobs", type=int, default=1, help="abc-chars: processes that parse the tunes with "
                                                             "music21 (default: 1)")
    prepare.add_argument("--force", action="store_true", help="prepare again even when --out is up to date")
    add_encoding_options(prepare)
    add_preprocess_options(prepare, augmentation=True)
    prepare.set_defaults(handler=_prepare)

    roundtrip = verbs.add_parser(
        "roundtrip", help="decode(encode(x)) against x: note precision, recall and F1",
        description="Encode every piece of a corpus and decode it again; compare the notes with the preprocessed "
                    "piece and with the source (onset within --tolerance, pitch exact), as a table or JSON.")
    _common(roundtrip)
    roundtrip.add_argument("--encoding", required=True, help="encoding name, or 'all' for every MIDI encoding")
    roundtrip.add_argument("--fs", dest="fs_list", type=numbers, metavar="LIST",
                           help="frames per second to compare, one row each, e.g. 4,8,16,32: pianoroll-tokens "
                                "(default 16) and multilabel (default: --step instead)")
    roundtrip.add_argument("--tolerance", type=float, default=0.05,
                           help="onset tolerance in seconds (default: 0.05, mir_eval's)")
    add_encoding_options(roundtrip, with_fs=False)
    roundtrip.set_defaults(handler=_roundtrip, fs=None)
    add_preprocess_options(roundtrip, augmentation=False)

    encodings = verbs.add_parser("encodings", help="list the encodings, one line each",
                                 description="The encodings and what each represents (--json adds what it loses, "
                                             "its options and its declared preprocessing).")
    encodings.add_argument("--json", action="store_true", help="print JSON with details")
    encodings.set_defaults(handler=_encodings)

    markov = verbs.add_parser(
        "markov", help="fit the Markov chord baseline on a corpus and sample pieces",
        description="First-order Markov chain over the chords (sets of pitches sounding at each beat) of a corpus; "
                    "writes sampled pieces as MIDI.")
    markov.add_argument("--corpus", type=Path, required=True,
                        help="a corpus folder built by `python -m data build` or any folder of MIDI files")
    markov.add_argument("--split", default="train",
                        help="which split of a built corpus to train on (train, validation, test); ignored for plain "
                             "folders (default: train)")
    markov.add_argument("--out", type=Path, required=True, help="folder for the sampled MIDI files and the model JSON")
    markov.add_argument("--n", type=int, default=12, help="number of pieces to sample (default: 12)")
    markov.add_argument("--beats", type=int, default=48, help="piece length in beats (quarter notes; default 48)")
    markov.add_argument("--tempo", type=float, default=80.0, help="tempo of the written MIDI in BPM (default: 80)")
    markov.add_argument("--seed", type=int, default=0, help="seed of the sampler's numpy Generator (default: 0)")
    markov.set_defaults(handler=_markov)
    add_model_verbs(verbs, build_parser)
    add_experiment_verb(verbs)
    return parser



def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["sweep"] and "--" in argv:  # everything after `--` is the train options of every point
        cut = argv.index("--")
        args = build_parser().parse_args(argv[:cut])
        args.train_options = argv[cut + 1:]
    else:
        args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except GenerationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
