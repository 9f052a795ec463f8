"""Token encodings: an item becomes rows of symbols (one per stream), each stream with its own vocabulary.

Arrays are int32 of shape (T, S): T steps, S streams (ids per :mod:`generation.encodings.base`). A subclass
says which streams it has, turns an item into symbol rows (:meth:`TokenEncoding.symbols`) and symbol rows
back into a piece (:meth:`TokenEncoding.piece_from_rows`, where an id that is padding, unknown or outside
the vocabulary arrives as None).
"""

from __future__ import annotations

from abc import abstractmethod
from collections import Counter
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from generation.encodings.base import UNK, Decoded, Encoding, Vocabulary, clean_ids
from generation.errors import GenerationError
from generation.models.io import ModelIO

__all__ = ["Row", "TokenEncoding"]

Row = tuple[str | None, ...]


class TokenEncoding(Encoding):
    """An encoding into S parallel token streams."""

    streams: ClassVar[tuple[str, ...]] = ("token",)

    def __init__(self, config=None) -> None:
        super().__init__(config)
        self.vocabularies: dict[str, Vocabulary] = {name: Vocabulary(self.reserved(name)) for name in self.streams}

    # --- what a subclass provides -------------------------------------------------------------------------
    def reserved(self, stream: str) -> tuple[str, ...]:
        """Symbols of a stream that are always in the vocabulary (first, after padding and unknown)."""
        return ()

    def sort_key(self, stream: str, symbol: str) -> Any:
        """Order of the fitted symbols of a stream (default: as text)."""
        return symbol

    @abstractmethod
    def symbols(self, item: Any) -> list[tuple[str, ...]]:
        """The item as symbol rows, one tuple of S symbols per step."""

    @abstractmethod
    def piece_from_rows(self, rows: list[Row], repairs: Counter, tempo: float | np.ndarray):
        """Symbol rows (None where the id was padding, unknown or out of range) back to a piece; counts what
        it repairs in ``repairs``. Returns a Piece, or a Decoded for encodings that also give text."""

    # --- the workflow --------------------------------------------------------------------------------------
    def fit(self, items: Iterable[Any]) -> TokenEncoding:
        seen: list[set[str]] = [set() for _ in self.streams]
        for item in items:
            for row in self.symbols(item):
                for index, symbol in enumerate(row):
                    seen[index].add(symbol)
        self.vocabularies = {
            name: Vocabulary.fitted(self.reserved(name), seen[index],
                                    sort_key=lambda symbol, name=name: self.sort_key(name, symbol))
            for index, name in enumerate(self.streams)}
        self.fitted = True
        return self

    def encode(self, item: Any) -> np.ndarray:
        rows = self.symbols(item)
        out = np.zeros((len(rows), len(self.streams)), dtype=np.int32)
        for index, name in enumerate(self.streams):
            out[:, index] = self.vocabularies[name].ids(row[index] for row in rows)
        return out

    def decode_with_repairs(self, array: Any, *, tempo: float | np.ndarray = 120.0) -> Decoded:
        repairs: Counter = Counter()
        ids = clean_ids(array, len(self.streams), self.vocab_sizes, self.streams, repairs)
        vocabularies = [self.vocabularies[name] for name in self.streams]
        rows = [tuple(vocabulary.symbol(token) for vocabulary, token in zip(vocabularies, row, strict=True))
                for row in ids.tolist()]
        result = self.piece_from_rows(rows, repairs, tempo)
        if isinstance(result, Decoded):
            return Decoded(result.piece, {**dict(repairs), **result.repairs}, result.text)
        return Decoded(result, dict(repairs))

    @property
    def vocab_sizes(self) -> tuple[int, ...]:
        return tuple(self.vocabularies[name].size for name in self.streams)

    def model_io(self) -> ModelIO:
        return ModelIO("tokens", vocab_sizes=self.vocab_sizes, stream_names=self.streams)

    def unknown_count(self, array: np.ndarray) -> int:
        return int(np.count_nonzero(np.asarray(array) == UNK))

    # --- serialisation -------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"vocabularies": {name: list(vocabulary.symbols) for name, vocabulary in self.vocabularies.items()}}

    def load_state(self, state: dict[str, Any]) -> None:
        vocabularies = state.get("vocabularies")
        if vocabularies is None:
            return
        missing = [name for name in self.streams if name not in vocabularies]
        if missing:
            raise GenerationError(f"{self.kind} encoding lacks the vocabulary of stream(s) {', '.join(missing)}")
        self.vocabularies = {name: Vocabulary(vocabularies[name]) for name in self.streams}

