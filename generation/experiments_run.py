"""One run of an experiment, from corpus to scores: train (or reuse), evaluate on the test split, sample,
score the samples against the held-out human pieces; and the references those samples are scored against.

A run writes into its folder what ``python -m generation train`` writes, plus ``evaluation-test.json``,
``samples/`` (MIDI, JSON per sample) and ``record.json``: every figure of the run in one flat ``metrics``
table, its loss curves, the baselines of its evaluation, and (for the first seed, when asked) the activation
map of its last recurrent layer. A run whose ``record.json`` was made from the same settings is not run again;
a finished training run with the same configuration is not trained again; an interrupted one is resumed.

Samples are scored with :mod:`evaluation.scoring` against two references of the same corpus's test split:

- the pieces as written (``classifier_accuracy``, ``mean_overlap``, ...): what a listener would compare with;
  one reference per corpus, so variants of different encodings are comparable;
- the pieces after the variant's preprocessing and encoding, decoded back to MIDI (``encoded_`` prefix): what
  the model could reach at best (a chord-root encoding cannot play four voices, a transposed one is in C).

Classifier accuracy is that of the classifier two-sample test (Lopez-Paz & Oquab 2017): 0.5 = the samples
cannot be told from the human pieces; ``mean_overlap`` is the mean over features of mgeval's overlap area
(Yang & Lerch 2020): 1 = the samples are as far from the human pieces as those are from each other.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generation.errors import GenerationError

__all__ = ["RECORD_FILE", "Reference", "RunSpec", "build_reference", "execute_run", "human_reference",
           "record_metrics"]

RECORD_FILE = "record.json"
RECORD_FORMAT = 1
ACTIVATION_UNITS = 32  # units drawn in an activation map (those that vary most over the input)
ACTIVATION_STEPS = 400  # steps drawn at most
RECURRENT_ARCHS = ("lstm", "stacked", "rnn")


@dataclass(frozen=True)
class Reference:
    """A reference set: its MIDI folder and the pickled feature rows of its files."""

    folder: Path
    rows_file: Path
    n: int


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs (picklable: runs may execute in worker processes)."""

    experiment: str
    variant: str
    corpus_key: str  # the corpus's name in the report
    corpus: Path
    seed: int
    first_seed: bool
    train: dict[str, Any]  # TrainConfig.to_dict()
    sample: dict[str, Any]  # SampleConfig.to_dict()
    limit: int | None
    run_dir: Path
    cache_dir: Path | None
    human: Reference
    encoded: Reference | None
    variant_fields: dict[str, Any] | None = None  # the TrainConfig fields the variant sets (grid values)
    activation_input: Path | None = None
    figures: tuple[str, ...] = ()
    progress: bool = False
    threads: int | None = None

    def key(self) -> str:
        """Hash of what decides the run's results (not where it runs or how it shows progress)."""
        data = {"format": RECORD_FORMAT, "train": self.train, "sample": self.sample, "corpus": str(self.corpus),
                "limit": self.limit, "human": self.human.n, "encoded": None if self.encoded is None else
                self.encoded.n, "activations": "activations" in self.figures and self.first_seed}
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


# ---------------------------------------------------------------- references


def _save_rows(paths: list[Path], rows_file: Path) -> int:
    from evaluation.scoring import score_files  # noqa: PLC0415

    rows, errors = score_files(paths, jobs=1, progress=False)
    if not rows:
        reasons = "; ".join(f"{p}: {r}" for p, r in errors[:3])
        raise GenerationError(f"no reference piece could be scored ({reasons})")
    rows_file.parent.mkdir(parents=True, exist_ok=True)
    with rows_file.open("wb") as handle:
        pickle.dump({"files": [str(p) for p in paths], "rows": rows}, handle)
    return len(rows)


def _cached_rows(rows_file: Path, paths: list[Path]) -> int | None:
    if not rows_file.is_file():
        return None
    try:
        with rows_file.open("rb") as handle:
            data = pickle.load(handle)  # noqa: S301 - a file this module wrote
    except (OSError, pickle.UnpicklingError, EOFError):
        return None
    return len(data["rows"]) if data.get("files") == [str(p) for p in paths] else None


def human_reference(corpus: Path, limit: int | None, folder: Path) -> Reference:
    """The corpus's test split as written (at most ``limit`` pieces), its features computed once."""
    from data import DataError, corpus_files  # noqa: PLC0415

    try:
        paths = corpus_files(corpus, split="test")[:limit]
    except DataError as error:
        raise GenerationError(str(error)) from None
    rows_file = folder / "rows.pkl"
    n = _cached_rows(rows_file, paths)
    if n is None:
        n = _save_rows(paths, rows_file)
    return Reference(Path(corpus), rows_file, n)


