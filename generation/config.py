"""Training and sampling settings: frozen dataclasses, TOML files, command-line flags and presets.

Precedence, lowest first: the dataclass defaults, a preset (``--preset NAME``, a TOML file under
``generation/presets/``), a config file (``--config FILE.toml``), then the flags given explicitly on the
command line. Every field is a flag (``batch_size`` -> ``--batch-size``; booleans also ``--no-NAME``; tuples
as ``300,300``; ``encoding_options`` as repeated ``--encoding-option KEY=VALUE``). An unknown key in a file
is an error that names the key and the file.
"""

from __future__ import annotations

import argparse
import json
import math
import tomllib
import types
import typing
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from generation.errors import GenerationError

PRESET_DIR = Path(__file__).resolve().parent / "presets"
# the names of generation.models.ARCHITECTURES (kept here so reading a config does not import torch)
ARCHITECTURE_NAMES = ("lstm", "stacked", "rnn", "bilstm", "cnn-lstm", "hybrid", "biaxial", "transformer")


def _f(default: Any, help: str, **kwargs: Any) -> Any:  # noqa: A002 - the argparse word
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata={"help": help, **kwargs})
    return field(default=default, metadata={"help": help, **kwargs})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (saved in every checkpoint)."""

    # what is trained on what
    arch: str = _f("lstm", "architecture (python -m generation presets lists ready-made settings)",
                   choices=ARCHITECTURE_NAMES)
    encoding: str = _f("notewise-chord", "encoding the corpus is prepared with (python -m generation encodings)")
    encoding_options: dict[str, Any] = _f({}, "options of the encoding, KEY=VALUE (e.g. step=1.0 low=21 high=108)")
    mode: Literal["many-to-one", "many-to-many"] = _f(
        "many-to-one", "windows: many-to-one (a window -> the next step) or many-to-many (the shifted sequence)")
    window: int = _f(64, "steps per training window (also the attention span and the transformer's context)")
    stride: int = _f(0, "steps between window starts; 0 = 1 for many-to-one, the window for many-to-many")
    # model size
    hidden: int = _f(256, "units per recurrent layer (transformer: model width)")
    layers: int = _f(3, "recurrent layers (stacked, rnn, bilstm, cnn-lstm, hybrid) or transformer blocks; lstm = 1")
    keep: float = _f(0.8, "share of units kept by dropout (dropout = 1 - keep; the reports' convention); 1 = off")
    recurrent_keep: float = _f(1.0, "share of hidden-to-hidden weights kept (DropConnect stand-in for recurrent "
                                    "dropout, AWD-LSTM); 1 = off")
    attention: bool = _f(False, "soft attention over the recurrent outputs (Luong general, causal, window-long)")
    embedding_dim: int = _f(64, "embedding size of each token stream")
    embedding_combine: Literal["concat", "sum"] = _f("concat", "how stream embeddings combine: concat or sum")
    heads: int = _f(4, "transformer attention heads")
    conv_filters: int = _f(512, "cnn-lstm / hybrid: Conv1D filters")
    conv_kernel: int = _f(5, "cnn-lstm / hybrid: Conv1D kernel width (steps)")
    pool: int = _f(2, "cnn-lstm / hybrid: MaxPool1D size (steps)")
    dense_units: int = _f(64, "hybrid: units of the time-distributed dense layer")
    time_hidden: tuple[int, ...] = _f((300, 300), "biaxial: time-axis LSTM sizes")
    note_hidden: tuple[int, ...] = _f((100, 50), "biaxial: note-axis LSTM sizes")
    # optimisation
    batch_size: int = _f(64, "windows per batch (per process under torchrun)")
    learning_rate: float = _f(1e-3, "Adam learning rate")
    weight_decay: float = _f(0.0, "Adam L2 weight decay")
    epochs: int = _f(20, "maximum epochs")
    patience: int = _f(5, "early stopping: epochs without a better validation loss before stopping; 0 = never")
    clip_grad: float = _f(5.0, "clip the gradient's global L2 norm to this; 0 = no clipping")
    scheduler: Literal["none", "plateau", "exponential"] = _f(
        "none", "learning-rate schedule: none, plateau (halve when validation stalls), exponential")
    lr_decay: float = _f(0.97, "exponential: factor per epoch; plateau: factor on a stall")
    lr_decay_after: int = _f(0, "exponential: epochs before the decay starts (folk-rnn: 20)")
    max_batches: int = _f(0, "cap on training batches per epoch (quick runs); 0 = the whole split")
    max_minutes: float = _f(0.0, "time budget in minutes of this call: training stops once it is spent (in one "
                                 "process mid-epoch, then validates and saves; under torchrun after the epoch); "
                                 "0 = no limit")
    # machinery
    seed: int = _f(0, "seed of initialisation, shuffling and dropout")
    device: Literal["auto", "cpu", "cuda"] = _f("auto", "auto (CUDA when present), cpu or cuda")
    amp: bool = _f(True, "automatic mixed precision on CUDA (always fp32 on CPU)")
    workers: int = _f(0, "DataLoader worker processes")

    def __post_init__(self) -> None:
        _check_choices(self)
        positive = ("window", "hidden", "layers", "embedding_dim", "heads", "conv_filters", "conv_kernel", "pool",
                    "dense_units", "batch_size", "epochs")
        for name in positive:
            if getattr(self, name) < 1:
                raise GenerationError(f"{name} must be at least 1, not {getattr(self, name)}")
        for name in ("keep", "recurrent_keep"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise GenerationError(f"{name} is the share of units kept: it must be in (0, 1], not "
                                      f"{getattr(self, name)}")
        if not self.learning_rate > 0:
            raise GenerationError(f"learning_rate must be positive, not {self.learning_rate}")
        for name in ("patience", "max_batches", "workers", "lr_decay_after", "stride"):
            if getattr(self, name) < 0:
                raise GenerationError(f"{name} must be >= 0, not {getattr(self, name)}")
        if self.clip_grad < 0 or self.weight_decay < 0 or self.max_minutes < 0:
            raise GenerationError("clip_grad, weight_decay and max_minutes must be >= 0")
        if not self.time_hidden or not self.note_hidden or min(self.time_hidden + self.note_hidden) < 1:
            raise GenerationError("time_hidden and note_hidden need at least one positive size each")

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> TrainConfig:
        return _from_dict(cls, data, source)


@dataclass(frozen=True)
class SampleConfig:
    """How samples are drawn from a trained model."""

    n: int = _f(10, "number of samples")
    steps: int = _f(512, "steps to generate per sample (after the primer)")
    temperature: float = _f(1.0, "softmax / sigmoid temperature of every head; near 0 = argmax")
    temperatures: tuple[float, ...] = _f((), "one temperature per token stream in stream order (e.g. pitch, "
                                             "duration: 0.8,1.0); empty = --temperature for all")
    top_k: int = _f(0, "draw only among the k most likely tokens; 0 = all")
    top_p: float = _f(1.0, "nucleus sampling: the smallest set of tokens with probability >= p; 1 = all")
    threshold: float | None = _f(None, "multi-hot / biaxial: a key sounds when its probability exceeds this "
                                       "(the reports used 0.3); none = draw each key")
    seed: int = _f(0, "seed of the sampler's generator")
    batch_size: int = _f(64, "samples drawn at once")
    stop_at_end: bool = _f(True, "stop a sample at the encoding's end token")
    keep_primer: bool = _f(True, "decode the primer with the generated steps")
    tempo: float = _f(120.0, "tempo of the written MIDI in quarter notes per minute")
    device: Literal["auto", "cpu", "cuda"] = _f("auto", "auto (CUDA when present), cpu or cuda")

    def __post_init__(self) -> None:
        _check_choices(self)
        if self.n < 1 or self.steps < 1 or self.batch_size < 1:
            raise GenerationError("n, steps and batch_size must be at least 1")
        if self.temperature < 0 or any(t < 0 for t in self.temperatures):
            raise GenerationError("temperatures must be >= 0 (near 0 = argmax)")
        if self.top_k < 0 or not 0.0 < self.top_p <= 1.0:
            raise GenerationError(f"top_k must be >= 0 and top_p in (0, 1], not {self.top_k}, {self.top_p}")
        if self.threshold is not None and not 0.0 <= self.threshold < 1.0:
            raise GenerationError(f"threshold must be in [0, 1), not {self.threshold}")
        if not 1.0 <= self.tempo <= 1000.0:
            raise GenerationError(f"tempo must be 1-1000 quarter notes per minute, not {self.tempo}")

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> SampleConfig:
        return _from_dict(cls, data, source)


AnyConfig = TrainConfig | SampleConfig


# ---------------------------------------------------------------- types, dicts and TOML


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _check_choices(config: Any) -> None:
    for f in fields(config):
        choices = f.metadata.get("choices")
        if choices and getattr(config, f.name) not in choices:
            raise GenerationError(f"{f.name} must be one of {', '.join(choices)}, not {getattr(config, f.name)!r}")
        hint = _hints(type(config))[f.name]
        if typing.get_origin(hint) is Literal and getattr(config, f.name) not in typing.get_args(hint):
            raise GenerationError(f"{f.name} must be one of {', '.join(map(str, typing.get_args(hint)))}, not "
                                  f"{getattr(config, f.name)!r}")


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, tuple) else value for key, value in data.items()}


def _coerce(hint: Any, value: Any, name: str, source: str) -> Any:
    """``value`` read from a file or a dict as the field's type, or a GenerationError naming the key."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    bad = GenerationError(f"{source}: {name} = {value!r} is not a valid {_type_name(hint)}")
    if hint is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        return float(value)
    if hint is str or origin is Literal:
        if not isinstance(value, str):
            raise bad
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise bad
        return tuple(_coerce(args[0], item, name, source) for item in value)
    if origin is dict:
        if not isinstance(value, dict):
            raise bad
        return dict(value)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        if value is None:
            return None
        inner = next(a for a in args if a is not type(None))
        return _coerce(inner, value, name, source)
    raise TypeError(f"no coercion for {hint}")  # a programming error: a field type this module does not know


