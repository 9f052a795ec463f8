"""The contract between encodings/datasets and models: what a model reads and what it predicts.

An encoding describes its tensors with :class:`ModelIO`; ``generation.datasets`` yields batches as dicts of
tensors in these shapes (B = batch, T = time steps):

- ``input_kind="tokens"``: ``inputs`` LongTensor (B, T, S) with S = ``len(vocab_sizes)`` streams (1 for
  single-stream encodings, 2 = [pitch token, duration token] for the notewise ones); ``targets`` LongTensor
  (B, S) for many-to-one windows or (B, T, S) for many-to-many.
- ``input_kind="multihot"``: ``inputs`` FloatTensor (B, T, P) of 0/1 with P = ``n_pitches``; ``targets``
  FloatTensor (B, P) or (B, T, P).
- ``input_kind="biaxial"``: ``inputs`` FloatTensor (B, T, P, F) with F = ``n_features`` (Johnson's biaxial
  note inputs); ``targets`` FloatTensor (B, T, P, 2) = [play, articulate] (many-to-many only).

Token id 0 of every stream is padding; ``ignore_index`` = -100 in targets marks positions without a target.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

InputKind = Literal["tokens", "multihot", "biaxial"]
IGNORE_INDEX = -100


@dataclass(frozen=True)
class ModelIO:
    """Shapes of a model's inputs and outputs, given by the encoding it is trained on."""

    input_kind: InputKind
    vocab_sizes: tuple[int, ...] = ()  # tokens: vocabulary size of each stream (id 0 = padding)
    stream_names: tuple[str, ...] = ()  # tokens: a name per stream, e.g. ("pitch", "duration") or ("token",)
    n_pitches: int = 0  # multihot / biaxial: pitches in the window (e.g. 24 for C4-B5, 88 for 21-108)
    n_features: int = 0  # biaxial: note-input features per pitch and step
    articulation: bool = True  # biaxial: the model predicts articulation (False: the play roll alone)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelIO:
        return cls(input_kind=data["input_kind"], vocab_sizes=tuple(data.get("vocab_sizes", ())),
                   stream_names=tuple(data.get("stream_names", ())), n_pitches=int(data.get("n_pitches", 0)),
                   n_features=int(data.get("n_features", 0)), articulation=bool(data.get("articulation", True)))
