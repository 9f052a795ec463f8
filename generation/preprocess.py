"""Preprocessing of pieces before encoding: pure ``Piece -> Piece`` functions on :class:`evaluation.Piece`.

Conventions: times in quarter notes (seconds are recomputed from the piece's tempo map); pitches are MIDI
numbers; drum notes are never pitches (:func:`pitched` drops them first). Every function returns a new
piece and leaves its input alone. What the steps did to a piece (the chosen melody track and why, the
estimated key and the shift...) comes from the companion functions (:func:`melody_choice`,
:func:`key_transposition`), so the prepare report can say it; :mod:`generation.pipeline` applies the steps
in order from a :class:`generation.pipeline.PreprocessConfig`.

Steps
-----
- :func:`extract_melody`: the non-drum track(s) with the best weighted score of pitch variance (.40), number
  of distinct pitches (.25), track length in notes (.25) and mean pitch (.10), each min-max normalised
  across the file's tracks (the track-selection heuristic of the source reports).
- :func:`skyline`: one note at a time (the highest of notes starting together; a note ends where the next
  one starts), for monophonic encodings.
- :func:`transpose_to_key`: to C major / A minor (or C major / C minor, the JSB chorale convention) from the
  Krumhansl-Schmuckler key of :func:`evaluation.key.estimate_key`, by the nearest shift (-5..+6 semitones).
- :func:`augmentation_shifts`: the transpositions of a (training) piece that keep it inside a pitch range.
- :func:`fold_octaves`: notes outside a pitch window (default C4-B5 = MIDI 60-83) move by octaves inside.
- :func:`quantize`: onsets and ends to the nearest multiple of a grid step (notes last at least one step).
- :func:`unaccepted_durations`: note durations outside an accepted set (folk-melody filter).
- :func:`merge_unisons`: notes of one pitch starting together (voices in unison) become one note.
- :func:`trim_leading_silence`: the piece starts with its first note.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation import Piece, piece_from_notes
from evaluation.key import Key, estimate_key

__all__ = [
    "ACCEPTED_DURATIONS",
    "MELODY_WEIGHTS",
    "TRANSPOSE_CONVENTIONS",
    "MelodyChoice",
    "TrackScore",
    "augmentation_shifts",
    "extract_melody",
    "fold_octaves",
    "key_transposition",
    "melody_choice",
    "merge_unisons",
    "pitched",
    "quantize",
    "rebuild",
    "skyline",
    "transpose",
    "transpose_to_key",
    "trim_leading_silence",
    "unaccepted_durations",
]

#: Weights of the melody-track score: pitch variance, distinct pitches, track length (notes), mean pitch.
MELODY_WEIGHTS = {"pitch_variance": 0.40, "distinct_pitches": 0.25, "length": 0.25, "mean_pitch": 0.10}

#: Quarter lengths accepted by the folk-melody duration filter (16th, 8th, dotted 8th, quarter, dotted
#: quarter, half, dotted half, whole).
ACCEPTED_DURATIONS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)

#: Target tonic pitch class (major, minor) of each transposition convention.
TRANSPOSE_CONVENTIONS = {"c-major-a-minor": (0, 9), "c-major-c-minor": (0, 0)}

_EPS = 1e-9


def rebuild(piece: Piece, *, keep: np.ndarray | None = None, pitch: np.ndarray | None = None,
            start: np.ndarray | None = None, end: np.ndarray | None = None, tempos: np.ndarray | None = None,
            time_signatures: np.ndarray | None = None) -> Piece:
    """The piece with some notes kept and new pitches/times, re-sorted, seconds recomputed."""
    mask = np.ones(piece.n_notes, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    return piece_from_notes(
        (piece.pitch if pitch is None else pitch)[mask], (piece.start if start is None else start)[mask],
        (piece.end if end is None else end)[mask], velocity=piece.velocity[mask], program=piece.program[mask],
        is_drum=piece.is_drum[mask], track=piece.track[mask],
        tempos=piece.tempos if tempos is None else tempos,
        time_signatures=piece.time_signatures if time_signatures is None else time_signatures,
        ticks_per_quarter=piece.ticks_per_quarter, path=piece.path)


def pitched(piece: Piece) -> Piece:
    """The piece without drum notes."""
    return piece.pitched() if piece.is_drum.any() else piece


# --- melody extraction ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrackScore:
    """One non-drum track's melody features (raw and min-max normalised across the file's tracks) and its
    weighted score (weights :data:`MELODY_WEIGHTS`)."""

    track: int
    n_notes: int
    pitch_variance: float  # semitones squared (population variance)
    distinct_pitches: int
    mean_pitch: float  # MIDI number
    normalised: dict[str, float]
    score: float

    def why(self) -> str:
        parts = [f"{name.replace('_', ' ')} {raw:.4g} -> {self.normalised[name]:.2f} x {weight:.2f}"
                 for name, raw, weight in zip(MELODY_WEIGHTS, (self.pitch_variance, self.distinct_pitches,
                                                               self.n_notes, self.mean_pitch),
                                              MELODY_WEIGHTS.values(), strict=True)]
        return f"track {self.track} scores {self.score:.3f} ({'; '.join(parts)})"


@dataclass(frozen=True)
class MelodyChoice:
    """The tracks kept as the melody (best first) and every track's score, best first."""

    chosen: tuple[int, ...]
    scores: tuple[TrackScore, ...]

    def why(self) -> str:
        best = self.scores[0].why()
        if len(self.scores) == 1:
            return f"{best}; the only pitched track"
        runner = self.scores[len(self.chosen)] if len(self.scores) > len(self.chosen) else None
        tail = f"; next best: track {runner.track} with {runner.score:.3f}" if runner else ""
        return f"kept track(s) {', '.join(map(str, self.chosen))}: {best}{tail}"

    def to_dict(self) -> dict:
        return {"chosen": list(self.chosen), "why": self.why(),
                "scores": {str(s.track): round(s.score, 4) for s in self.scores}}


