"""Argument types and option groups shared by the verbs of ``python -m generation`` (arguments only)."""

from __future__ import annotations

import argparse

PIANO = (21, 108)
ENCODING_FLAGS = ("step", "fs", "resolution", "beat_bits", "roll", "play_only")  # add_encoding_options' flags
                                                                                # besides --pitch-range


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def pitch_range(text: str) -> tuple[int, int]:
    if text.strip().lower() == "piano":
        return PIANO
    try:
        low, high = (int(part) for part in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW-HIGH MIDI numbers (e.g. 60-83) or 'piano', got {text!r}"
                                         ) from None
    return low, high


def numbers(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas (e.g. 4,8,16,32), got {text!r}"
                                         ) from None
    if not values or any(value <= 0 for value in values):
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {text!r}")
    return values


def add_encoding_options(parser: argparse.ArgumentParser, with_fs: bool = True) -> None:
    group = parser.add_argument_group("encoding options (each applies to the encodings named; default: theirs)")
    group.add_argument("--step", type=float, help="time step in quarter notes: multilabel, folk-steps, biaxial "
                                                   "(default 0.25, a 16th note; 1 for the JSB chorale benchmark)")
    if with_fs:
        group.add_argument("--fs", type=float, help="frames per second: pianoroll-tokens (default 16) and "
                                                     "multilabel (instead of --step)")
    group.add_argument("--pitch-range", type=pitch_range, metavar="LOW-HIGH",
                       help="pitch window in MIDI numbers, or 'piano' for 21-108: multilabel (default 60-83, "
                            "C4-B5), biaxial (default 24-101)")
    group.add_argument("--resolution", type=int, help="ticks per quarter note of onsets and durations: notewise-* "
                                                       "(default 24)")
    group.add_argument("--beat-bits", type=int, help="binary digits of the position in the bar: biaxial (default 4)")
    group.add_argument("--roll", choices=("quantized", "sampled"),
                       help="biaxial: the play roll of notes quantized to the grid (default, lossless) or sampled at "
                            "each step's onset as multilabel does (the frames of the piano-roll benchmark)")
    group.add_argument("--play-only", action=argparse.BooleanOptionalAction,
                       help="biaxial: predict the play roll alone, articulation derived from it (a key starts "
                            "sounding), so the frame NLL is the roll's, as the benchmarks score it (default off)")


def add_preprocess_options(parser: argparse.ArgumentParser, augmentation: bool) -> None:
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
    group.add_argument("--fold-range", type=pitch_range, metavar="LOW-HIGH",
                       help="window of --fold (default: the encoding's pitch window, else 60-83 = C4-B5)")
    group.add_argument("--duration-filter", action=flag, help="drop pieces with note durations outside "
                                                              "--accepted-durations (off)")
    group.add_argument("--accepted-durations", type=numbers, metavar="LIST",
                       help="quarter lengths the duration filter accepts (default 0.25,0.5,0.75,1,1.5,2,3,4)")
    group.add_argument("--quantize", type=float, metavar="Q",
                       help="quantize onsets and ends to Q quarter notes, 0 = not at all (default: the "
                            "encoding's grid)")
    group.add_argument("--trim-start", action=flag, help="start each piece at its first note (on for "
                                                         "notewise-chord and notewise-root)")
    if augmentation:
        group.add_argument("--augment", action=flag, help="add every transposition (-6..+5 semitones) of each "
                                                          "training piece that stays in range (after the split)")


def encoding_options(args: argparse.Namespace) -> dict:
    """The encoding flags of ``args`` (None where not given), as :func:`generation.encodings.make_encoding`
    options."""
    return {"pitch_range": args.pitch_range, **{name: getattr(args, name, None) for name in ENCODING_FLAGS}}


def preprocess_options(args: argparse.Namespace) -> dict:
    transpose = None if args.transpose in (None, "none") else args.transpose
    options = {"melody": args.melody, "melody_tracks": args.melody_tracks, "skyline": args.skyline,
               "transpose": transpose, "fold": args.fold, "fold_range": args.fold_range,
               "duration_filter": args.duration_filter,
               "accepted_durations": tuple(args.accepted_durations) if args.accepted_durations else None,
               "quantize": args.quantize, "trim_start": args.trim_start}
    if hasattr(args, "augment"):
        options["augment"] = args.augment
    return options


