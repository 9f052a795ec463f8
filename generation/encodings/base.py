"""The interface every encoding implements, and the vocabulary of token encodings.

An encoding turns one source item (a :class:`evaluation.Piece`, or an ABC tune for ``abc-chars``) into a
numpy array and back:

- ``fit(items)`` builds the vocabulary (token encodings) from the training items and returns ``self``;
- ``encode(item) -> np.ndarray`` (shape per encoding, documented in its module);
- ``decode(array) -> Piece`` accepts anything a model can sample (unknown or out-of-range ids, padding, a
  hold after a rest, empty frame runs) and never raises for it: it repairs or drops, and
  ``decode_with_repairs`` also returns what it repaired, counted;
- ``to_dict()`` / :func:`generation.encodings.encoding_from_dict` round-trip the encoding with its
  configuration and vocabulary (``kind`` and ``format`` inside), so a checkpoint rebuilds it alone;
- ``model_io()`` says what tensors a model reads and predicts (:class:`generation.models.io.ModelIO`), and
  ``step_window`` cuts the aligned (input, target) steps that ``generation.datasets`` turns into windows.

Token ids: 0 is padding and 1 an unknown symbol in every stream; symbols start at 2 (reserved symbols of
the encoding first, such as start/end of tune or the empty frame, then the fitted ones in a fixed order).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from evaluation import Piece, write_midi
from generation.errors import GenerationError
from generation.models.io import ModelIO
from generation.pipeline import PreprocessConfig

__all__ = ["PAD", "UNK", "Decoded", "Encoding", "EncodingConfig", "Vocabulary", "clean_ids", "first_bpm"]

PAD, UNK = 0, 1
_FIRST_SYMBOL = 2


@dataclass(frozen=True)
class Decoded:
    """A decoded piece and what the decoder repaired or dropped (name -> count; empty when nothing).

    ``text`` is the decoded text for text encodings (``abc-chars``), else None."""

    piece: Piece
    repairs: dict[str, int] = field(default_factory=dict)
    text: str | None = None

    @property
    def n_repairs(self) -> int:
        return int(sum(self.repairs.values()))


@dataclass(frozen=True)
class EncodingConfig:
    """Base of the encodings' configuration dataclasses: JSON round trip, unknown keys are errors."""

    def to_dict(self) -> dict[str, Any]:
        return {key: (list(value) if isinstance(value, tuple) else value) for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncodingConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise GenerationError(f"unknown option(s) for this encoding: {', '.join(unknown)} "
                                  f"(known: {', '.join(sorted(known))})")
        return cls(**{key: (tuple(value) if isinstance(value, list) else value) for key, value in data.items()})


class Vocabulary:
    """Symbols of one token stream: id 0 = padding, 1 = unknown, then ``symbols`` from id 2."""

    def __init__(self, symbols: Iterable[str]) -> None:
        self.symbols: tuple[str, ...] = tuple(symbols)
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError("vocabulary symbols must be unique")
        self._ids = {symbol: index + _FIRST_SYMBOL for index, symbol in enumerate(self.symbols)}

    @classmethod
    def fitted(cls, reserved: Iterable[str], seen: Iterable[str], sort_key: Callable[[str], Any] | None = None
               ) -> Vocabulary:
        """The reserved symbols, then every other symbol seen, sorted by ``sort_key`` (default: as text)."""
        reserved = tuple(reserved)
        rest = sorted(set(seen) - set(reserved), key=sort_key)
        return cls((*reserved, *rest))

    @property
    def size(self) -> int:
        """Number of ids, padding and unknown included."""
        return len(self.symbols) + _FIRST_SYMBOL

    def id(self, symbol: str) -> int:
        return self._ids.get(symbol, UNK)

    def ids(self, symbols: Iterable[str]) -> np.ndarray:
        return np.fromiter((self._ids.get(symbol, UNK) for symbol in symbols), dtype=np.int32)

    def symbol(self, token: int) -> str | None:
        """The symbol of an id, or None for padding, unknown and ids outside the vocabulary."""
        index = int(token) - _FIRST_SYMBOL
        return self.symbols[index] if 0 <= index < len(self.symbols) else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and other.symbols == self.symbols

    def __hash__(self) -> int:
        return hash(self.symbols)

    def __repr__(self) -> str:
        return f"Vocabulary({self.size} ids)"


def clean_ids(array: Any, n_streams: int, vocab_sizes: tuple[int, ...], stream_names: tuple[str, ...],
              repairs: Counter) -> np.ndarray:
    """Sampled ids as an int64 array (T, S); padding, unknown and out-of-range (or NaN) ids counted in
    ``repairs`` (out-of-range ids become 1 = unknown). Raises GenerationError for a shape that
    cannot be a sequence of this encoding (a programming error, not a sampling one)."""
    values = np.asarray(array)
    if values.ndim == 1 and n_streams == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[1] != n_streams:
        raise GenerationError(f"a sequence of this encoding has shape (steps, {n_streams}); got {values.shape}")
    if values.dtype.kind == "f":
        finite = np.isfinite(values)  # NaN and infinities count as out of range
        values = np.where(finite, np.clip(np.rint(np.where(finite, values, -1)), -1, 2**31), -1)
    elif values.dtype.kind not in "iub":
        raise GenerationError(f"token ids must be numbers, got an array of {values.dtype}")
    ids = np.array(values, dtype=np.int64)
    for stream, (name, size) in enumerate(zip(stream_names, vocab_sizes, strict=True)):
        column = ids[:, stream]
        outside = (column < 0) | (column >= size)
        for count, label in ((int(outside.sum()), "ids outside the vocabulary"),
                             (int(np.count_nonzero(column == PAD)), "padding ids"),
                             (int(np.count_nonzero(column == UNK)), "unknown-symbol ids")):
            if count:
                repairs[f"{name}: {label}"] += count
        column[outside] = UNK
    return ids


def first_bpm(tempo: float | np.ndarray) -> float:
    """The BPM of a tempo given as a number or as a ``(k, 2)`` tempo map (its first row)."""
    array = np.asarray(tempo, dtype=np.float64)
    return float(array) if array.ndim == 0 else float(array.reshape(-1, 2)[0, 1])


class Encoding(ABC):
    """Base of every encoding (see the module docstring for the workflow)."""

    kind: ClassVar[str]  # registry name, e.g. "notewise-chord"
    summary: ClassVar[str]  # one line for `python -m generation encodings`
    fidelity: ClassVar[str]  # what round trips exactly and what is lost
    source: ClassVar[str] = "midi"  # what it encodes: "midi" (pieces) or "abc" (tune text)
    format_version: ClassVar[int] = 1
    config_class: ClassVar[type[EncodingConfig]]
    option_fields: ClassVar[dict[str, str]] = {}  # command-line option name -> config field

    def __init__(self, config: EncodingConfig | None = None) -> None:
        self.config = config if config is not None else self.config_class()
        self.fitted = False

    # --- construction ------------------------------------------------------------------------------------
    @classmethod
    def from_options(cls, **options: Any) -> Encoding:
        """The encoding configured from command-line options (None = default); an option this encoding does
        not have is a GenerationError that names it."""
        given = {name: value for name, value in options.items() if value is not None}
        wrong = sorted(name for name in given if name not in cls.option_fields)
        if wrong:
            usable = ", ".join(f"--{name.replace('_', '-')}" for name in cls.option_fields) or "none"
            raise GenerationError(f"option(s) {', '.join('--' + n.replace('_', '-') for n in wrong)} do not apply "
                                  f"to {cls.kind} (its options: {usable})")
        values: dict[str, Any] = {}
        for name, value in given.items():
            target = cls.option_fields[name]
            if name == "pitch_range":
                values["low"], values["high"] = value
            else:
                values[target] = value
        try:
            return cls(cls.config_class(**values))
        except (TypeError, ValueError) as error:
            raise GenerationError(f"{cls.kind}: {error}") from None

    def declared_preprocess(self) -> PreprocessConfig:
        """The preprocessing this encoding declares (its round-trip claims hold after it)."""
        return PreprocessConfig()

    def pitch_window(self) -> tuple[int, int] | None:
        """Lowest and highest MIDI pitch the encoding represents, or None when any pitch fits."""
        return None

    def unencodable(self, item: Any) -> str | None:
        """Why ``item`` cannot be encoded (skipped with this reason), or None when it can."""
        if isinstance(item, Piece):
            window = self.pitch_window()
            if window is not None and item.n_notes:
                low, high = window
                outside = int(((item.pitch < low) | (item.pitch > high)).sum())
                if outside:
                    return (f"{outside} note(s) outside the pitch window {low}-{high} (MIDI); fold them with "
                            "--fold or widen the window with --pitch-range")
        return None

    def describe(self) -> str:
        """The configuration in one line, e.g. 'step 0.25 quarter notes, pitches 60-83'."""
        return ", ".join(f"{key} {value}" for key, value in self.config.to_dict().items())

    # --- the workflow ------------------------------------------------------------------------------------
    def fit(self, items: Iterable[Any]) -> Encoding:
        """Build the vocabulary from training items (a no-op for encodings without one); returns self."""
        self.fitted = True
        return self

    @abstractmethod
    def encode(self, item: Any) -> np.ndarray:
        """One item as an array (shape in the encoding's module docstring)."""

    @abstractmethod
    def decode_with_repairs(self, array: Any, *, tempo: float | np.ndarray = 120.0) -> Decoded:
        """An array (as encoded, or as sampled by a model) back to a piece, with what was repaired.

        ``tempo`` is a BPM or a ``(k, 2)`` tempo map for the decoded piece (beat-grid encodings place notes in
        quarter notes; frame encodings at fs place them in seconds and use the first tempo)."""

    def decode(self, array: Any, *, tempo: float | np.ndarray = 120.0) -> Piece:
        """:meth:`decode_with_repairs` without the repair counts."""
        return self.decode_with_repairs(array, tempo=tempo).piece

    def write_midi(self, array: Any, path: str | Path, *, tempo: float | np.ndarray = 120.0) -> Decoded:
        """Decode ``array`` and write the piece with :func:`evaluation.write_midi`; returns what was decoded."""
        decoded = self.decode_with_repairs(array, tempo=tempo)
        write_midi(dataclasses.replace(decoded.piece, path=str(path)), path)
        return decoded

    @abstractmethod
    def model_io(self) -> ModelIO:
        """The tensors a model of this encoding reads and predicts."""

    def unknown_count(self, array: np.ndarray) -> int:
        """How many entries of an encoded array are the unknown symbol (0 for encodings without one)."""
        return 0

    # --- windows -----------------------------------------------------------------------------------------
    def n_steps(self, array: np.ndarray) -> int:
        """Prediction steps of an encoded sequence: step t reads the input of t (and before) and predicts
        the target of t. Default: next-element prediction, so one fewer than the sequence length."""
        return max(len(array) - 1, 0)

    def step_window(self, array: np.ndarray, start: int, length: int) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets of prediction steps ``start .. start + length - 1`` (within ``n_steps``).

        Default (next-element prediction): inputs ``array[start:start+length]``, targets the same slice
        shifted by one."""
        return array[start:start + length], array[start + 1:start + length + 1]

    # --- serialisation -----------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """What ``fit`` learnt, JSON-ready (default: nothing)."""
        return {}

    def load_state(self, state: dict[str, Any]) -> None:  # noqa: B027  (optional hook: nothing to restore)
        """Restore what :meth:`state` returned."""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "format": self.format_version, "config": self.config.to_dict(),
                "fitted": self.fitted, "state": self.state()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Encoding:
        if data.get("kind") != cls.kind:
            raise GenerationError(f"this is a {data.get('kind')!r} encoding, not {cls.kind!r}")
        version = int(data.get("format", 0))
        if version > cls.format_version:
            raise GenerationError(f"{cls.kind} encoding format {version} is newer than this tunelab reads "
                                  f"({cls.format_version}); update tunelab")
        encoding = cls(cls.config_class.from_dict(data.get("config", {})))
        encoding.load_state(data.get("state", {}))
        encoding.fitted = bool(data.get("fitted", False))
        return encoding
