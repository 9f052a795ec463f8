"""Training runs from a corpus: what ``python -m generation train``, the app and the experiments call.

A *run folder* (``runs/NAME``) holds what :func:`generation.train.train` writes (``best.pt``, ``last.pt``,
``metrics.csv``, ``training.html``, ``config.toml``, ``done.json``) plus

- ``run.json``: the corpus, the encoding options and preprocessing, the prepared folder it read, its
  window counts and the hash of the training data;
- ``openings.npz``: the first step of every training sequence (in the encoding's array form), the default
  primers of ``sample`` for encodings whose first step is never predicted (a piece's opening chord).

The checkpoints carry the fitted encoding and the config, so sampling and evaluation rebuild everything from
the run folder alone. Corpora are prepared through :func:`generation.prepare.prepare` into a cache folder
(``$TUNELAB_PREPARED_DIR``, default ``<data dir>/prepared``), keyed by the corpus, the encoding and its
options; ``prepare`` itself leaves an up-to-date folder alone.

``TrainConfig.encoding_options`` holds two kinds of keys: the fields of the encoding's configuration
(``step``, ``fs``, ``low``, ``high``, ``resolution``, ``beat_bits``: ``python -m generation encodings
--json``) and the preprocessing options of :class:`generation.pipeline.PreprocessConfig` (``transpose``,
``augment``, ``fold``, ``melody``, ...; ``transpose = "none"`` = no transposition). Any other key is an error.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from generation.config import TrainConfig, load_config
from generation.encodings import ENCODINGS
from generation.errors import GenerationError
from generation.pipeline import PreprocessConfig

__all__ = ["OPENINGS_FILE", "RUN_FILE", "RunSummary", "TrainedRun", "check_pairing", "list_runs",
           "prepare_for_run", "prepare_options", "prepared_cache_dir", "read_run_info", "runs_dir", "train_from_corpus"]

RUN_FILE = "run.json"
OPENINGS_FILE = "openings.npz"
MAX_OPENINGS = 2000
ENV_RUNS_DIR = "TUNELAB_RUNS_DIR"
ENV_PREPARED_DIR = "TUNELAB_PREPARED_DIR"
PREPARE_WAIT_SECONDS = 3600.0  # torchrun: how long the other processes wait for rank 0 to prepare the corpus


def runs_dir() -> Path:
    """Folder of training runs: ``$TUNELAB_RUNS_DIR`` or ``runs/`` in the repository."""
    from tunelab import settings  # noqa: PLC0415

    value = os.environ.get(ENV_RUNS_DIR)
    return Path(value).expanduser() if value else settings.REPO_ROOT / "runs"


def prepared_cache_dir() -> Path:
    """Cache of prepared corpora: ``$TUNELAB_PREPARED_DIR`` or ``prepared/`` in the data folder."""
    from tunelab import data_dir  # noqa: PLC0415

    value = os.environ.get(ENV_PREPARED_DIR)
    return Path(value).expanduser() if value else data_dir() / "prepared"


# ---------------------------------------------------------------- options


def _encoding_class(name: str):
    if name not in ENCODINGS:
        raise GenerationError(f"unknown encoding {name!r}; choose one of {', '.join(ENCODINGS)} "
                              "(see `python -m generation encodings`)")
    return ENCODINGS[name]


def prepare_options(encoding: str, options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``TrainConfig.encoding_options`` into :class:`generation.prepare.PrepareRequest`'s
    ``encoding_options`` (command-line names: ``pitch_range`` for ``low``/``high``) and ``preprocess``.

    Raises GenerationError naming a key that is neither an option of ``encoding`` nor a preprocessing option.
    """
    cls = _encoding_class(encoding)
    config_fields = {f.name for f in fields(cls.config_class)}
    preprocess_fields = {f.name for f in fields(PreprocessConfig)}
    by_field = {target: name for name, target in cls.option_fields.items() if name != "pitch_range"}
    encoding_options: dict[str, Any] = {}
    preprocess: dict[str, Any] = {}
    for key, value in options.items():
        if key in config_fields and key not in ("low", "high"):
            encoding_options[by_field.get(key, key)] = value
        elif key in preprocess_fields:
            preprocess[key] = _preprocess_value(key, value)
        elif key not in ("low", "high") or "low" not in config_fields:
            own = ", ".join(sorted(config_fields)) or "none"
            raise GenerationError(f"encoding option {key!r} is neither an option of {encoding} ({own}) nor a "
                                  f"preprocessing option ({', '.join(sorted(preprocess_fields))})")
    if "low" in options or "high" in options:
        default = cls.config_class()
        low, high = options.get("low", default.low), options.get("high", default.high)
        if isinstance(low, bool) or isinstance(high, bool) or not isinstance(low, int) or not isinstance(high, int):
            raise GenerationError(f"encoding options low and high are MIDI numbers, got {low!r} and {high!r}")
        encoding_options["pitch_range"] = (low, high)
    return encoding_options, preprocess


