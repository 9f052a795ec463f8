"""Experiment configurations: the source reports' comparisons, one TOML file each under ``experiments/``.

An experiment trains several *variants* (each a set of :class:`generation.config.TrainConfig` fields) on one
or more corpora, each with several seeds, then scores every run (:mod:`generation.experiments_run`) and
takes its section in one HTML report (:mod:`generation.experiments_report`). A file holds::

    title = "..."                  # the section heading
    question = "..."               # what the comparison asks, in a sentence
    source = "..."                 # where the comparison comes from
    order = 1                      # place in the report
    kind = "variants"              # "variants" (train and score) or "ranking" (collect the other results)
    corpora = ["bach-chorales"]    # names of data.CORPORA (built on first use) or folders
    columns = ["val_accuracy", ...]   # run figures shown per variant (mean and t-interval over seeds)
    figures = ["loss_curves"]     # loss_curves, seconds_per_epoch, activations, benchmark, grid
    notes = ["..."]                # sentences printed under the section
    [[rank]]                       # rankings of the variants (generation.ranking), one per metric
    metric = "val_accuracy"
    higher_is_better = true
    variants = ["a", "b"]          # optional: rank only these variants
    [train]                        # TrainConfig fields common to every variant
    [sample]                       # SampleConfig fields of the samples that are scored
    [[variants]]                   # name plus TrainConfig fields; a [variants.sample] table overrides [sample]
    name = "lstm"
    arch = "lstm"
    [grid]                         # instead of (or beside) [[variants]]: every combination is a variant
    hidden = [64, 256, 512]
    [sizes.quick] / [sizes.full]   # seeds, build_limit, limit, and [sizes.X.train] / [sizes.X.sample] /
                                   # [sizes.X.grid] overrides

Precedence of training fields, lowest first: TrainConfig defaults, ``[train]``, the variant's own fields,
``[sizes.X.train]`` (a size scales every variant, e.g. the quick size's small hidden layers; it must not set
what tells the variants apart). An unknown key anywhere is an error naming the file and the key.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from generation.config import SampleConfig, TrainConfig
from generation.errors import GenerationError

__all__ = ["EXPERIMENTS_DIR", "SIZES", "Experiment", "RankSpec", "SizeSettings", "Variant", "experiment_names",
           "load_experiment"]

EXPERIMENTS_DIR = Path(__file__).resolve().parents[1] / "experiments"
SIZES = ("quick", "full")
KINDS = ("variants", "ranking")
FIGURES = ("loss_curves", "seconds_per_epoch", "activations", "benchmark", "grid")
_TOP_KEYS = {"title", "question", "source", "order", "kind", "corpora", "columns", "figures", "notes", "rank",
             "train", "sample", "variants", "grid", "sizes"}
_SIZE_KEYS = {"seeds", "build_limit", "limit", "train", "sample", "grid"}


@dataclass(frozen=True)
class RankSpec:
    """A ranking of the variants on one run figure (a key of a run record's ``metrics``)."""

    metric: str
    higher_is_better: bool = True
    label: str = ""
    variants: tuple[str, ...] = ()  # rank only these (e.g. the variants of one encoding); empty = all


@dataclass(frozen=True)
class Variant:
    """One compared setting: its name, its TrainConfig fields and its SampleConfig overrides."""

    name: str
    train: dict[str, Any] = field(default_factory=dict)
    sample: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SizeSettings:
    """How big a run of the experiment is: seeds per variant, corpus build limit (pieces built, per corpus
    name; None = the whole corpus), pieces per split read (None = all), and field overrides."""

    seeds: int = 1
    build_limit: dict[str, int | None] = field(default_factory=dict)
    limit: int | None = None
    train: dict[str, Any] = field(default_factory=dict)
    sample: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """An experiment file, read and checked (see the module docstring)."""

    name: str
    path: Path
    title: str
    question: str
    source: str
    order: int
    kind: str
    corpora: tuple[str, ...]
    columns: tuple[str, ...]
    figures: tuple[str, ...]
    notes: tuple[str, ...]
    ranks: tuple[RankSpec, ...]
    train: dict[str, Any]
    sample: dict[str, Any]
    variants: tuple[Variant, ...]
    grid: dict[str, list[Any]]
    sizes: dict[str, SizeSettings]

    def size(self, name: str) -> SizeSettings:
        if name not in self.sizes:
            raise GenerationError(f"{self.path}: no [sizes.{name}] table (sizes: {', '.join(self.sizes)})")
        return self.sizes[name]

    def variants_for(self, size: str) -> list[Variant]:
        """The explicit variants, then one per point of the grid (the size's grid values win)."""
        grid = {**self.grid, **self.size(size).grid}
        out = list(self.variants)
        if grid:
            from generation.sweep import SweepPoint  # noqa: PLC0415

            keys = list(grid)
            combos = [[]]
            for key in keys:
                combos = [combo + [value] for combo in combos for value in grid[key]]
            for combo in combos:
                point = SweepPoint({key: _grid_text(value) for key, value in zip(keys, combo, strict=True)})
                out.append(Variant(point.name, dict(zip(keys, combo, strict=True))))
        return out

    def train_config(self, size: str, variant: Variant, seed: int) -> TrainConfig:
        """TrainConfig of one run: defaults < [train] < the variant's fields < [sizes.X.train]; the seed."""
        data = TrainConfig().to_dict()
        for layer in (self.train, variant.train, self.size(size).train):
            for key, value in layer.items():
                data[key] = {**data[key], **value} if isinstance(value, dict) else value
        data["seed"] = seed
        return TrainConfig.from_dict(data, f"{self.path} (variant {variant.name}, size {size})")

    def sample_config(self, size: str, variant: Variant, seed: int) -> SampleConfig:
        data = {**SampleConfig().to_dict(), **self.sample, **variant.sample, **self.size(size).sample, "seed": seed}
        return SampleConfig.from_dict(data, f"{self.path} (variant {variant.name} sample, size {size})")


def _grid_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value == math.floor(value):
        return f"{value:g}"
    return str(value)


def experiment_names(folder: Path = EXPERIMENTS_DIR) -> list[str]:
    """The experiments in ``folder``, in report order (their ``order`` key; files are not checked here)."""
    found = []
    for path in sorted(Path(folder).glob("*.toml")):
        try:
            order = tomllib.loads(path.read_text(encoding="utf-8")).get("order", 99)
        except tomllib.TOMLDecodeError as error:
            raise GenerationError(f"{path}: not valid TOML ({error})") from None
        found.append((order, path.stem))
    return [name for _, name in sorted(found)]


def _check_keys(data: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise GenerationError(f"{where}: unknown key {unknown[0]!r} (known keys: {', '.join(sorted(known))})")


def _check_fields(data: dict[str, Any], cls: type, where: str, extra: set[str] = frozenset()) -> None:
    _check_keys(data, {f.name for f in fields(cls)} | set(extra), where)


def _size(data: dict[str, Any], where: str) -> SizeSettings:
    _check_keys(data, _SIZE_KEYS, where)
    seeds = data.get("seeds", 1)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise GenerationError(f"{where}: seeds must be a whole number >= 1, not {seeds!r}")
    limit = data.get("limit")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise GenerationError(f"{where}: limit must be a whole number of pieces per split >= 1, not {limit!r}")
    build = data.get("build_limit", {})
    if not isinstance(build, dict) or any(v is not None and (not isinstance(v, int) or v < 1)
                                          for v in build.values()):
        raise GenerationError(f"{where}: build_limit is a table of corpus name = pieces to build (>= 1)")
    _check_fields(data.get("train", {}), TrainConfig, f"{where}.train")
    _check_fields(data.get("sample", {}), SampleConfig, f"{where}.sample")
    return SizeSettings(seeds=seeds, build_limit=dict(build), limit=limit, train=dict(data.get("train", {})),
                        sample=dict(data.get("sample", {})), grid=dict(data.get("grid", {})))


def load_experiment(name: str, folder: Path = EXPERIMENTS_DIR) -> Experiment:
    """Read ``folder/NAME.toml`` and check every key, every variant's TrainConfig and SampleConfig, and that
    both sizes exist. Raises GenerationError naming the file and the problem."""
    folder = Path(folder)
    path = folder / f"{name}.toml"
    if not path.is_file():
        names = ", ".join(p.stem for p in sorted(folder.glob("*.toml"))) or "none"
        raise GenerationError(f"unknown experiment {name!r} (experiments in {folder}: {names})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise GenerationError(f"{path}: not valid TOML ({error})") from None
    _check_keys(data, _TOP_KEYS, str(path))
    kind = data.get("kind", "variants")
    if kind not in KINDS:
        raise GenerationError(f"{path}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    figures = tuple(data.get("figures", ()))
    bad = [f for f in figures if f not in FIGURES]
    if bad:
        raise GenerationError(f"{path}: unknown figure {bad[0]!r} (figures: {', '.join(FIGURES)})")
    ranks = []
    for entry in data.get("rank", []):
        _check_keys(entry, {"metric", "higher_is_better", "label", "variants"}, f"{path} [[rank]]")
        if "metric" not in entry:
            raise GenerationError(f"{path}: every [[rank]] entry needs a metric")
        ranks.append(RankSpec(str(entry["metric"]), bool(entry.get("higher_is_better", True)),
                              str(entry.get("label", "")), tuple(str(v) for v in entry.get("variants", ()))))
    _check_fields(data.get("train", {}), TrainConfig, f"{path} [train]")
    _check_fields(data.get("sample", {}), SampleConfig, f"{path} [sample]")
    variants = []
    for entry in data.get("variants", []):
        entry = dict(entry)
        if "name" not in entry:
            raise GenerationError(f"{path}: every [[variants]] entry needs a name")
        variant_name, sample = str(entry.pop("name")), dict(entry.pop("sample", {}))
        _check_fields(entry, TrainConfig, f"{path} variant {variant_name}")
        _check_fields(sample, SampleConfig, f"{path} variant {variant_name} sample")
        variants.append(Variant(variant_name, entry, sample))
    grid = dict(data.get("grid", {}))
    _check_fields(grid, TrainConfig, f"{path} [grid]")
    sizes_data = data.get("sizes", {})
    _check_keys(sizes_data, set(SIZES), f"{path} [sizes]")
    sizes = {size: _size(sizes_data.get(size, {}), f"{path} [sizes.{size}]") for size in SIZES}
    for size in sizes.values():
        _check_fields(size.grid, TrainConfig, f"{path} size grid")
    corpora = tuple(str(c) for c in data.get("corpora", ()))
    experiment = Experiment(
        name=name, path=path, title=str(data.get("title", name)), question=str(data.get("question", "")),
        source=str(data.get("source", "")), order=int(data.get("order", 99)), kind=kind, corpora=corpora,
        columns=tuple(data.get("columns", ())), figures=figures, notes=tuple(data.get("notes", ())),
        ranks=tuple(ranks), train=dict(data.get("train", {})), sample=dict(data.get("sample", {})),
        variants=tuple(variants), grid=grid, sizes=sizes)
    if kind == "variants":
        if not corpora:
            raise GenerationError(f"{path}: give the corpora the variants train on (corpora = [...])")
        for size in SIZES:
            chosen = experiment.variants_for(size)
            if not chosen:
                raise GenerationError(f"{path}: no variants (give [[variants]] or a [grid])")
            names = [v.name for v in chosen]
            if len(set(names)) != len(names):
                raise GenerationError(f"{path}: variant names repeat: {names}")
            for rank in experiment.ranks:
                missing = sorted(set(rank.variants) - set(names))
                if missing:
                    raise GenerationError(f"{path}: [[rank]] {rank.metric} names unknown variant {missing[0]!r} "
                                          f"(variants: {', '.join(names)})")
            for variant in chosen:  # every run's config is valid before anything trains
                experiment.train_config(size, variant, 0)
                experiment.sample_config(size, variant, 0)
    return experiment
