"""The ``stats`` verb: ``python -m studies stats --responses FILE.csv [--out DIR] ...``.

Prints the JSON of :func:`studies.stats.turing_statistics` to stdout and, with ``--out``, writes the HTML
report. ``register(subparsers)`` adds the verb to the package CLI; the parsed namespace carries
``func(args) -> int`` (the exit code). ``main_stats(argv)`` runs the verb on its own.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from studies.errors import StudyError
from studies.report import write_report
from studies.responses import load_responses_csv
from studies.stats import turing_statistics


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``stats`` verb to ``subparsers`` and return its parser."""
    p = subparsers.add_parser(
        "stats", help="statistics of a Turing-style listening test from a responses CSV",
        description="Compute precision/recall/specificity/accuracy/F1 with Wilson intervals, an exact "
                    "binomial test, d' and criterion, per-participant tests, per-stimulus/group/model "
                    "breakdowns and Fleiss' kappa; print them as JSON on stdout.")
    p.add_argument("--responses", required=True, type=Path, metavar="FILE.csv",
                   help="CSV with one answer per row: participant, stimulus, truth, answer "
                        "(computer/machine/generated/ai or human) and optionally group, model, confidence")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="also write report.html (offline), stats.json and responses.csv into DIR")
    p.add_argument("--attention", type=Path, default=None, metavar="FILE.csv",
                   help="CSV of attention checks (participant, passed); participants who failed any "
                        "check are excluded")
    p.add_argument("--confidence", type=float, default=0.95,
                   help="confidence level of every interval, between 0 and 1 (default: 0.95)")
    p.add_argument("--title", default="Listening study report", help="title of the HTML report")
    p.set_defaults(func=run_stats)
    return p


def _read_attention(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise StudyError(f"{path}: no such attention-check file; pass a CSV with columns participant, passed")
    try:
        return pd.read_csv(path, dtype={"participant": str})
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise StudyError(f"{path}: cannot read as CSV ({exc})") from exc


def run_stats(args: argparse.Namespace) -> int:
    """Run the verb on parsed arguments; return the exit code (2 on bad input, message on stderr)."""
    try:
        responses = load_responses_csv(args.responses)
        attention = _read_attention(args.attention) if args.attention is not None else None
        stats = turing_statistics(responses, confidence=args.confidence, attention=attention)
        if args.out is not None:
            path = write_report(stats, responses, args.out, title=args.title)
            print(f"report written to {path}", file=sys.stderr)
    except StudyError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print(json.dumps(stats, indent=2, allow_nan=False))
    return 0


def main_stats(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (without the program name; a leading "stats" is optional) and run the verb."""
    parser = argparse.ArgumentParser(prog="python -m studies")
    register(parser.add_subparsers(dest="verb", required=True))
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "stats":
        argv = ["stats", *argv]
    args = parser.parse_args(argv)
    return args.func(args)