def _type_name(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return "choice of " + ", ".join(map(str, args))
    if origin is tuple:
        return f"list of {args[0].__name__}"
    if origin is dict:
        return "table"
    if type(None) in args:
        return f"{next(a for a in args if a is not type(None)).__name__} or none"
    return getattr(hint, "__name__", str(hint))


def _from_dict(cls: type, data: dict[str, Any], source: str) -> Any:
    hints = _hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = [key for key in data if key not in known]
    if unknown:
        raise GenerationError(f"{source}: unknown key {unknown[0]!r} (known keys: {', '.join(sorted(known))})")
    values = {key: _coerce(hints[key], value, key, source) for key, value in data.items()}
    try:
        return cls(**values)
    except GenerationError as error:
        raise GenerationError(f"{source}: {error}") from None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise GenerationError(f"cannot write {value!r} to a config file (values are numbers, strings, booleans or "
                          "lists of them)")


def _toml_key(key: str) -> str:
    """A bare TOML key when it can be one (letters, digits, _ and -), else a quoted one."""
    return key if key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key) else json.dumps(key)


def dumps_toml(data: dict[str, Any]) -> str:
    """A flat dict (scalars, lists of scalars, one level of tables) as TOML; ``None`` values are left out."""
    lines, tables = [], []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for name, table in tables:
        lines.append(f"\n[{name}]")
        lines.extend(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in table.items() if v is not None)
    return "\n".join(lines) + "\n"