def build_reference(prepared_dir: Path, folder: Path, tempo: float = 120.0) -> Reference:
    """The prepared test split decoded back to MIDI into ``folder``, its features computed once."""
    from evaluation import write_midi  # noqa: PLC0415
    from generation.prepare import load_prepared  # noqa: PLC0415

    prepared = load_prepared(prepared_dir)
    stamp = folder / "source.json"
    source = {"prepared": str(Path(prepared_dir).resolve()), "hash": prepared.report.get("source_hash"),
              "tempo": tempo}
    paths = sorted(folder.glob("*.mid"))
    if stamp.is_file() and json.loads(stamp.read_text(encoding="utf-8")) == source and paths:
        n = _cached_rows(folder / "rows.pkl", paths)
        if n is not None:
            return Reference(folder, folder / "rows.pkl", n)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for index, sequence in enumerate(prepared.sequences["test"]):
        piece = prepared.encoding.decode(sequence, tempo=tempo)
        if piece.n_notes:
            write_midi(piece, folder / f"test_{index:03d}.mid")
    paths = sorted(folder.glob("*.mid"))
    if not paths:
        raise GenerationError(f"{prepared_dir}: the test split decodes to no notes; nothing to score against")
    n = _save_rows(paths, folder / "rows.pkl")
    stamp.write_text(json.dumps(source) + "\n", encoding="utf-8")
    return Reference(folder, folder / "rows.pkl", n)


def _rows(reference: Reference) -> list[dict[str, Any]]:
    with reference.rows_file.open("rb") as handle:
        return pickle.load(handle)["rows"]  # noqa: S301 - a file this module wrote


# ---------------------------------------------------------------- one run


def _metric_rows(path: Path) -> list[dict[str, float]]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k: float(v) for k, v in row.items() if v not in (None, "")} for row in csv.DictReader(handle)]


def record_metrics(rows: list[dict[str, float]]) -> dict[str, float]:
    """Figures of a run from its ``metrics.csv`` rows: the ``val_*`` columns of the epoch of best validation
    loss, that epoch, the epochs run, and the mean training seconds and tokens per second per epoch."""
    if not rows:
        return {}
    best = min(rows, key=lambda r: r.get("val_loss", math.inf))
    out = {key: value for key, value in best.items() if key.startswith("val_")}
    out["best_epoch"] = best["epoch"]
    out["epochs_run"] = rows[-1]["epoch"]
    out["seconds_per_epoch"] = sum(r.get("train_seconds", math.nan) for r in rows) / len(rows)
    out["tokens_per_second"] = sum(r.get("tokens_per_second", math.nan) for r in rows) / len(rows)
    out["train_seconds_total"] = sum(r.get("seconds", 0.0) for r in rows)
    return out


def _train(spec: RunSpec) -> None:
    """Train the run, or leave a finished run with the same settings alone, or continue one whose settings
    differ only in how long it may run (``generation.train.RESUMABLE_CHANGES``: more epochs, a longer budget)."""
    from dataclasses import fields  # noqa: PLC0415

    from generation.config import TrainConfig, load_config  # noqa: PLC0415
    from generation.train import RESUMABLE_CHANGES  # noqa: PLC0415
    from generation.workflow import read_run_info, train_from_corpus  # noqa: PLC0415

    config = TrainConfig.from_dict(spec.train)
    saved = None
    if (spec.run_dir / "config.toml").is_file():
        try:
            saved = load_config(spec.run_dir / "config.toml")
        except GenerationError:
            saved = None
    info = read_run_info(spec.run_dir)
    same_data = info.get("corpus") == str(Path(spec.corpus).resolve()) and info.get("limit") == spec.limit
    differ = {f.name for f in fields(TrainConfig)} if saved is None else \
        {f.name for f in fields(TrainConfig) if getattr(saved, f.name) != getattr(config, f.name)}
    if same_data and not differ and (spec.run_dir / "done.json").is_file() and (spec.run_dir / "best.pt").is_file():
        return
    resume = same_data and differ <= set(RESUMABLE_CHANGES) and (spec.run_dir / "last.pt").is_file()
    if not resume and spec.run_dir.exists():
        shutil.rmtree(spec.run_dir)
    train_from_corpus(spec.corpus, config, spec.run_dir, resume=resume, cache_dir=spec.cache_dir, limit=spec.limit,
                      progress=spec.progress)


