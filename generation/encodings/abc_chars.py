"""``abc-chars``: an ABC tune's text as characters, between start- and end-of-tune symbols (as folk-rnn,
Sturm et al. 2016, reads tunes token by token until the end of the tune).

Items are :class:`generation.abc.AbcTune`; the text encoded is the tune's normal form
(:func:`generation.abc.normalise_tune`: no title, reference number, comments or lyrics). Array: int32
(T, 1): ``<s>``, one id per character, ``</s>``. Decoding joins the characters up to the first ``</s>`` and
reads them with music21 (:func:`generation.abc.abc_to_piece`); text music21 cannot parse decodes to an
empty piece and is counted. ``Decoded.text`` holds the text.

Lossless on the normal form (the character round trip is exact); the normal form drops only fields that
do not change the music, which ``python -m generation roundtrip`` checks against the corpus's MIDI.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from evaluation import piece_from_notes
from generation.abc import AbcTune, abc_to_piece, normalise_tune
from generation.encodings.base import Decoded, EncodingConfig
from generation.encodings.tokens import Row, TokenEncoding
from generation.errors import GenerationError

__all__ = ["END", "START", "AbcChars", "AbcCharsConfig"]

START, END = "<s>", "</s>"


@dataclass(frozen=True)
class AbcCharsConfig(EncodingConfig):
    """abc-chars has no options; the class keeps the configuration interface of every encoding."""


class AbcChars(TokenEncoding):
    kind = "abc-chars"
    summary = "ABC tune text as characters with start/end-of-tune symbols, decoded through music21"
    fidelity = "lossless on the tune's normal form (musical fields and body; title, comments, lyrics dropped)"
    source = "abc"
    config_class = AbcCharsConfig

    def reserved(self, stream: str) -> tuple[str, ...]:
        return (START, END)

    def sort_key(self, stream: str, symbol: str) -> Any:
        return symbol

    def describe(self) -> str:
        return "characters of the normalised tune"

    @staticmethod
    def text_of(item: AbcTune | str) -> str:
        return normalise_tune(item.text if isinstance(item, AbcTune) else str(item))

    def unencodable(self, item: AbcTune | str) -> str | None:
        return None if self.text_of(item).strip() else "the tune has no music (only fields or comments)"

    def symbols(self, item: AbcTune | str) -> list[tuple[str, ...]]:
        return [(START,), *((char,) for char in self.text_of(item)), (END,)]

    def piece_from_rows(self, rows: list[Row], repairs: Counter, tempo: float | np.ndarray) -> Decoded:
        chars = []
        for index, (symbol,) in enumerate(rows):
            if symbol == START:
                if index:
                    repairs["start-of-tune symbols inside the tune dropped"] += 1
                continue
            if symbol == END:
                if index + 1 < len(rows):
                    repairs["symbols after the end of the tune dropped"] += len(rows) - index - 1
                break
            if symbol is not None:  # unusable ids are counted already
                chars.append(symbol)
        text = "".join(chars)
        try:
            piece = abc_to_piece(text, "<decoded abc>")
        except GenerationError:
            repairs["ABC text that music21 cannot parse (decoded as an empty piece)"] += 1
            piece = piece_from_notes([], [], [])
        return Decoded(piece, {}, text)