def _preprocess_value(key: str, value: Any) -> Any:
    if key == "transpose" and isinstance(value, str) and value.lower() == "none":
        return None
    if isinstance(value, list):
        return tuple(value)
    return value


def check_pairing(config: TrainConfig) -> None:
    """A GenerationError, before any data is read, when the architecture cannot read the encoding, the window
    mode does not suit the architecture, or the device is not there."""
    from generation.device import resolve_device  # noqa: PLC0415
    from generation.models import ARCHITECTURES  # noqa: PLC0415

    cls = _encoding_class(config.encoding)
    kind = cls().model_io().input_kind
    spec = ARCHITECTURES[config.arch]
    if kind not in spec.input_kinds:
        fits = [name for name, arch in ARCHITECTURES.items() if kind in arch.input_kinds]
        raise GenerationError(f"architecture {config.arch!r} cannot read the {config.encoding} encoding ({kind} "
                              f"inputs; {config.arch} reads {' or '.join(spec.input_kinds)}); for {config.encoding} "
                              f"use --arch {' / '.join(fits)}")
    if kind == "biaxial" and config.mode != "many-to-many":
        raise GenerationError("biaxial windows are many-to-many only (a target per step and note): add --mode "
                              "many-to-many, or start from --preset biaxial")
    if config.mode == "many-to-many" and not spec.many_to_many:
        raise GenerationError(f"{config.arch} predicts one step from a window: reading the shifted sequence would "
                              "let it see its targets. Use --mode many-to-one")
    if config.attention and config.arch in ("biaxial", "transformer"):
        raise GenerationError(f"--attention adds soft attention over recurrent outputs; {config.arch} has none")
    resolve_device(config.device)


# ---------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainedRun:
    """A finished ``train_from_corpus`` call: the training result and what was prepared."""

    out_dir: Path
    result: Any  # generation.train.TrainResult
    prepared_dir: Path
    prepare_report: dict[str, Any]
    prepared_up_to_date: bool
    windows: dict[str, int]


def _cache_folder(corpus: Path, encoding: str, encoding_options: dict, preprocess: dict, limit: int | None,
                  cache_dir: Path) -> Path:
    key = json.dumps({"corpus": str(corpus.resolve()), "encoding": encoding, "options": encoding_options,
                      "preprocess": preprocess, "limit": limit}, sort_keys=True, default=str)
    return cache_dir / f"{corpus.resolve().name}-{encoding}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _prepare_once(request: Any) -> tuple[Any, bool]:
    """Prepare (rank 0, or the only process); under torchrun the other processes wait for rank 0's folder."""
    from generation.prepare import is_prepared, prepare  # noqa: PLC0415

    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and int(os.environ.get("RANK", "0")) != 0:
        waited = 0.0
        while not is_prepared(request):
            if waited > PREPARE_WAIT_SECONDS:
                raise GenerationError(f"rank {os.environ['RANK']}: rank 0 did not prepare {request.out} within "
                                      f"{PREPARE_WAIT_SECONDS:.0f} s")
            time.sleep(1.0)
            waited += 1.0
        return None, True
    result = prepare(request)
    return result, result.up_to_date


def prepare_for_run(corpus: Path | str, config: TrainConfig, *, cache_dir: Path | str | None = None,
                    limit: int | None = None, progress: bool = True, jobs: int = 1) -> tuple[Path, bool]:
    """Prepare ``corpus`` as ``config`` asks into the cache; returns the prepared folder and whether it was
    up to date already (what a sweep runs once before its parallel points)."""
    from generation.prepare import PrepareRequest  # noqa: PLC0415

    corpus = Path(corpus)
    encoding_options, preprocess = prepare_options(config.encoding, config.encoding_options)
    cache = Path(cache_dir) if cache_dir is not None else prepared_cache_dir()
    folder = _cache_folder(corpus, config.encoding, encoding_options, preprocess, limit, cache)
    request = PrepareRequest(corpus=corpus, encoding=config.encoding, out=folder, encoding_options=encoding_options,
                             preprocess=preprocess, window=config.window, limit=limit, progress=progress, jobs=jobs)
    _, up_to_date = _prepare_once(request)
    return folder, up_to_date