def _score(midi: list[Path], reference: Reference, name: str, prefix: str) -> tuple[dict[str, float], dict]:
    from evaluation.scoring import compare_sets, score_files  # noqa: PLC0415

    rows, _ = score_files(midi, jobs=1, progress=False)
    summary = compare_sets(_rows(reference), {name: rows})
    distances = summary["sets"][name]["distances"]
    classifier = distances["classifier"]
    pitch_class = distances["histograms"].get("pitch_class_histogram", {})
    metrics = {f"{prefix}classifier_accuracy": classifier["accuracy"], f"{prefix}classifier_p": classifier["p_value"],
               f"{prefix}classifier_ci_low": classifier["ci_low"], f"{prefix}classifier_ci_high": classifier["ci_high"],
               f"{prefix}mean_overlap": distances["mean_overlap"], f"{prefix}mean_kl": distances["mean_kl"],
               f"{prefix}pitch_class_js": pitch_class.get("js", math.nan),
               f"{prefix}pitch_class_kl": pitch_class.get("kl", math.nan)}
    overlap = {feature: entry["overlap"] for feature, entry in distances["relative"].items()}
    return {k: float(v) for k, v in metrics.items()}, overlap


def _activations(spec: RunSpec) -> dict[str, Any] | None:
    from generation.activations import run_activations  # noqa: PLC0415

    if spec.activation_input is None or spec.train["arch"] not in RECURRENT_ARCHS:
        return None
    found = run_activations(spec.run_dir, spec.activation_input, units=ACTIVATION_UNITS, max_steps=ACTIVATION_STEPS)
    return {"values": [[round(float(v), 3) for v in row] for row in found.values], "labels": found.labels,
            "units": found.units, "layer": found.layer, "title": found.title}


def execute_run(spec: RunSpec) -> dict[str, Any]:
    """Train, evaluate, sample and score one run (module docstring); returns its record (also written to
    ``record.json``). A GenerationError (bad data for this variant) gives a record with an ``error``."""
    from generation.config import SampleConfig  # noqa: PLC0415
    from generation.workflow import evaluate_run, sample_run  # noqa: PLC0415

    if spec.threads:
        import torch  # noqa: PLC0415

        torch.set_num_threads(spec.threads)
    record_path = spec.run_dir / RECORD_FILE
    key = spec.key()
    if record_path.is_file():
        try:
            old = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            old = {}
        if old.get("key") == key and not old.get("error"):
            return old
    base = {"key": key, "experiment": spec.experiment, "variant": spec.variant, "corpus": spec.corpus_key,
            "seed": spec.seed, "run_dir": str(spec.run_dir), "arch": spec.train["arch"],
            "encoding": spec.train["encoding"], "variant_fields": spec.variant_fields or {}}
    try:
        _train(spec)
        rows = _metric_rows(spec.run_dir / "metrics.csv")
        metrics = record_metrics(rows)
        evaluation = evaluate_run(spec.run_dir, spec.corpus, "test", limit=spec.limit,
                                  device=spec.train.get("device", "auto"), baselines=spec.first_seed, save=True)
        metrics.update({f"test_{k}": float(v) for k, v in evaluation.model.items() if isinstance(v, int | float)})
        samples_dir = spec.run_dir / "samples"
        shutil.rmtree(samples_dir, ignore_errors=True)
        sampled = sample_run(spec.run_dir, SampleConfig.from_dict(spec.sample), samples_dir)
        midi = sampled.midi_files
        metrics["samples"] = float(len(sampled.files))
        metrics["samples_with_notes"] = len(midi) / len(sampled.files) if sampled.files else math.nan
        metrics["sample_log_likelihood"] = sum(f.log_likelihood for f in sampled.files) / max(1, len(sampled.files))
        if sampled.abc_parse_share is not None:
            metrics["abc_parse_share"] = float(sampled.abc_parse_share)
        overlaps: dict[str, dict[str, float]] = {}
        if midi:
            scored, overlaps["human"] = _score(midi, spec.human, spec.variant, "")
            metrics.update(scored)
            if spec.encoded is not None:
                scored, overlaps["encoded"] = _score(midi, spec.encoded, spec.variant, "encoded_")
                metrics.update(scored)
        record = {**base, "metrics": metrics, "overlap": overlaps,
                  "curves": [{k: r[k] for k in ("epoch", "train_loss", "val_loss", "val_accuracy", "seconds")
                              if k in r} for r in rows],
                  "baselines": evaluation.baselines, "protocol": evaluation.protocol,
                  "published": evaluation.published, "protocol_difference": evaluation.protocol_difference,
                  "test_pieces": evaluation.pieces, "samples_dir": str(samples_dir),
                  "human_reference": spec.human.n, "encoded_reference": spec.encoded.n if spec.encoded else None}
        if "activations" in spec.figures and spec.first_seed:
            record["activations"] = _activations(spec)
    except GenerationError as error:
        record = {**base, "metrics": {}, "error": str(error)}
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    record_path.write_text(json.dumps(record, indent=1, allow_nan=True, default=str) + "\n", encoding="utf-8")
    return record