def read_toml(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise GenerationError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as error:
        raise GenerationError(f"{path}: not valid TOML ({error})") from None


def save_config(config: AnyConfig, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_toml(config.to_dict()), encoding="utf-8")
    return path


def load_config(path: Path | str, cls: type = TrainConfig, base: AnyConfig | None = None) -> Any:
    """A config from a TOML file; keys the file leaves out keep the values of ``base`` (or the defaults)."""
    data = read_toml(path)
    start = (base or cls()).to_dict()
    for key, value in data.items():  # tables (encoding_options) merge over the base's entries
        start[key] = {**start[key], **value} if isinstance(value, dict) and isinstance(start.get(key), dict) else value
    return _from_dict(cls, start, str(path))


# ---------------------------------------------------------------- presets


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    values: dict[str, Any]


def list_presets(folder: Path = PRESET_DIR) -> list[Preset]:
    """Every preset (one TOML file each, with a ``description`` key beside TrainConfig fields), by name."""
    return [load_preset(path.stem, folder) for path in sorted(folder.glob("*.toml"))]


def load_preset(name: str, folder: Path = PRESET_DIR) -> Preset:
    path = folder / f"{name}.toml"
    if not path.is_file():
        names = ", ".join(p.stem for p in sorted(folder.glob("*.toml")))
        raise GenerationError(f"unknown preset {name!r}; presets: {names}")
    data = read_toml(path)
    description = str(data.pop("description", ""))
    TrainConfig.from_dict({**TrainConfig().to_dict(), **data}, str(path))  # validate now
    return Preset(name=name, description=description, values=data)


# ---------------------------------------------------------------- command-line flags


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _parse_tuple(kind: type) -> Any:
    def parse(text: str) -> tuple:
        try:
            return tuple(kind(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of {kind.__name__}") from None
    return parse


def _parse_optional_float(text: str) -> float | None:
    if text.lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or 'none'") from None


def _parse_option(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is a string
    return key.strip(), value


def add_config_flags(parser: argparse.ArgumentParser, cls: type = TrainConfig, skip: tuple[str, ...] = ()) -> None:
    """Add one flag per field of ``cls`` to ``parser``; flags left out of a command line stay out of the
    namespace (``argparse.SUPPRESS``), so ``apply_flags`` can tell an explicit flag from a default."""
    hints, defaults = _hints(cls), cls()
    group = parser.add_argument_group(f"{cls.__name__} fields (also keys of --config FILE.toml)")
    for f in fields(cls):
        if f.name in skip:
            continue
        hint, default = hints[f.name], getattr(defaults, f.name)
        help_text = f"{f.metadata.get('help', '')} (default: {_show(default)})"
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        common = {"dest": f.name, "default": argparse.SUPPRESS, "help": help_text}
        if hint is bool:
            group.add_argument(_flag(f.name), action=argparse.BooleanOptionalAction, **common)
        elif f.metadata.get("choices"):
            group.add_argument(_flag(f.name), choices=list(f.metadata["choices"]), **common)
        elif origin is Literal:
            group.add_argument(_flag(f.name), choices=list(args), **common)
        elif origin is tuple:
            group.add_argument(_flag(f.name), type=_parse_tuple(args[0]), metavar="A,B,...", **common)
        elif origin is dict:
            group.add_argument("--" + f.name.replace("_", "-").removesuffix("s"), type=_parse_option,
                               action="append", metavar="KEY=VALUE", **common)
        elif type(None) in args:
            group.add_argument(_flag(f.name), type=_parse_optional_float, **common)
        else:
            group.add_argument(_flag(f.name), type=hint, **common)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items()) or "none"
    return str(value).lower() if isinstance(value, bool) or value is None else str(value)


def explicit_flags(args: argparse.Namespace, cls: type = TrainConfig) -> dict[str, Any]:
    """The fields of ``cls`` given explicitly on the command line."""
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in vars(args).items() if key in names}


def apply_flags(config: AnyConfig, args: argparse.Namespace) -> Any:
    """``config`` with the fields given explicitly in ``args`` replaced (``encoding_options`` merged)."""
    given = explicit_flags(args, type(config))
    if "encoding_options" in given:
        given["encoding_options"] = {**config.encoding_options, **dict(given["encoding_options"])}
    return replace(config, **given)


def resolve_config(cls: type = TrainConfig, *, preset: str | None = None, config_file: Path | str | None = None,
                   args: argparse.Namespace | None = None, base: AnyConfig | None = None) -> Any:
    """Defaults (or ``base``, e.g. the saved config of a run being resumed) < preset < config file < explicit
    flags (presets are training settings only)."""
    config = base if base is not None else cls()
    if preset and cls is not TrainConfig:
        raise GenerationError("presets hold training settings; sampling settings come from flags or --config")
    if preset:
        values = load_preset(preset).values
        config = _from_dict(cls, {**config.to_dict(), **values}, f"preset {preset}")
    if config_file:
        config = load_config(config_file, cls, base=config)
    if args is not None:
        config = apply_flags(config, args)
    return config
