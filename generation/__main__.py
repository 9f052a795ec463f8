"""Command line of ``generation``: ``python -m generation VERB --help``. Arguments only; the work is in
:mod:`generation.prepare`, :mod:`generation.roundtrip`, :mod:`generation.encodings` and
:mod:`generation.baselines`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from generation.errors import GenerationError

_PIANO = (21, 108)


def _pitch_range(text: str) -> tuple[int, int]:
    if text.strip().lower() == "piano":
        return _PIANO
    try:
        low, high = (int(part) for part in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW-HIGH MIDI numbers (e.g. 60-83) or 'piano', got {text!r}"
                                         ) from None
    return low, high


def _numbers(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas (e.g. 4,8,16,32), got {text!r}"
                                         ) from None
    if not values or any(value <= 0 for value in values):
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {text!r}")
    return values


def _add_encoding_options(parser: argparse.ArgumentParser, with_fs: bool = True) -> None:
    group = parser.add_argument_group("encoding options (each applies to the encodings named; default: theirs)")
    group.add_argument("--step", type=float, help="time step in quarter notes: multilabel, folk-steps, biaxial "
                                                   "(default 0.25, a 16th note; 1 for the JSB chorale benchmark)")
    if with_fs:
        group.add_argument("--fs", type=float, help="frames per second: pianoroll-tokens (default 16) and "
                                                     "multilabel (instead of --step)")
    group.add_argument("--pitch-range", type=_pitch_range, metavar="LOW-HIGH",
                       help="pitch window in MIDI numbers, or 'piano' for 21-108: multilabel (default 60-83, "
                            "C4-B5), biaxial (default 24-101)")
    group.add_argument("--resolution", type=int, help="ticks per quarter note of onsets and durations: notewise-* "
                                                       "(default 24)")
    group.add_argument("--beat-bits", type=int, help="binary digits of the position in the bar: biaxial (default 4)")


def _add_preprocess_options(parser: argparse.ArgumentParser, augmentation: bool) -> None:
    group = parser.add_argument_group(
        "preprocessing (default: what the encoding declares; `encodings --json` lists it)")
    flag = argparse.BooleanOptionalAction
    group.add_argument("--melody", action=flag, help="keep only the melody track(s): pitch variance .40, distinct "
                                                     "pitches .25, length .25, mean pitch .10 (on for folk-steps)")
    group.add_argument("--melody-tracks", type=int, metavar="K", help="keep the best K tracks as the melody (1)")
    group.add_argument("--skyline", action=flag, help="one note at a time, the highest (on for folk-steps)")
    group.add_argument("--transpose", choices=("none", "c-major-a-minor", "c-major-c-minor"),
                       help="transpose each piece from its estimated key to C major / A minor, or C major / "
                            "C minor (the JSB chorale convention); default none")
    group.add_argument("--fold", action=flag, help="fold pitches by octaves into --fold-range (on for multilabel "
                                                   "and biaxial, into their window)")
    group.add_argument("--fold-range", type=_pitch_range, metavar="LOW-HIGH",
                       help="window of --fold (default: the encoding's pitch window, else 60-83 = C4-B5)")
    group.add_argument("--duration-filter", action=flag, help="drop pieces with note durations outside "
                                                              "--accepted-durations (off)")
    group.add_argument("--accepted-durations", type=_numbers, metavar="LIST",
                       help="quarter lengths the duration filter accepts (default 0.25,0.5,0.75,1,1.5,2,3,4)")
    group.add_argument("--quantize", type=float, metavar="Q",
                       help="quantize onsets and ends to Q quarter notes, 0 = not at all (default: the "
                            "encoding's grid)")
    group.add_argument("--trim-start", action=flag, help="start each piece at its first note (on for "
                                                         "notewise-chord and notewise-root)")
    if augmentation:
        group.add_argument("--augment", action=flag, help="add every transposition (-6..+5 semitones) of each "
                                                          "training piece that stays in range (after the split)")


def _encoding_options(args: argparse.Namespace) -> dict:
    return {"step": args.step, "fs": args.fs, "pitch_range": args.pitch_range, "resolution": args.resolution,
            "beat_bits": args.beat_bits}


def _preprocess_options(args: argparse.Namespace) -> dict:
    transpose = None if args.transpose in (None, "none") else args.transpose
    options = {"melody": args.melody, "melody_tracks": args.melody_tracks, "skyline": args.skyline,
               "transpose": transpose, "fold": args.fold, "fold_range": args.fold_range,
               "duration_filter": args.duration_filter,
               "accepted_durations": tuple(args.accepted_durations) if args.accepted_durations else None,
               "quantize": args.quantize, "trim_start": args.trim_start}
    if hasattr(args, "augment"):
        options["augment"] = args.augment
    return options


def _prepare(args: argparse.Namespace) -> int:
    from generation.prepare import PrepareRequest, prepare, summary_lines  # noqa: PLC0415

    request = PrepareRequest(corpus=args.corpus, encoding=args.encoding, out=args.out,
                             encoding_options=_encoding_options(args), preprocess=_preprocess_options(args),
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

    rows = roundtrip(args.corpus, args.encoding, options=_encoding_options(args),
                     preprocess=_preprocess_options(args), fs_values=args.fs_list, tolerance=args.tolerance,
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
                        help="a corpus built by `python -m data build`, or any folder of MIDI files (of .abc files "
                             "for abc-chars); train/ validation/ test/ sub-folders are used as the split, else "
                             "the pieces are split with a fixed seed")
    parser.add_argument("--limit", type=int, metavar="N", help="at most N pieces per split (default: all)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m generation",
        description="Music representations (encode a corpus into training sequences, prove the round trips) and "
                    "baseline generators that write MIDI sets to score with `python -m evaluation score`.")
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
    _add_encoding_options(prepare)
    _add_preprocess_options(prepare, augmentation=True)
    prepare.set_defaults(run=_prepare)

    roundtrip = verbs.add_parser(
        "roundtrip", help="decode(encode(x)) against x: note precision, recall and F1",
        description="Encode every piece of a corpus and decode it again; compare the notes with the preprocessed "
                    "piece and with the source (onset within --tolerance, pitch exact), as a table or JSON.")
    _common(roundtrip)
    roundtrip.add_argument("--encoding", required=True, help="encoding name, or 'all' for every MIDI encoding")
    roundtrip.add_argument("--fs", dest="fs_list", type=_numbers, metavar="LIST",
                           help="frames per second to compare, one row each, e.g. 4,8,16,32: pianoroll-tokens "
                                "(default 16) and multilabel (default: --step instead)")
    roundtrip.add_argument("--tolerance", type=float, default=0.05,
                           help="onset tolerance in seconds (default: 0.05, mir_eval's)")
    _add_encoding_options(roundtrip, with_fs=False)
    roundtrip.set_defaults(run=_roundtrip, fs=None)
    _add_preprocess_options(roundtrip, augmentation=False)

    encodings = verbs.add_parser("encodings", help="list the encodings, one line each",
                                 description="The encodings and what each represents (--json adds what it loses, "
                                             "its options and its declared preprocessing).")
    encodings.add_argument("--json", action="store_true", help="print JSON with details")
    encodings.set_defaults(run=_encodings)

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
    markov.set_defaults(run=_markov)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except GenerationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
