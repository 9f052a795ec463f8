"""The preprocessing of one piece, in a fixed order, from a :class:`PreprocessConfig`; what each step did is
kept for the prepare report.

Order: drums dropped -> melody extraction -> transposition to a key -> octave folding -> duration filter
(on the durations as written) -> quantization -> skyline (after quantization, so the line is monophonic on
the grid) -> unisons merged -> leading silence trimmed. Augmentation
(:func:`augment`) is not part of it: it happens after the split, on training pieces only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from fractions import Fraction
from typing import Any

from evaluation import Piece
from generation import preprocess as pre
from generation.errors import GenerationError

__all__ = ["PreprocessConfig", "Preprocessed", "augment", "preprocess_piece"]


@dataclass(frozen=True)
class PreprocessConfig:
    """Which preprocessing steps run (each optional). Pitches are MIDI numbers, times quarter notes."""

    melody: bool = False  # keep only the best melody track(s) (weights: preprocess.MELODY_WEIGHTS)
    melody_tracks: int = 1  # how many of the best-scoring tracks the melody keeps
    skyline: bool = False  # one note at a time (highest of simultaneous onsets)
    transpose: str | None = None  # None, "c-major-a-minor" or "c-major-c-minor"
    fold: bool = False  # fold pitches by octaves into fold_range
    fold_range: tuple[int, int] = (60, 83)  # lowest and highest MIDI pitch kept by folding (C4-B5)
    duration_filter: bool = False  # drop pieces with note durations outside accepted_durations
    accepted_durations: tuple[float, ...] = pre.ACCEPTED_DURATIONS  # quarter lengths
    quantize: float | None = None  # grid step in quarter notes; None or 0 = no quantization
    trim_start: bool = False  # move the piece so that its first note starts at 0
    augment: bool = False  # add every in-range transposition of each training piece
    augment_shifts: tuple[int, ...] = tuple(range(-6, 6))  # semitone shifts tried by the augmentation

    def __post_init__(self) -> None:
        if self.transpose is not None and self.transpose not in pre.TRANSPOSE_CONVENTIONS:
            raise GenerationError(f"unknown transposition {self.transpose!r}; use one of "
                                  f"{', '.join(pre.TRANSPOSE_CONVENTIONS)}")
        low, high = self.fold_range
        if not (0 <= low <= high <= 127) or high - low < 11:
            raise GenerationError(f"fold range {low}-{high} must lie in 0-127 and span at least an octave "
                                  "(12 pitches), e.g. 60-83")
        if self.melody_tracks < 1:
            raise GenerationError(f"melody tracks must be at least 1, got {self.melody_tracks}")
        if self.quantize is not None and not self.quantize >= 0:
            raise GenerationError(f"the quantization step must be positive quarter notes (0 = none), got "
                                  f"{self.quantize}")

    def to_dict(self) -> dict[str, Any]:
        return {key: (list(value) if isinstance(value, tuple) else value) for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise GenerationError(f"unknown preprocessing option(s): {', '.join(unknown)}")
        return cls(**{key: (tuple(value) if isinstance(value, list) else value) for key, value in data.items()})

    def with_overrides(self, **overrides: Any) -> PreprocessConfig:
        """A copy with the options that are not None replaced."""
        return replace(self, **{key: value for key, value in overrides.items() if value is not None})

    def describe(self) -> str:
        steps = []
        if self.melody:
            steps.append(f"melody (top {self.melody_tracks})")
        if self.transpose:
            steps.append(f"transpose {self.transpose}")
        if self.fold:
            steps.append(f"fold {self.fold_range[0]}-{self.fold_range[1]}")
        if self.duration_filter:
            steps.append("duration filter")
        if self.quantize:
            steps.append(f"quantize {Fraction(self.quantize).limit_denominator(1000)}")
        if self.skyline:
            steps.append("skyline")
        steps.append("merge unisons")
        if self.trim_start:
            steps.append("trim start")
        if self.augment:
            steps.append("augment (train)")
        return ", ".join(steps)


@dataclass(frozen=True)
class Preprocessed:
    """A preprocessed piece, or ``None`` with the reason it was dropped; ``notes`` says what the steps did."""

    piece: Piece | None
    reason: str = ""
    notes: dict[str, Any] = field(default_factory=dict)


def preprocess_piece(piece: Piece, config: PreprocessConfig) -> Preprocessed:
    """Run the configured steps on one piece (order in the module docstring). Never raises for bad music:
    a piece with nothing left is dropped with a reason."""
    notes: dict[str, Any] = {}
    current = pre.pitched(piece)
    if current.n_notes == 0:
        return Preprocessed(None, "no pitched notes (drums only or empty)", notes)
    if config.melody:
        choice = pre.melody_choice(current, config.melody_tracks)
        notes["melody"] = choice.to_dict()
        current = pre.extract_melody(current, config.melody_tracks)
    if config.transpose:
        key, shift = pre.key_transposition(current, config.transpose)
        notes["key"] = {"estimated": key.name, "score": None if key.score != key.score else round(key.score, 4),
                        "shift": shift}
        if shift:
            current = pre.transpose(current, shift)
    if config.fold:
        low, high = config.fold_range
        outside = int(((current.pitch < low) | (current.pitch > high)).sum())
        notes["folded_notes"] = outside
        current = pre.fold_octaves(current, low, high)
    if config.duration_filter:
        bad = pre.unaccepted_durations(current, config.accepted_durations)
        if bad.size:
            examples = ", ".join(f"{value:g}" for value in sorted(set(bad.round(4).tolist()))[:4])
            return Preprocessed(None, f"duration filter: {bad.size} note(s) with durations outside the accepted "
                                      f"set (e.g. {examples} quarter notes)", notes)
    if config.quantize:
        current = pre.quantize(current, config.quantize)
    if config.skyline:
        current = pre.skyline(current)
    current = pre.merge_unisons(current)
    if config.trim_start:
        current = pre.trim_leading_silence(current)
    if current.n_notes == 0:
        return Preprocessed(None, "no notes left after preprocessing", notes)
    return Preprocessed(current, "", notes)


def augment(piece: Piece, config: PreprocessConfig, pitch_range: tuple[int, int] | None) -> list[tuple[int, Piece]]:
    """Every transposition of a training piece in ``config.augment_shifts`` that keeps it inside
    ``pitch_range`` (the encoding's pitch window; MIDI 0-127 when it has none), as (shift, piece)."""
    low, high = pitch_range or (0, 127)
    return [(shift, pre.transpose(piece, shift)) for shift in pre.augmentation_shifts(piece, low, high,
                                                                                        config.augment_shifts)]
