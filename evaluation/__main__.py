"""Command line of the evaluation package: ``python -m evaluation score | features | chords``.

Exit status (as every tunelab command, :mod:`tunelab.settings`): 0 when something was scored (files that could
not be read are still reported: errors.csv for ``score``, an ``error`` entry for ``features``); 2 for bad
input, with ``error: <message>`` on stderr and no traceback: a missing folder, nothing in the reference that
could be scored, no file of ``features`` readable, ``chords`` unable to read its file, bad options (argparse,
--jobs, --config).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evaluation.midi_io import MidiError
from tunelab import EXIT_BAD_INPUT

SCORE_HELP = """Score every MIDI file under a reference folder and under each generated folder, compare each
generated set with the reference, and write features.csv, errors.csv, summary.json and report.html into
--out. Files that cannot be read are listed in errors.csv with the reason; the others are still scored.
Entries named like MIDI files that are not files (dangling links, link loops, named pipes, folders) are
listed in errors.csv too. Exit status 0 when the reference was scored; 2 (with 'error: ...' on stderr) when a
folder is missing, nothing in the reference could be scored, or an option is wrong."""


def _generated_set(text: str) -> tuple[str, Path]:
    name, separator, folder = text.partition("=")
    if not separator or not name or not folder:
        raise argparse.ArgumentTypeError(f"expected NAME=DIR (e.g. lstm=runs/lstm/samples), got {text!r}")
    if name == "reference":
        raise argparse.ArgumentTypeError("'reference' is the name of the reference set; choose another NAME")
    return name, Path(folder)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation", description="Score MIDI files against a reference corpus."
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="{score,features,chords}")

    score = verbs.add_parser("score", help="score folders of MIDI files and write a report", description=SCORE_HELP)
    score.add_argument(
        "--reference",
        required=True,
        type=Path,
        metavar="DIR",
        help="folder of reference MIDI files (searched recursively for .mid/.midi)",
    )
    score.add_argument(
        "--generated",
        action="append",
        default=[],
        type=_generated_set,
        metavar="NAME=DIR",
        help="a generated set to compare with the reference: its name in the report, '=', and its "
        "folder; repeat for several sets. Without it only the reference is scored",
    )
    score.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="folder for features.csv, errors.csv, summary.json and report.html (created)",
    )
    score.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="worker processes for reading and feature extraction (default 1)",
    )
    score.add_argument(
        "--config",
        type=Path,
        metavar="FILE.toml",
        help="distance settings (smoothing, log_base, grid_points, classifier, folds, seed, "
        "max_pieces) at top level or under [distances]; defaults otherwise",
    )
    score.add_argument("--no-progress", action="store_true", help="do not show progress bars")

    features = verbs.add_parser(
        "features",
        help="print the features of MIDI files",
        description="Compute the features of each file and print them; a file that cannot be read is "
        "printed with its reason. Exit status 0 when at least one file was scored, 2 (with 'error: ...' on "
        "stderr) when none could be.",
    )
    features.add_argument("files", nargs="+", type=Path, metavar="FILE", help="MIDI files")
    features.add_argument(
        "--json",
        action="store_true",
        help='print a JSON list, one object per file: {"path": ..., "features": {...}} or '
        '{"path": ..., "error": reason}; arrays as lists, NaN as null',
    )

    try:
        from evaluation.cli_chords import register  # noqa: PLC0415
    except ModuleNotFoundError as error:  # the chords verb is optional until its module exists
        if error.name != "evaluation.cli_chords":
            raise
    else:
        register(verbs)
    return parser


def _fixed(value: float) -> str:
    return f"{value:.3f}" if np.isfinite(value) else "n/a (too few files)"


def _print_summary(summary: dict, paths: dict[str, Path]) -> None:
    sets = summary["sets"]
    for name, data in sets.items():
        counts = data["counts"]
        print(f"{name}: {counts['files']} file(s) scored, {counts.get('errors', 0)} could not be read")
    if summary["ranking"]:
        print(
            "ranking (mean overlap area with the reference, higher = closer; classifier accuracy, 0.5 = "
            "indistinguishable):"
        )
        for entry in summary["ranking"]:
            print(
                f"  {entry['rank']}. {entry['name']}: mean overlap {_fixed(entry['mean_overlap'])}, "
                f"classifier accuracy {_fixed(entry['classifier_accuracy'])}"
            )
    print(f"report: {paths['report'].resolve()}")


def _score(args: argparse.Namespace) -> int:
    from evaluation.distances import DistanceConfig  # noqa: PLC0415
    from evaluation.report import write_errors_csv, write_report  # noqa: PLC0415
    from evaluation.scoring import compare_sets, iter_midi_files, score_files  # noqa: PLC0415

    if args.jobs < 1:
        print(f"error: --jobs must be at least 1, got {args.jobs}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        config = DistanceConfig.from_toml(args.config) if args.config else DistanceConfig()
    except (OSError, ValueError, TypeError) as error:
        print(f"error: cannot use --config {args.config}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    folders = {"reference": args.reference, **dict(args.generated)}
    if len(folders) != len(args.generated) + 1:
        print("error: two --generated sets have the same NAME", file=sys.stderr)
        return EXIT_BAD_INPUT
    files_by_set = {}
    for name, folder in folders.items():  # check every folder before scoring anything
        try:
            files_by_set[name] = iter_midi_files(folder)
        except MidiError as error:
            print(f"error: {'--reference' if name == 'reference' else name}: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if not files_by_set[name]:
            print(f"warning: {name}: no .mid/.midi files under {folder}", file=sys.stderr)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"error: cannot write into --out {args.out}: {error.strerror} (give a folder)", file=sys.stderr)
        return EXIT_BAD_INPUT
    rows_by_set, errors_by_set = {}, {}
    for name, paths in files_by_set.items():
        rows, errors = score_files(paths, jobs=args.jobs, progress=not args.no_progress, description=name)
        rows_by_set[name], errors_by_set[name] = rows, errors
        if name == "reference" and not rows:
            errors_path = write_errors_csv(args.out / "errors.csv", errors_by_set)
            print(
                f"error: nothing in the reference folder {args.reference} could be scored ({len(paths)} "
                f".mid/.midi file(s) found, {len(errors)} could not be read; reasons in {errors_path})",
                file=sys.stderr,
            )
            for file, reason in errors[:5]:
                print(f"  {file}: {reason}", file=sys.stderr)
            return EXIT_BAD_INPUT
    for name, rows in rows_by_set.items():
        if name != "reference" and not rows:
            print(f"warning: nothing in set {name!r} could be scored; its distances are empty", file=sys.stderr)
    generated = {name: rows for name, rows in rows_by_set.items() if name != "reference"}
    summary = compare_sets(
        rows_by_set["reference"],
        generated,
        config,
        progress=not args.no_progress,
        error_counts={name: len(errors) for name, errors in errors_by_set.items()},
    )
    paths = write_report(args.out, summary, rows_by_set, errors_by_set)
    _print_summary(summary, paths)
    return 0


def _features(args: argparse.Namespace) -> int:
    from tqdm import tqdm  # noqa: PLC0415

    from evaluation.report import to_jsonable  # noqa: PLC0415
    from evaluation.scoring import score_file  # noqa: PLC0415

    results = []
    # a progress bar on stderr (stdout stays clean JSON) for long lists only
    for file in tqdm(args.files, disable=len(args.files) < 20, unit="file", desc="features", dynamic_ncols=True):
        path, row, reason = score_file(file)
        if row is None:
            results.append({"path": path, "error": reason})
        else:
            row.pop("path")
            results.append({"path": path, "features": row})
    if args.json:
        print(json.dumps(to_jsonable(results), indent=2, allow_nan=False))
    else:
        for result in results:
            print(result["path"])
            if "error" in result:
                print(f"  error: {result['error']}")
                continue
            for name, value in result["features"].items():
                if isinstance(value, np.ndarray):
                    text = np.array2string(np.round(value, 4).ravel()[:12], separator=", ")
                    text += f" ... ({value.size} values, shape {value.shape})" if value.size > 12 else ""
                else:
                    text = f"{value:.6g}" if isinstance(value, float) else str(value)
                print(f"  {name}: {text}")
    if all("error" in result for result in results):
        print(f"error: none of the {len(results)} file(s) could be scored (each reason is printed with its file)",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _build_parser().parse_args(argv)
    if args.verb == "score":
        return _score(args)
    if args.verb == "features":
        return _features(args)
    return int(args.func(args) or 0)  # verbs registered by other modules set ``func``


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # output piped into `head` and closed early: stop quietly (Python docs' recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
