"""The ``chords`` verb: ``python -m evaluation chords FILE [--per beat|bar] [--key global|local] [--json]``.

Prints the key (:func:`evaluation.key.estimate_key`) and the chord of every beat or bar, consecutive equal
labels merged, times in seconds. With ``--key local`` the Roman numerals are relative to the local key in
force (modulations followed, :func:`evaluation.key.estimate_local_keys`) and each chord names its key. With
``--json`` the output is exactly one JSON object::

    {"key": "D major", "chords": [{"start": 0.0, "end": 0.5, "label": "D:maj", "roman": "I"}, ...]}

(with ``--key local`` each chord also has ``"key": "A major"``). Exit status 0 when the chords were printed;
2 with ``error: <file>: <reason>`` on stderr when the file cannot be read (missing, not MIDI, unreadable,
a folder or a named pipe ...) and for usage errors (argparse); never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from evaluation.harmony import detect_chords, estimate_key
from evaluation.midi_io import MidiError, read_midi
from tunelab import EXIT_BAD_INPUT

__all__ = ["chords_report", "main", "register", "run_chords"]

_DESCRIPTION = (
    "Estimate the key of a MIDI file and label the chord of every beat or bar by template matching "
    "(Harte labels such as D:maj, C:maj/3, G:7, N for no chord), with Roman numerals relative to the "
    "global key or to the local key in force. Drum tracks are ignored. Exit status 0 when done, 2 (with "
    "'error: FILE: reason' on stderr) when the file cannot be read or the options are wrong."
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
        "--key",
        choices=("global", "local"),
        default="global",
        help="key of the Roman numerals: 'global' = one key for the piece; 'local' = the key in force at "
        "each chord (modulations followed; the JSON and the table then give each chord's key); "
        "default: global",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print one JSON object {"key": ..., "chords": [{"start", "end", "label", "roman"}]} '
        '(plus "key" per chord with --key local) with times in seconds, instead of a table',
    )


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``chords`` verb to argparse subparsers; the new parser's ``func`` is :func:`run_chords`."""
    parser = subparsers.add_parser(
        "chords", help="key and chord labels of one MIDI file", description=_DESCRIPTION
    )
    _add_arguments(parser)
    parser.set_defaults(func=run_chords)
    return parser


def chords_report(path: str, per: str = "beat", key: str = "global") -> dict:
    """Key name and merged chord segments of a file as plain data (times in seconds, rounded to 1 µs);
    ``key="local"`` gives numerals in the local key and each chord's ``"key"``.

    Raises :class:`MidiError` when the file cannot be read.
    """
    if key not in ("global", "local"):
        raise ValueError(f"key must be 'global' or 'local', got {key!r}")
    piece = read_midi(path)
    home = estimate_key(piece.pitched())
    segments = detect_chords(piece, per=per, key=home, merge=True, key_scope=key)
    chords = []
    for segment in segments:
        chord = {
            "start": round(segment.start_seconds, 6),
            "end": round(segment.end_seconds, 6),
            "label": segment.label,
            "roman": segment.roman,
        }
        if key == "local":
            chord["key"] = segment.key
        chords.append(chord)
    return {"key": home.name, "chords": chords}


def _table(report: dict) -> str:
    local = any("key" in chord for chord in report["chords"])
    header = f"{'start (s)':>10}  {'end (s)':>10}  {'chord':<12}  {'roman':<10}" + ("  key" if local else "")
    lines = [f"Key: {report['key']}", "", header.rstrip()]
    for chord in report["chords"]:
        line = f"{chord['start']:>10.3f}  {chord['end']:>10.3f}  {chord['label']:<12}  {chord['roman']:<10}"
        lines.append((line + (f"  {chord.get('key', '')}" if local else "")).rstrip())
    return "\n".join(lines)


def run_chords(args: argparse.Namespace) -> int:
    """Run the verb on parsed arguments (``file``, ``per``, ``key``, ``json``); returns the exit status."""
    try:
        report = chords_report(args.file, per=args.per, key=getattr(args, "key", "global"))
    except MidiError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(report) if args.json else _table(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m evaluation.cli_chords FILE ...``), same options as the verb."""
    parser = argparse.ArgumentParser(prog="python -m evaluation chords", description=_DESCRIPTION)
    _add_arguments(parser)
    return run_chords(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
