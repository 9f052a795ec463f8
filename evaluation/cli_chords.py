"""The ``chords`` verb: ``python -m evaluation chords FILE [--per beat|bar] [--json]``.

Prints the key (Krumhansl–Schmuckler) and the chord of every beat or bar, consecutive equal labels merged,
times in seconds. With ``--json`` the output is exactly one JSON object::

    {"key": "D major", "chords": [{"start": 0.0, "end": 0.5, "label": "D:maj", "roman": "I"}, ...]}

A file that cannot be read prints the reader's message (naming the file) on stderr and exits with status 1,
as the other verbs do when nothing could be scored (2 is argparse's status for a usage error).
"""

from __future__ import annotations

import argparse
import json
import sys

from evaluation.harmony import detect_chords, estimate_key
from evaluation.midi_io import MidiError, read_midi

__all__ = ["chords_report", "main", "register", "run_chords"]

_DESCRIPTION = (
    "Estimate the key (Krumhansl-Schmuckler) of a MIDI file and label the chord of every beat or "
    "bar by template matching (Harte labels such as D:maj, C:maj/3, G:7, N for no chord), with "
    "Roman numerals relative to the key. Drum tracks are ignored. Exit status 1 (with the reason on "
    "stderr) when the file cannot be read."
)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a Standard MIDI File (.mid/.midi)")
    parser.add_argument(
        "--per",
        choices=("beat", "bar"),
        default="beat",
        help="window of one chord label: 'beat' = one quarter note, 'bar' = one bar from the "
        "file's time signatures (4/4 when it has none); default: beat",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print one JSON object {"key": ..., "chords": [{"start", "end", "label", "roman"}]} '
        "with times in seconds, instead of a table",
    )


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``chords`` verb to argparse subparsers; the new parser's ``func`` is :func:`run_chords`."""
    parser = subparsers.add_parser(
        "chords", help="key and chord labels of one MIDI file", description=_DESCRIPTION
    )
    _add_arguments(parser)
    parser.set_defaults(func=run_chords)
    return parser


def chords_report(path: str, per: str = "beat") -> dict:
    """Key name and merged chord segments of a file as plain data (times in seconds, rounded to 1 µs).

    Raises :class:`MidiError` when the file cannot be read.
    """
    piece = read_midi(path)
    key = estimate_key(piece.pitched())
    segments = detect_chords(piece, per=per, key=key, merge=True)
    return {
        "key": key.name,
        "chords": [
            {
                "start": round(segment.start_seconds, 6),
                "end": round(segment.end_seconds, 6),
                "label": segment.label,
                "roman": segment.roman,
            }
            for segment in segments
        ],
    }


def _table(report: dict) -> str:
    lines = [f"Key: {report['key']}", "", f"{'start (s)':>10}  {'end (s)':>10}  {'chord':<12}  roman"]
    for chord in report["chords"]:
        lines.append(
            f"{chord['start']:>10.3f}  {chord['end']:>10.3f}  {chord['label']:<12}  {chord['roman']}"
        )
    return "\n".join(lines)


def run_chords(args: argparse.Namespace) -> int:
    """Run the verb on parsed arguments (``file``, ``per``, ``json``); returns the exit status."""
    try:
        report = chords_report(args.file, per=args.per)
    except MidiError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(report) if args.json else _table(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m evaluation.cli_chords FILE ...``), same options as the verb."""
    parser = argparse.ArgumentParser(prog="python -m evaluation chords", description=_DESCRIPTION)
    _add_arguments(parser)
    return run_chords(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
