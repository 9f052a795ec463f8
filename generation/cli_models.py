"""The model verbs of ``python -m generation``: train, presets, evaluate, sweep, sample, activations. Arguments
only; the work is in :mod:`generation.runs`, :mod:`generation.run_evaluation`, :mod:`generation.sweep`,
:mod:`generation.run_sampling` and :mod:`generation.activations`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from generation.cli_options import ENCODING_FLAGS, add_encoding_options, add_preprocess_options, positive_int
from generation.errors import GenerationError

__all__ = ["add_model_verbs"]


_PREPROCESS_FLAGS = ("melody", "melody_tracks", "skyline", "transpose", "fold", "fold_range", "duration_filter",
                     "accepted_durations", "quantize", "trim_start", "augment")


def _flag_encoding_options(args: argparse.Namespace) -> dict:
    """The encoding and preprocessing flags given on a train command line, as ``encoding_options`` keys."""
    options: dict = {}
    for name in (*ENCODING_FLAGS, *_PREPROCESS_FLAGS):
        value = getattr(args, name, None)
        if value is not None:
            options[name] = list(value) if isinstance(value, tuple | list) else value
    if getattr(args, "pitch_range", None) is not None:
        options["low"], options["high"] = args.pitch_range
    return options


def _train_config(args: argparse.Namespace):
    from dataclasses import replace  # noqa: PLC0415

    from generation.config import TrainConfig, load_config, resolve_config  # noqa: PLC0415

    base = None
    if args.resume and (args.out / "config.toml").is_file():
        base = load_config(args.out / "config.toml")  # a resumed run keeps its settings unless a flag says else
    config = resolve_config(TrainConfig, preset=args.preset, config_file=args.config, args=args, base=base)
    extra = _flag_encoding_options(args)
    return replace(config, encoding_options={**config.encoding_options, **extra}) if extra else config


def _threads(args: argparse.Namespace) -> None:
    if getattr(args, "threads", None):
        import torch  # noqa: PLC0415

        torch.set_num_threads(args.threads)


def _train(args: argparse.Namespace) -> int:
    from generation.runs import summary_lines, train_from_corpus  # noqa: PLC0415

    config = _train_config(args)
    _threads(args)
    trained = train_from_corpus(args.corpus, config, args.out, resume=args.resume, cache_dir=args.cache,
                                limit=args.limit, progress=not args.no_progress, jobs=args.jobs)
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, rank 0 reports
        return 0
    if args.json:
        result = trained.result
        print(json.dumps({"out": str(trained.out_dir), "epochs_run": result.epochs_run,
                          "best_epoch": result.best_epoch, "best_valid_loss": result.best_valid_loss,
                          "stopped_early": result.stopped_early, "out_of_time": result.out_of_time,
                          "windows": trained.windows, "prepared": str(trained.prepared_dir),
                          "last_epoch": result.metrics[-1] if result.metrics else None}, indent=1))
    else:
        print("\n".join(summary_lines(trained)))
    return 0


def _presets(args: argparse.Namespace) -> int:
    from generation.config import dumps_toml, list_presets, load_preset  # noqa: PLC0415

    if args.name:
        preset = load_preset(args.name)
        if args.json:
            print(json.dumps({"name": preset.name, "description": preset.description, **preset.values}, indent=1))
        else:
            print(f"# {preset.description}\n" + dumps_toml(preset.values), end="")
        return 0
    presets = list_presets()
    if args.json:
        print(json.dumps([{"name": p.name, "description": p.description, **p.values} for p in presets], indent=1))
        return 0
    width = max(len(p.name) for p in presets)
    print("\n".join(f"{p.name.ljust(width)}  {p.values.get('arch', '?')} on {p.values.get('encoding', '?')}: "
                    f"{p.description}" for p in presets))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from generation.run_evaluation import evaluate_run, format_evaluation  # noqa: PLC0415
    from generation.runs import read_run_info  # noqa: PLC0415

    corpus = args.corpus or read_run_info(args.run).get("corpus")
    if not corpus:
        raise GenerationError(f"{args.run}: give --corpus DIR (the run folder does not name its corpus)")
    _threads(args)
    result = evaluate_run(args.run, corpus, args.split, checkpoint=args.checkpoint, limit=args.limit,
                          device=args.device, baselines=not args.no_baselines, save=not args.no_save,
                          progress=not args.no_progress)
    print(json.dumps(result.to_dict(), indent=1) if args.json else format_evaluation(result))
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from generation.sweep import grid_points, parse_grid, run_sweep  # noqa: PLC0415

    train_args = list(args.train_options)
    if any(arg == "--out" or arg.startswith("--out=") for arg in train_args):
        raise GenerationError("give the sweep's folder with the sweep's own --out; each point trains into "
                              "OUT/<point>")
    grid = parse_grid(args.grid)
    known = {action.dest for action in _train_parser_actions()}
    for key in grid:
        if key not in known:
            raise GenerationError(f"grid key {key!r} is not a train option (see python -m generation train --help)")
    from generation.runs import check_pairing, prepare_for_run  # noqa: PLC0415

    train_parser = args.parser_factory()
    points = []
    for point in grid_points(grid):  # every point must be a valid train command before anything runs
        try:
            parsed = train_parser.parse_args(["train", *train_args, *point.flags(), "--out", str(args.out)])
        except SystemExit:
            raise GenerationError(f"grid point {point.name}: the train options above do not parse") from None
        config = _train_config(parsed)
        check_pairing(config)
        points.append((parsed, config))
    for parsed, config in points:  # prepared once here, not by parallel points at the same time
        if parsed.corpus is None:
            raise GenerationError("give the points' --corpus DIR among the train options after `--`")
        prepare_for_run(parsed.corpus, config, cache_dir=parsed.cache, limit=parsed.limit,
                        progress=not args.no_progress, jobs=parsed.jobs)
    rows = run_sweep(train_args, grid, args.out, parallel=args.parallel, metric=args.metric, mode=args.mode,
                     progress=not args.no_progress)
    failed = [row for row in rows if row["status"] != 0]
    for row in failed:
        print(f"run {'_'.join(f'{k}-{row[k]}' for k in grid)} failed (exit {row['status']}): see {row['log']}",
              file=sys.stderr)
    width = max(len(key) for key in grid)
    print(f"best {args.metric} ({args.mode}) per grid point, in {args.out / 'sweep.csv'} and "
          f"{args.out / 'sweep.html'}:")
    for row in rows:
        point = ", ".join(f"{key}={row[key]}".ljust(width + 6) for key in grid)
        best = "failed" if row["best"] is None else f"{row['best']:.4f} (epoch {row['epoch']})"
        print(f"  {point}  {best}")
    if len(failed) == len(rows):
        raise GenerationError(f"every run of the sweep failed; see the logs in {args.out / 'logs'}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from generation.config import SampleConfig, resolve_config  # noqa: PLC0415
    from generation.run_sampling import Primer, sample_run  # noqa: PLC0415

    config = resolve_config(SampleConfig, config_file=args.config, args=args)
    heads = {name: value for name, value in (("pitch", args.pitch_temperature),
                                             ("duration", args.duration_temperature)) if value is not None}
    abc = args.primer_abc.replace("\\n", "\n") if args.primer_abc else None  # a typed \n is a line break
    primer = Primer(path=args.primer, abc=abc) if args.primer or abc else None
    _threads(args)
    result = sample_run(args.run, config, args.out, primer, checkpoint=args.checkpoint, head_temperatures=heads,
                        progress=not args.no_progress)
    if args.json:
        print(result.summary.read_text(encoding="utf-8"), end="")
        return 0
    files = result.files
    print(f"wrote {len(result.midi_files)} MIDI files of {len(files)} samples to {result.out_dir} (one JSON each; "
          f"summary {result.summary.name})")
    empty = [f.index for f in files if f.midi is None]
    if empty:
        print(f"  {len(empty)} samples have no notes (no MIDI written): {', '.join(map(str, empty[:20]))}")
    if result.abc_parse_share is not None:
        print(f"  {sum(bool(f.abc_parses) for f in files)} of {len(files)} ABC samples parse with music21 "
              f"({result.abc_parse_share:.0%})")
    ended = sum(f.stopped_at_end for f in files)
    if result.settings.get("end_token") is not None:
        print(f"  {ended} of {len(files)} reached the end-of-tune symbol within {config.steps} steps")
    mean = sum(f.log_likelihood for f in files) / len(files)
    print(f"  mean log-likelihood {mean:.2f} nats per sample ({sum(f.length for f in files) / len(files):.0f} "
          "steps on average)")
    return 0


def _activations(args: argparse.Namespace) -> int:
    from generation.activations import run_activations, write_activation_html  # noqa: PLC0415

    activations = run_activations(args.run, args.input, layer=args.layer, units=args.units,
                                  checkpoint=args.checkpoint, max_steps=args.max_steps)
    out = args.out or args.run / f"activations-{args.input.stem}.html"
    write_activation_html(activations, out)
    print(f"wrote {out}: {len(activations.units)} units x {activations.values.shape[1]} steps of layer "
          f"{activations.layer}")
    return 0



def _train_parser_actions() -> list[argparse.Action]:
    parser = argparse.ArgumentParser(add_help=False)
    _add_train_arguments(parser)
    return parser._actions  # noqa: SLF001 - the flags train takes, for checking a sweep's grid keys


def _add_train_arguments(train: argparse.ArgumentParser) -> None:
    from generation.config import TrainConfig, add_config_flags  # noqa: PLC0415

    train.add_argument("--corpus", type=Path,
                       help="a corpus built by `python -m data build`, or any folder of MIDI (.abc for abc-chars) "
                            "files; train/ validation/ test/ sub-folders are the split, else pieces are split with a "
                            "fixed seed (required unless --resume takes it from the run folder)")
    train.add_argument("--out", type=Path, required=True, help="run folder (e.g. runs/NAME): checkpoints, "
                                                                "metrics.csv, training.html, config.toml, run.json")
    train.add_argument("--preset", help="start from a preset (python -m generation presets); flags override it")
    train.add_argument("--config", type=Path, metavar="FILE.toml",
                       help="TrainConfig values from a TOML file (over the preset; flags override it); unknown keys "
                            "are an error")
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --out from last.pt exactly (its config.toml and corpus are the "
                            "defaults; only epochs, patience, max_minutes, max_batches, device, workers and amp "
                            "may change)")
    train.add_argument("--cache", type=Path, metavar="DIR",
                       help="folder of prepared corpora (default: $TUNELAB_PREPARED_DIR or <data dir>/prepared)")
    train.add_argument("--limit", type=positive_int, metavar="N", help="at most N pieces per split (quick runs)")
    train.add_argument("--jobs", type=positive_int, default=1,
                       help="abc-chars: processes that parse the tunes with music21 when preparing (default: 1)")
    train.add_argument("--threads", type=positive_int, metavar="N", help="torch CPU threads (default: torch's)")
    train.add_argument("--json", action="store_true", help="print the result as JSON")
    train.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_config_flags(train, TrainConfig)
    add_encoding_options(train)
    add_preprocess_options(train, augmentation=True)


def add_model_verbs(verbs, build_parser) -> None:  # noqa: ANN001 - argparse's subparsers action, a parser factory
    from generation.config import SampleConfig, add_config_flags  # noqa: PLC0415

    train = verbs.add_parser(
        "train", help="train a model on a corpus (prepared through the cache) into a run folder",
        description="Prepare --corpus with --encoding (cached; see `prepare`), cut the train and validation windows "
                    "(every step a target once) and train --arch: Adam, gradient clipping, early stopping on the "
                    "validation loss, best.pt / last.pt checkpoints that carry the fitted encoding, metrics.csv "
                    "and training.html. Settings, lowest first: defaults, --preset, --config, flags. Encoding "
                    "options are TrainConfig's encoding_options (--encoding-option KEY=VALUE, or the encoding and "
                    "preprocessing flags below). Runs under torchrun --nproc_per_node N as well (DDP).")
    _add_train_arguments(train)
    train.set_defaults(handler=_train)

    presets = verbs.add_parser("presets", help="list the training presets",
                               description="Ready-made TrainConfig settings of the source reports and well-known "
                                           "models; `train --preset NAME` starts from one.")
    presets.add_argument("name", nargs="?", help="show this preset's values as TOML")
    presets.add_argument("--json", action="store_true", help="print JSON")
    presets.set_defaults(handler=_presets)

    evaluate = verbs.add_parser(
        "evaluate", help="score a trained run on a corpus split beside the baselines",
        description="Per-token NLL and accuracy per head, or for piano-roll encodings the frame NLL in nats per "
                    "frame (Boulanger-Lewandowski 2012: sum of the per-key Bernoulli terms, averaged over predicted "
                    "frames, the first frame of a piece not predicted) and the expected frame accuracy; beside it "
                    "the baselines fitted on the corpus's train split (88 ln 2, independent Bernoulli, Markov chord "
                    "chain; unigram, bigram and trigram for tokens) and, for the chorale benchmark, the published "
                    "JSB figures with how their piece set differs. Saved as RUN/evaluation-SPLIT.json.")
    evaluate.add_argument("run", type=Path, help="run folder (holds best.pt)")
    evaluate.add_argument("--corpus", type=Path, help="corpus to score (default: the one the run was trained on)")
    evaluate.add_argument("--split", default="test", choices=("train", "validation", "test", "all"),
                          help="split to score (default: test)")
    evaluate.add_argument("--checkpoint", default="best", choices=("best", "last"), help="default: best")
    evaluate.add_argument("--limit", type=positive_int, metavar="N", help="at most N pieces per split")
    evaluate.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default: auto")
    evaluate.add_argument("--threads", type=positive_int, metavar="N", help="torch CPU threads")
    evaluate.add_argument("--no-baselines", action="store_true", help="score the model only")
    evaluate.add_argument("--no-save", action="store_true", help="do not write RUN/evaluation-SPLIT.json")
    evaluate.add_argument("--json", action="store_true",
                          help="print one JSON object (frame_nll, frame_accuracy, n_frames or token_nll, accuracy, "
                               "n_tokens, per-head metrics, baselines, protocol)")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bars")
    evaluate.set_defaults(handler=_evaluate)

    sweep = verbs.add_parser(
        "sweep", help="train a grid of settings and tabulate the best validation figure",
        description="Run `train` once per point of the grid (OUT/<point>, at most --parallel at once, each with the "
                    "cores shared out), then write OUT/sweep.csv and OUT/sweep.html (pivoted on the first two grid "
                    "keys). Points already finished are not trained again. Train options go after `--`, e.g. "
                    "sweep --grid hidden=64,256 keep=1,0.5 --out runs/grid -- --corpus data/bach-chorales "
                    "--preset chorale-frames --epochs 5")
    sweep.add_argument("--grid", nargs="+", required=True, metavar="KEY=V1,V2",
                       help="train options and their values, e.g. hidden=64,256,512 keep=1,0.5,0.3")
    sweep.add_argument("--out", type=Path, required=True, help="folder of the sweep's runs and tables")
    sweep.add_argument("--parallel", type=positive_int, default=1, help="runs at once (default: 1)")
    sweep.add_argument("--metric", default="val_accuracy",
                       help="metrics.csv column to tabulate (default: val_accuracy; e.g. val_loss, val_frame_nll)")
    sweep.add_argument("--mode", default="max", choices=("max", "min"), help="best = max or min (default: max)")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.add_argument("train_options", nargs=argparse.REMAINDER, help="-- then the train options of every point")
    sweep.set_defaults(handler=_sweep, parser_factory=build_parser)

    sample = verbs.add_parser(
        "sample", help="draw samples from a trained run as MIDI (and ABC) with a JSON record each",
        description="Batched, stateful sampling from RUN/best.pt: writes OUT/sample_NNN.mid (.abc too for "
                    "abc-chars) and sample_NNN.json (tokens or frames, log-likelihood, every setting), plus "
                    "samples.json. Stops at the end-of-tune symbol; reports the share of ABC samples that parse. "
                    "--temperature near 0 takes the most likely choice (argmax).")
    sample.add_argument("run", type=Path, help="run folder (holds best.pt)")
    sample.add_argument("--out", type=Path, required=True, help="folder for the samples")
    primer = sample.add_mutually_exclusive_group()
    primer.add_argument("--primer", type=Path, metavar="FILE",
                        help="a MIDI (or .abc) file the samples continue, preprocessed as the training pieces")
    primer.add_argument("--primer-abc", metavar="TEXT",
                        help="ABC text the samples continue (abc-chars: its characters; other encodings: its notes); "
                             "a typed \\n is a line break, e.g. 'M:6/8\\nL:1/8\\nK:D\\n|:A'")
    sample.add_argument("--pitch-temperature", type=float, metavar="T",
                        help="temperature of the pitch head (notewise encodings; default --temperature)")
    sample.add_argument("--duration-temperature", type=float, metavar="T",
                        help="temperature of the duration head (notewise encodings; default --temperature)")
    sample.add_argument("--checkpoint", default="best", choices=("best", "last"), help="default: best")
    sample.add_argument("--config", type=Path, metavar="FILE.toml", help="SampleConfig values from a TOML file")
    sample.add_argument("--threads", type=positive_int, metavar="N", help="torch CPU threads")
    sample.add_argument("--json", action="store_true", help="print samples.json")
    sample.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_config_flags(sample, SampleConfig)
    sample.set_defaults(handler=_sample)

    activations = verbs.add_parser(
        "activations", help="heat map of a recurrent model's neuron activations over a piece",
        description="Read FILE (an ABC tune for abc-chars, else MIDI or ABC) with the run's encoding and draw the "
                    "hidden state of every unit of one recurrent layer at every step as a self-contained plotly "
                    "HTML heat map (Karpathy et al. 2016).")
    activations.add_argument("run", type=Path, help="run folder of an lstm, stacked or rnn model")
    activations.add_argument("--input", type=Path, required=True, help="the piece (.abc, .mid)")
    activations.add_argument("--out", type=Path, help="HTML file (default: RUN/activations-<input>.html)")
    activations.add_argument("--layer", type=positive_int, help="recurrent layer, 1 = the first (default: the last)")
    activations.add_argument("--units", type=int, default=0,
                             help="show only this many units, those that vary most over the piece (default: all)")
    activations.add_argument("--max-steps", type=positive_int, default=4000, help="steps drawn at most (4000)")
    activations.add_argument("--checkpoint", default="best", choices=("best", "last"), help="default: best")
    activations.set_defaults(handler=_activations)


