"""The ``experiment`` verb of ``python -m generation``: arguments only; the work is in
:mod:`generation.experiments_runner`."""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path

from generation.cli_options import positive_int
from generation.errors import GenerationError

__all__ = ["add_experiment_verb"]

DESCRIPTION = """Run one of the source reports' comparisons (a TOML file under experiments/) and add its section
to one HTML report: every variant x corpus x seed is trained (or reused when already trained), evaluated on
the test split, sampled, and its samples scored against the held-out human pieces; the variants are ranked
with 95%% confidence intervals over seeds, and pairs the seeds cannot separate are named. Writes
OUT/SIZE/NAME/results.json and results.csv, and OUT/SIZE/report.html. NAME 'all' runs every experiment in
order; 'list' lists them; 'results' prints the figures of one size's finished experiments as
Markdown (as in experiments/RESULTS.md). Exit status 0 when the experiment ran (failed runs are
reported), 2 for bad input."""


def _list(folder: Path) -> int:
    from generation.experiments import experiment_names, load_experiment  # noqa: PLC0415

    names = experiment_names(folder)
    width = max(len(n) for n in names)
    for name in names:
        experiment = load_experiment(name, folder)
        quick, full = experiment.size("quick"), experiment.size("full")
        sizes = ("collects the other experiments' runs" if experiment.kind == "ranking" else
                 f"seeds per variant: quick {quick.seeds}, full {full.seeds}")
        print(f"{name.ljust(width)}  {experiment.title} ({sizes})")
    return 0


def _print_result(result) -> None:  # noqa: ANN001 - an ExperimentResult
    failed = [r for r in result.records if r.get("error")]
    print(f"{result.name} ({result.size}): {len(result.records)} runs in {result.wall_seconds / 60:.1f} min"
          + (f", {len(failed)} failed" if failed else ""))
    for record in failed:
        print(f"  failed {record['corpus']}/{record['variant']}/seed-{record['seed']}: {record['error']}",
              file=sys.stderr)
    for entry in result.rankings:
        ranking = entry["ranking"]
        order = "higher" if ranking["higher_is_better"] else "lower"
        print(f"  {entry['corpus']}, {entry['metric']} ({order} is better):")
        for variant in ranking["variants"]:
            mean = variant["mean"]
            interval = "" if variant["ci_low"] is None else f" [{variant['ci_low']:.3f}, {variant['ci_high']:.3f}]"
            shown = "-" if mean is None or not math.isfinite(mean) else f"{mean:.3f}"
            print(f"    {variant['rank']}. {variant['name']}: {shown}{interval} ({variant['n']} seeds)")
        pairs = max(0, len(ranking["variants"]) - 1)
        if len(ranking["sentences"]) <= 4:
            for sentence in ranking["sentences"]:
                print(f"    {sentence}")
        else:
            print(f"    {len(ranking['sentences'])} of {pairs} adjacent pairs are not separable (see the report)")
    print(f"  results: {result.results}\n  report:  {result.report}")


def _markdown(out: Path | None, size: str) -> int:
    from generation.experiments_markdown import results_markdown  # noqa: PLC0415
    from generation.experiments_runner import DEFAULT_OUT  # noqa: PLC0415

    folder = (out or DEFAULT_OUT) / size
    if not any(folder.glob("*/results.json")):
        raise GenerationError(f"no experiment results under {folder}: run one first (python -m generation "
                              f"experiment NAME --{size})")
    print(results_markdown(folder))
    return 0


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces this run (from the parsed options)."""
    parts = ["python", "-m", "generation", "experiment", args.name, f"--{args.size}"]
    for flag, value in (("--out", args.out), ("--seeds", args.seeds), ("--jobs", args.jobs if args.jobs != 1 else None),
                        ("--threads", args.threads), ("--data-dir", args.data_dir), ("--cache", args.cache)):
        if value is not None:
            parts += [flag, str(value)]
    return " ".join(shlex.quote(p) for p in parts)


def _experiment(args: argparse.Namespace) -> int:
    from generation.experiments import experiment_names  # noqa: PLC0415
    from generation.experiments_runner import run_experiment  # noqa: PLC0415

    if args.name == "list":
        return _list(args.experiments_dir)
    if args.name == "results":
        return _markdown(Path(args.out) if args.out else None, args.size)
    names = experiment_names(args.experiments_dir) if args.name == "all" else [args.name]
    command = _command(args)
    for name in names:
        result = run_experiment(name, args.size, out_dir=args.out, seeds=args.seeds, jobs=args.jobs,
                                threads=args.threads, data_dir=args.data_dir, experiments_dir=args.experiments_dir,
                                cache_dir=args.cache, progress=not args.no_progress, command=command)
        _print_result(result)
    return 0


def add_experiment_verb(verbs: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's own type
    from generation.experiments import EXPERIMENTS_DIR  # noqa: PLC0415

    parser = verbs.add_parser("experiment", help="run a source report's comparison and add it to the report",
                              description=DESCRIPTION)
    parser.add_argument("name", metavar="NAME",
                        help="experiment (a file experiments/NAME.toml), 'all', 'list', or 'results' (print "
                             "the figures of one size's finished experiments as Markdown)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="size", action="store_const", const="quick",
                      help="the quick size: minutes on 2 CPU cores (the default)")
    size.add_argument("--full", dest="size", action="store_const", const="full",
                      help="the full size: a real run (10-30 minutes per experiment on 2 CPU cores)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder of the results and the report (default: reports/experiments); each size "
                             "writes into OUT/quick or OUT/full")
    parser.add_argument("--seeds", type=positive_int, default=None,
                        help="seeds per variant (default: the size's, at least 3 in the full size)")
    parser.add_argument("--jobs", type=positive_int, default=1,
                        help="runs trained at once, each in its own process (default 1); also the processes that "
                             "build corpora")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="torch threads per run (default: torch's choice with --jobs 1, else the cores shared "
                             "out over the runs)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where corpora are built and found (default: the data folder, $TUNELAB_DATA_DIR)")
    parser.add_argument("--experiments-dir", type=Path, default=EXPERIMENTS_DIR,
                        help=f"folder of the experiment files (default: {EXPERIMENTS_DIR})")
    parser.add_argument("--cache", type=Path, default=None,
                        help="prepared-corpus cache (default: $TUNELAB_PREPARED_DIR or <data dir>/prepared)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(handler=_experiment, size="quick")
