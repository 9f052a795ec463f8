"""Command line of ``generation``: ``python -m generation VERB --help``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m generation",
        description="Baseline generators that write MIDI sets to score with `python -m evaluation score`.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True)
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
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
