"""``python -m studies VERB``: create | create-from | cues | list | open | close | export | report | stats.

Bad input (study files, codes, CSVs) prints one line ``error: ...`` on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from studies import cli_stats
from studies.errors import StudyError
from tunelab.csv_safe import write_csv

DB_HELP = (
    "SQLAlchemy database URL, e.g. sqlite:///data/studies.db or "
    "postgresql+psycopg://user:pw@host:5432/db (default: $TUNELAB_STUDIES_DB or the SQLite file "
    "data/studies.db at the repository root)"
)


def _print_cues(report: object) -> None:
    """The cue table and one ``warning:`` line per separating cue, on stderr."""
    print(f"listener cues besides the composition (human vs computer):\n{report.table()}", file=sys.stderr)
    for text in report.warnings():
        print(f"warning: {text}", file=sys.stderr)


def _cmd_cues(args: argparse.Namespace) -> int:
    from studies.cues import study_cues
    from studies.spec import load_spec

    report = study_cues(load_spec(args.study))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.table())
        print(f"rule: {report.to_dict()['rule']}")
    for text in report.warnings():
        print(f"warning: {text}", file=sys.stderr)
    return 0


def _cmd_create(args: argparse.Namespace) -> int:
    from studies import engine
    from studies.cues import study_cues
    from studies.spec import load_spec

    _print_cues(study_cues(load_spec(args.study)))
    code = engine.create_study(args.study, db_url=args.db, media_dir=args.media, jobs=args.jobs)
    link = f"{args.base_url.rstrip('/')}/?study={code}"
    if args.json:
        print(json.dumps({"code": code, "link": link}))
    else:
        print(f"study code: {code}")
        print(f"participant link: {link}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from studies import engine

    rows = engine.list_studies(args.db)
    if args.json:
        print(json.dumps([{**r, "created": str(r["created"])} for r in rows], indent=2))
        return 0
    if not rows:
        print("no studies yet; create one with `python -m studies create STUDY.toml`")
    for r in rows:
        print(f"{r['code']}\t{r['status']}\t{r['started']} started\t{r['completed']} completed\t{r['title']}")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from studies import engine

    (engine.open_study if args.verb == "open" else engine.close_study)(args.study_id, args.db)
    print(f"study {args.study_id} is now {'open' if args.verb == 'open' else 'closed'}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from studies import results

    df = results.responses_frame(args.study_id, args.db, completed_only=args.completed_only)
    write_csv(df, args.csv)
    if args.attention is not None:
        write_csv(results.attention_frame(args.study_id, args.db), args.attention)
    if args.participants is not None:
        write_csv(results.participants_frame(args.study_id, args.db), args.participants)
    print(f"{len(df)} answers written to {args.csv}", file=sys.stderr)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from studies import engine, results

    spec = engine.study_spec(args.study_id, args.db)
    result = results.study_statistics(args.study_id, args.db, confidence=args.confidence,
                                      completed_only=args.completed_only, drop_too_fast=args.drop_too_fast)
    df = results.responses_frame(args.study_id, args.db, completed_only=args.completed_only)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(results.attention_frame(args.study_id, args.db), out / "attention.csv")
    write_csv(results.participants_frame(args.study_id, args.db), out / "participants.csv")
    if spec.test_type == "turing":
        from studies.report import write_report

        path = write_report(result, df, out, title=spec.title)
    else:
        from studies.report import write_other_report

        path = write_other_report(result, df, out, spec.test_type, title=spec.title)
    print(f"report written to {path}")
    return 0


def _named_folder(text: str) -> tuple[str, Path]:
    name, sep, folder = text.partition("=")
    if not sep or not name.strip() or not folder.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=DIR (e.g. lstm=runs/lstm/samples)")
    return name.strip(), Path(folder.strip())


def _cmd_create_from(args: argparse.Namespace) -> int:
    from studies.create_from import StudyDefaults, write_matched_study

    computer = dict(args.computer)
    if len(computer) != len(args.computer):
        raise StudyError("each --computer NAME must be given once")
    defaults = StudyDefaults(clip_seconds=args.clip_seconds, program=args.program, mean_velocity=args.velocity,
                             tempo_bpm=args.tempo, test_type=args.test_type, trials_per_participant=args.trials,
                             attention_checks=args.attention_checks, seed=args.seed, soundfont=args.soundfont)
    study = write_matched_study(args.human, computer, args.title, args.out, per_set=args.per_set,
                                defaults=defaults)
    for path, reason in study.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"listener cues of the chosen clips (human vs computer):\n{study.cue_table}", file=sys.stderr)
    for text in study.warnings:
        print(f"warning: {text}", file=sys.stderr)
    counts = ", ".join(f"{name} {len(files)}" for name, files in study.chosen.items())
    if args.json:
        print(json.dumps({"study": str(study.path), "chosen": {k: [str(p) for p in v] for k, v in
                                                                study.chosen.items()},
                          "skipped": [[str(p), r] for p, r in study.skipped], "warnings": study.warnings}))
    else:
        print(f"wrote {study.path} ({counts} clips); create it with: python -m studies create {study.path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of every verb."""
    parser = argparse.ArgumentParser(
        prog="python -m studies",
        description="Blind listening studies: create a study from a TOML/YAML file, manage it, export the "
        "answers and compute statistics.",
    )
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = sub.add_parser(
        "create",
        help="validate a study file, render its stimuli and store the study",
        description="Validate STUDY (TOML or YAML), render every stimulus into clips with opaque "
        "ids, store the study and print its code and participant link. Clips are cut to the file's "
        "clip_seconds; its optional [stimuli] table sets soundfont, target_lufs, audio_format (mp3/ogg), "
        "sample_rate, fade_seconds, start_seconds and the normalisation of MIDI stimuli: program (one "
        "instrument for all), mean_velocity, tempo_bpm (see studies/spec.py). Before rendering, the table of "
        "listener cues (as `cues` prints it) goes to stderr with a warning for each cue that separates the "
        "human from the computer stimuli.",
    )
    p.add_argument("study", type=Path, metavar="STUDY", help="study file (.toml, .yaml or .yml)")
    p.add_argument("--db", default=None, help=DB_HELP)
    p.add_argument(
        "--media",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder for the rendered clips; they go to DIR/<study code>/ (default: $TUNELAB_MEDIA_DIR, "
        "else data/studies_media)",
    )
    p.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="parallel rendering processes (default: 1)"
    )
    p.add_argument(
        "--base-url",
        default="",
        metavar="URL",
        help="address of the Streamlit app, prefixed to the printed link (default: none, "
        "prints /?study=CODE)",
    )
    p.add_argument("--json", action="store_true", help="print {code, link} as JSON")
    p.set_defaults(func=_cmd_create)

    p = sub.add_parser(
        "create-from",
        help="write a matched study file from a human folder and model sample folders",
        description="Measure every MIDI file of the human folder and of each computer folder as it will be "
        "heard (one instrument, velocity scale and tempo for all), choose the same number of clips from every "
        "set by nearest-neighbour matching on the remaining listener cues (register, note density, music "
        "length), copy them into OUT's folder (<stem>_stimuli/<set>/) and write a study file that `create` "
        "takes as it is. Prints the cue table of the chosen clips and a warning for any cue that still "
        "separates the sets.",
    )
    p.add_argument("--human", type=Path, required=True, metavar="DIR", help="folder of human-composed MIDI")
    p.add_argument("--computer", type=_named_folder, action="append", required=True, metavar="NAME=DIR",
                   help="a model's sample folder; repeat for several models")
    p.add_argument("--title", required=True, help="the study's title, shown to participants")
    p.add_argument("--out", type=Path, required=True, metavar="STUDY.toml", help="the study file to write")
    p.add_argument("--per-set", type=int, default=None, metavar="N",
                   help="clips per set (default: as many as the smallest set allows)")
    p.add_argument("--clip-seconds", type=float, default=15.0, help="clip length in seconds (default: 15)")
    p.add_argument("--program", type=int, default=0,
                   help="General MIDI program (0-based) every clip is played with (default: 0, piano)")
    p.add_argument("--velocity", type=int, default=80, help="mean velocity of every clip (default: 80)")
    p.add_argument("--tempo", type=float, default=100.0, help="tempo of every MIDI clip in BPM (default: 100)")
    p.add_argument("--test-type", choices=("turing", "ab-preference", "rating"), default="turing",
                   help="kind of test (default: turing)")
    p.add_argument("--trials", type=int, default=None, metavar="N",
                   help="trials per participant (default: every clip once for turing, capped at 40)")
    p.add_argument("--attention-checks", type=int, default=0, help="attention-check trials (default: 0)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the study file (a per-study secret is added at creation; default: 0)")
    p.add_argument("--soundfont", type=Path, default=None, help="soundfont (.sf2) for every clip (default: "
                   "TimGM6mb)")
    p.add_argument("--json", action="store_true", help="print the study file, chosen clips and warnings as JSON")
    p.set_defaults(func=_cmd_create_from)

    p = sub.add_parser(
        "cues",
        help="compare the stimulus sets on what a listener hears besides the composition",
        description="Measure every stimulus of STUDY as it will be heard (after the [stimuli] normalisation, "
        "inside the clip) - tempo, velocity, instrument, register, note density, music length - and compare "
        "human with computer stimuli (Mann-Whitney AUC; a cue separates the sets when |Cliff's delta| >= "
        "0.474). Prints the table; a warning per separating cue goes to stderr. Nothing is stored.",
    )
    p.add_argument("study", type=Path, metavar="STUDY", help="study file (.toml, .yaml or .yml)")
    p.add_argument("--json", action="store_true", help="print the table and every stimulus's cues as JSON")
    p.set_defaults(func=_cmd_cues)

    p = sub.add_parser(
        "list",
        help="list studies with their status and participant counts",
        description="List every study: code, status, participants started/completed, title.",
    )
    p.add_argument("--db", default=None, help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=_cmd_list)

    for verb, what in (("open", "let new participants start"), ("close", "refuse new participants")):
        p = sub.add_parser(
            verb,
            help=f"{what} (study STUDY_ID)",
            description=f"{what.capitalize()} in a study; "
            "participants who already started can always finish.",
        )
        p.add_argument("study_id", metavar="STUDY_ID", help="the study code printed by `create`")
        p.add_argument("--db", default=None, help=DB_HELP)
        p.set_defaults(func=_cmd_status)

    p = sub.add_parser(
        "export",
        help="write the answers as a CSV for `stats`",
        description="Write the main-trial answers (no practice, no attention checks) in the "
        "stats CSV format: participant, stimulus, truth, answer, group, model, "
        "confidence, response_ms (turing; other test types have their own columns), then the quality flags "
        "too_fast (answered before the clip could have been heard to the end, server clock) and complete "
        "(the participant finished the study). Text that a spreadsheet would run as a formula (=, +, -, @) "
        "is written with a leading apostrophe.",
    )
    p.add_argument("study_id", metavar="STUDY_ID", help="the study code printed by `create`")
    p.add_argument("--csv", type=Path, required=True, metavar="FILE", help="output CSV file")
    p.add_argument(
        "--attention",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the attention-check results (participant, position, expected, answer, passed)",
    )
    p.add_argument(
        "--participants",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write one row per participant: the opaque id used in the answers, the external id "
        "(e.g. PROLIFIC_PID, to approve payments), consented, started, completed, completion code, answers "
        "stored, too-fast answers",
    )
    p.add_argument("--completed-only", action="store_true",
                   help="only the answers of participants who completed the study (no partial sessions)")
    p.add_argument("--db", default=None, help=DB_HELP)
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser(
        "report",
        help="statistics and an HTML report of a study",
        description="Compute the statistics of a study straight from the database (participants "
        "who failed an attention check are excluded; the app's results page computes the same) and write "
        "report.html, stats.json, responses.csv, attention.csv and participants.csv into DIR. The report "
        "counts partial sessions and too-fast answers.",
    )
    p.add_argument("study_id", metavar="STUDY_ID", help="the study code printed by `create`")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--completed-only", action="store_true",
                   help="analyse only participants who completed the study (drop partial sessions)")
    p.add_argument("--drop-too-fast", action="store_true",
                   help="leave out answers given sooner than their clips last (possible only in studies that "
                        "do not require full playback)")
    p.add_argument("--confidence", type=float, default=0.95, help="level of every interval (default: 0.95)")
    p.add_argument("--db", default=None, help=DB_HELP)
    p.set_defaults(func=_cmd_report)

    cli_stats.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (2 with a one-line message on bad input)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except StudyError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