def window_options(config: TrainConfig) -> dict[str, Any]:
    """The WindowDataset options of a training run: every step a target once (pad=True), windows every
    ``stride`` steps (0 = 1 for many-to-one, the window for many-to-many)."""
    return {"stride": config.stride or None, "pad": True, "seed": config.seed}


def _data_hash(prepare_report: dict[str, Any], config: TrainConfig) -> str:
    key = json.dumps({"source_hash": prepare_report["source_hash"], "window": config.window, "mode": config.mode,
                      "stride": config.stride}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()


def _write_openings(sequences: list[np.ndarray], path: Path) -> None:
    firsts = [sequence[:1] for sequence in sequences[:MAX_OPENINGS] if len(sequence)]
    if firsts:
        np.savez(path, openings=np.concatenate(firsts))


def train_from_corpus(corpus: Path | str | None, config: TrainConfig, out_dir: Path | str, *, resume: bool = False,
                      cache_dir: Path | str | None = None, limit: int | None = None, progress: bool = True,
                      jobs: int = 1) -> TrainedRun:
    """Prepare ``corpus`` with ``config.encoding`` (through the prepare cache), cut the train and validation
    windows, and train ``config.arch`` into ``out_dir`` (or continue it with ``resume``; ``corpus`` None =
    the one recorded in the run's ``run.json``).

    Raises GenerationError for bad input: an unknown encoding/architecture pair, an unknown encoding option,
    a corpus with nothing usable, a missing device, or a run that cannot be resumed with this config.
    """
    from generation.prepare import load_prepared  # noqa: PLC0415
    from generation.train import train  # noqa: PLC0415

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise GenerationError(f"--out {out_dir} is a file; give a folder for the run")
    if corpus is None:
        if not resume:
            raise GenerationError("give --corpus DIR (only --resume can take the corpus from the run folder)")
        corpus = read_run_info(out_dir).get("corpus")
        if not corpus:
            raise GenerationError(f"{out_dir}: no {RUN_FILE} names the corpus of this run; give --corpus DIR")
    corpus = Path(corpus)
    if resume and not (out_dir / "last.pt").is_file():
        raise GenerationError(f"{out_dir}: nothing to resume (no last.pt); drop --resume to start the run")
    check_pairing(config)
    folder, up_to_date = prepare_for_run(corpus, config, cache_dir=cache_dir, limit=limit, progress=progress,
                                         jobs=jobs)
    encoding_options, _ = prepare_options(config.encoding, config.encoding_options)
    prepared = load_prepared(folder)
    options = window_options(config)
    train_set = prepared.dataset("train", config.window, config.mode, **options)
    valid_set = prepared.dataset("validation", config.window, config.mode, **options)
    if len(valid_set) == 0:
        raise GenerationError(f"{corpus}: the validation split holds no usable piece for {config.encoding} "
                              f"({prepared.report['split_rule']}); early stopping needs one")
    windows = {"train": len(train_set), "validation": len(valid_set)}
    data_hash = _data_hash(prepared.report, config)
    if int(os.environ.get("RANK", "0")) == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        info = {"format": 1, "corpus": str(corpus.resolve()), "encoding": config.encoding,
                "encoding_options": config.encoding_options, "prepare_encoding_options": encoding_options,
                "preprocess": prepared.report["preprocessing"]["config"], "prepared": str(folder.resolve()),
                "source_hash": prepared.report["source_hash"], "split_rule": prepared.report["split_rule"],
                "pieces": prepared.report["pieces"]["kept"], "windows": windows, "data_hash": data_hash,
                "limit": limit}
        (out_dir / RUN_FILE).write_text(json.dumps(info, indent=1, default=str) + "\n", encoding="utf-8")
        _write_openings(prepared.sequences["train"], out_dir / OPENINGS_FILE)
    result = train(train_set, valid_set, prepared.encoding.model_io(), config, out_dir,
                   encoding=prepared.encoding.to_dict(), resume=resume, data_hash=data_hash, progress=progress)
    return TrainedRun(out_dir=out_dir, result=result, prepared_dir=folder, prepare_report=prepared.report,
                      prepared_up_to_date=up_to_date, windows=windows)


# ---------------------------------------------------------------- reading runs


def read_run_info(run_dir: Path | str) -> dict[str, Any]:
    """``run.json`` of a run folder ({} when the run was not trained from a corpus by this module)."""
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise GenerationError(f"{path}: unreadable ({error})") from None


@dataclass(frozen=True)
class RunSummary:
    """One run folder as the app lists it."""

    name: str
    path: Path
    arch: str
    encoding: str
    epochs_run: int
    best_epoch: int | None
    best_valid_loss: float | None
    best_valid_accuracy: float | None
    finished: bool
    corpus: str | None
    evaluations: dict[str, dict[str, Any]]  # split -> saved evaluate --json object

    def to_row(self) -> dict[str, Any]:
        row = {"run": self.name, "arch": self.arch, "encoding": self.encoding, "epochs": self.epochs_run,
               "best epoch": self.best_epoch, "best val loss": self.best_valid_loss,
               "best val accuracy": self.best_valid_accuracy, "finished": self.finished}
        for split, scores in self.evaluations.items():
            key = "frame_nll" if "frame_nll" in scores else "token_nll"
            row[f"{split} {key.replace('_', ' ')}"] = scores.get(key)
        return row


def _metrics_rows(path: Path) -> list[dict[str, float]]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        rows = []
        for row in csv.DictReader(handle):
            try:
                rows.append({k: float(v) for k, v in row.items() if v not in (None, "")})
            except ValueError:
                continue
    return rows


def summarize_run(run_dir: Path, name: str | None = None) -> RunSummary:
    """What ``list_runs`` shows of one run folder (config.toml, metrics.csv, done.json, saved evaluations)."""
    config = load_config(run_dir / "config.toml") if (run_dir / "config.toml").is_file() else TrainConfig()
    rows = _metrics_rows(run_dir / "metrics.csv")
    best = min(rows, key=lambda r: r.get("val_loss", math.inf)) if rows else None
    evaluations = {}
    for path in sorted(run_dir.glob("evaluation-*.json")):
        try:
            evaluations[path.stem.removeprefix("evaluation-")] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
    return RunSummary(name=name or run_dir.name, path=run_dir, arch=config.arch, encoding=config.encoding,
                      epochs_run=int(rows[-1]["epoch"]) if rows else 0,
                      best_epoch=int(best["epoch"]) if best else None,
                      best_valid_loss=best.get("val_loss") if best else None,
                      best_valid_accuracy=best.get("val_accuracy") if best else None,
                      finished=(run_dir / "done.json").is_file(), corpus=read_run_info(run_dir).get("corpus"),
                      evaluations=evaluations)


def list_runs(folder: Path | str | None = None) -> list[RunSummary]:
    """Every run folder (one holding ``best.pt``) directly under ``folder`` (default :func:`runs_dir`) or one
    level deeper (the points of a sweep), by name."""
    folder = Path(folder) if folder is not None else runs_dir()
    if not folder.is_dir():
        return []
    found = sorted({path.parent for path in [*folder.glob("*/best.pt"), *folder.glob("*/*/best.pt")]})
    summaries = []
    for run_dir in found:
        try:  # sweep points are named by their sweep: "sweep/hidden-64_keep-1"
            summaries.append(summarize_run(run_dir, run_dir.relative_to(folder).as_posix()))
        except GenerationError:
            continue  # a folder with a broken config is not a usable run
    return summaries


def summary_lines(trained: TrainedRun) -> list[str]:
    """What ``train`` prints: what was trained on what, how far it got, and where the files are."""
    result = trained.result
    config = load_config(trained.out_dir / "config.toml")
    kept = trained.prepare_report["pieces"]["kept"]
    state = "up to date" if trained.prepared_up_to_date else "prepared"
    last = result.metrics[-1] if result.metrics else {}
    stop = ("early stop (no better validation loss for "
            f"{config.patience} epochs)" if result.stopped_early else
            "time budget reached" if result.out_of_time else "last epoch")
    lines = [f"trained {config.arch} on {config.encoding} in {trained.out_dir}: {result.epochs_run} epochs ({stop})",
             f"  data: {kept['train']} train / {kept['validation']} validation pieces -> "
             f"{trained.windows['train']} / {trained.windows['validation']} windows of {config.window} "
             f"({config.mode}); {state} in {trained.prepared_dir}",
             f"  best validation loss {result.best_valid_loss:.4f} at epoch {result.best_epoch}"]
    shown = [key for key in ("val_accuracy", "val_frame_nll", "val_frame_accuracy", "val_top3_accuracy",
                             "val_play_nll", "tokens_per_second", "seconds") if key in last]
    if shown:
        lines.append("  last epoch: " + ", ".join(f"{key} {last[key]:.4g}" for key in shown))
    lines.append(f"  files: best.pt, last.pt, metrics.csv, training.html, config.toml, {RUN_FILE}; next: "
                 f"python -m generation evaluate {trained.out_dir} --corpus CORPUS, python -m generation sample "
                 f"{trained.out_dir} --out DIR")
    return lines