def _min_max(values: np.ndarray) -> np.ndarray:
    spread = values.max() - values.min()
    return (values - values.min()) / spread if spread > 0 else np.zeros_like(values)


def melody_choice(piece: Piece, top_k: int = 1) -> MelodyChoice:
    """Score the non-drum tracks of ``piece`` as melody candidates and choose the best ``top_k``.

    Each feature is min-max normalised across the tracks (0 for the lowest, 1 for the highest; 0 for all
    when they are equal), then weighted by :data:`MELODY_WEIGHTS`. Ties go to the lower track index.

    Raises ``ValueError`` when the piece has no pitched note or ``top_k < 1``.
    """
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    notes = pitched(piece)
    if notes.n_notes == 0:
        raise ValueError("the piece has no pitched notes, so there is no melody track to choose")
    tracks = np.unique(notes.track)
    pitch = notes.pitch.astype(np.float64)
    features = np.array([[pitch[notes.track == t].var(), np.unique(pitch[notes.track == t]).size,
                          np.count_nonzero(notes.track == t), pitch[notes.track == t].mean()] for t in tracks])
    normalised = np.column_stack([_min_max(features[:, j]) for j in range(4)])
    scores = normalised @ np.array(list(MELODY_WEIGHTS.values()))
    order = sorted(range(len(tracks)), key=lambda i: (-round(scores[i], 12), tracks[i]))
    table = tuple(TrackScore(int(tracks[i]), int(features[i, 2]), float(features[i, 0]), int(features[i, 1]),
                             float(features[i, 3]), dict(zip(MELODY_WEIGHTS, map(float, normalised[i]), strict=True)),
                             float(scores[i])) for i in order)
    return MelodyChoice(tuple(score.track for score in table[:top_k]), table)


def extract_melody(piece: Piece, top_k: int = 1) -> Piece:
    """The notes of the best ``top_k`` melody tracks (see :func:`melody_choice`), drums dropped."""
    choice = melody_choice(piece, top_k)
    notes = pitched(piece)
    return rebuild(notes, keep=np.isin(notes.track, choice.chosen))


def skyline(piece: Piece) -> Piece:
    """A monophonic line: of the notes starting together the highest is kept, and each note ends no later
    than the next kept onset (the "skyline" reduction)."""
    notes = merge_unisons(pitched(piece))
    if notes.n_notes == 0:
        return notes
    order = np.lexsort((-notes.pitch, notes.start))
    first_at_onset = np.concatenate([[True], np.diff(notes.start[order]) > _EPS])
    kept = order[first_at_onset]
    end = notes.end.copy()
    following = np.append(notes.start[kept][1:], np.inf)
    end[kept] = np.minimum(notes.end[kept], following)
    keep = np.zeros(notes.n_notes, dtype=bool)
    keep[kept] = True
    return rebuild(notes, keep=keep, end=end)


# --- transposition -------------------------------------------------------------------------------------------

def transpose(piece: Piece, semitones: int) -> Piece:
    """Every pitched note moved by ``semitones`` (drums unchanged). Raises ``ValueError`` when a pitch would
    leave MIDI's 0..127."""
    pitch = piece.pitch.astype(np.int64) + np.where(piece.is_drum, 0, int(semitones))
    if pitch.size and (pitch.min() < 0 or pitch.max() > 127):
        raise ValueError(f"transposing by {semitones} semitones moves a pitch outside MIDI's 0..127")
    return rebuild(piece, pitch=pitch.astype(np.int16))


def key_transposition(piece: Piece, convention: str = "c-major-a-minor") -> tuple[Key, int]:
    """The estimated key of ``piece`` (:func:`evaluation.key.estimate_key`) and the shift in semitones
    (-5..+6, the nearest; another octave when the nearest would leave MIDI's range) that takes its tonic
    to C (major) or to A or C (minor) by ``convention`` (a key of :data:`TRANSPOSE_CONVENTIONS`)."""
    if convention not in TRANSPOSE_CONVENTIONS:
        raise ValueError(f"unknown transposition {convention!r}; use one of {', '.join(TRANSPOSE_CONVENTIONS)}")
    key = estimate_key(pitched(piece))
    target = TRANSPOSE_CONVENTIONS[convention][0 if key.mode == "major" else 1]
    shift = (target - key.tonic) % 12
    shift = shift - 12 if shift > 6 else shift
    notes = pitched(piece).pitch
    if notes.size:
        for candidate in (shift, shift - 12, shift + 12):
            if notes.min() + candidate >= 0 and notes.max() + candidate <= 127:
                return key, candidate
    return key, shift


def transpose_to_key(piece: Piece, convention: str = "c-major-a-minor") -> Piece:
    """The piece transposed to C major / A minor (or C major / C minor) from its estimated key."""
    _, shift = key_transposition(piece, convention)
    return transpose(piece, shift) if shift else piece


def augmentation_shifts(piece: Piece, low: int = 0, high: int = 127,
                        shifts: tuple[int, ...] = tuple(range(-6, 6))) -> list[int]:
    """The non-zero ``shifts`` (semitones; default every key from -6 to +5) that keep every pitched note of
    the piece within ``low..high`` (MIDI numbers)."""
    notes = pitched(piece).pitch
    if notes.size == 0:
        return []
    lowest, highest = int(notes.min()), int(notes.max())
    return [s for s in shifts if s != 0 and lowest + s >= low and highest + s <= high]


# --- pitch window, grid, durations ---------------------------------------------------------------------------

def fold_octaves(piece: Piece, low: int = 60, high: int = 83) -> Piece:
    """Move every pitched note outside ``low..high`` by whole octaves to the nearest pitch of the same pitch
    class inside it (default C4-B5 = MIDI 60-83); unisons this creates are merged (:func:`merge_unisons`).

    Raises ``ValueError`` when the window spans less than an octave (some pitch classes have no place)."""
    if high - low < 11:
        raise ValueError(f"a pitch window of {low}-{high} spans less than an octave, so octave folding cannot "
                         "place every pitch class; use at least 12 pitches (e.g. 60-83)")
    pitch = piece.pitch.astype(np.int64)
    below, above = pitch < low, pitch > high
    pitch = np.where(below, pitch + 12 * np.ceil((low - pitch) / 12).astype(np.int64), pitch)
    pitch = np.where(above, pitch - 12 * np.ceil((pitch - high) / 12).astype(np.int64), pitch)
    pitch = np.where(piece.is_drum, piece.pitch, pitch)
    return merge_unisons(rebuild(piece, pitch=pitch.astype(np.int16)))


def merge_unisons(piece: Piece) -> Piece:
    """Notes of one pitch that start together (two voices in unison) become one note, the longest; drums are
    left alone. Pitch-set encodings cannot tell unison voices apart, so this is the piece they represent."""
    if piece.n_notes < 2:
        return piece
    key = np.where(piece.is_drum, -1, piece.pitch.astype(np.int64))
    order = np.lexsort((-piece.end, piece.start, key))
    same = (key[order][1:] == key[order][:-1]) & (np.abs(np.diff(piece.start[order])) < _EPS) & \
        (key[order][1:] >= 0)
    if not same.any():
        return piece
    keep = np.ones(piece.n_notes, dtype=bool)
    keep[order[1:][same]] = False
    return rebuild(piece, keep=keep)


def quantize(piece: Piece, step: float) -> Piece:
    """Onsets and ends moved to the nearest multiple of ``step`` quarter notes (half-way rounds up); a note
    lasts at least one step; unisons this creates are merged."""
    if not step > 0:
        raise ValueError(f"the quantization step must be positive quarter notes, got {step}")
    start = np.floor(piece.start / step + 0.5) * step
    end = np.maximum(np.floor(piece.end / step + 0.5) * step, start + step)
    return merge_unisons(rebuild(piece, start=start, end=end))


def unaccepted_durations(piece: Piece, accepted: tuple[float, ...] = ACCEPTED_DURATIONS,
                         tolerance: float = 1e-3) -> np.ndarray:
    """Durations (quarter notes) of the pitched notes that are not within ``tolerance`` of an accepted one."""
    notes = pitched(piece)
    durations = notes.end - notes.start
    accepted_array = np.asarray(accepted, dtype=np.float64)
    ok = (np.abs(durations[:, None] - accepted_array[None, :]) <= tolerance).any(axis=1)
    return durations[~ok]


def _in_force_at(table: np.ndarray, shift: float) -> np.ndarray:
    """A tempo or time-signature table moved earlier by ``shift``; the row in force at ``shift`` starts at 0."""
    positions = table[:, 0]
    current = np.searchsorted(positions, shift + _EPS, side="right") - 1
    moved = table[max(current, 0):].copy()
    moved[:, 0] = np.maximum(moved[:, 0] - shift, 0.0)
    moved[0, 0] = 0.0
    return moved


def trim_leading_silence(piece: Piece) -> Piece:
    """The piece moved earlier so that its first pitched note starts at 0 (tempo map and time signatures
    move with it: what was in force at the first note holds from 0)."""
    notes = pitched(piece)
    if notes.n_notes == 0 or notes.start.min() <= _EPS:
        return notes
    shift = float(notes.start.min())
    return rebuild(notes, start=notes.start - shift, end=notes.end - shift,
                   tempos=_in_force_at(notes.tempos, shift), time_signatures=_in_force_at(notes.time_signatures, shift))
