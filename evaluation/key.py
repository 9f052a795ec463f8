"""Key estimation: the key of a whole piece and the local key in force at every beat.

Conventions: a pitch class is an ``int`` 0–11 (C = 0, C# = 1, ..., B = 11); pitch-class histograms are
weighted by note duration in quarter notes; drum notes are never counted; a beat is one quarter note.

Global key (:func:`estimate_key`): the Krumhansl–Schmuckler algorithm (Krumhansl 1990, *Cognitive
Foundations of Musical Pitch*, ch. 4) correlates (Pearson) the duration-weighted pitch-class histogram with a
major and a minor key profile rotated to each of the 12 tonics. The default profiles are Albrecht & Shanahan's
(2013, "The use of large corpora to train a new type of key-finding algorithm", *Music Perception* 31(1)),
measured on a corpus of common-practice pieces; Aarden–Essen (music21's default) and Krumhansl–Kessler (1982)
are in :data:`KEY_PROFILES`. Krumhansl–Kessler's probe-tone ratings overrate the dominant's pitches, so pieces
that modulate to the dominant come out in the dominant key. A tonal piece starts and ends in its home key:
with ``KeyConfig.home_key`` (default), when the local key at the first beat equals the local key at the last
beat, that key is the global key; otherwise the whole-piece correlation decides. ``Key.score`` is the
whole-piece correlation of the chosen key (in [-1, 1]).

Local keys (:func:`estimate_local_keys`): each beat's key is judged from the notes of the beats around it
(``KeyConfig.window`` beats on each side) by the same correlation, and the sequence of keys is the Viterbi
path that maximises the sum of the beats' correlations minus ``KeyConfig.switch_penalty`` per change of key
(a hidden Markov model of modulation, as in Temperley 2001, *The Cognition of Basic Musical Structures*,
ch. 7: a key change must be paid for by a better fit over the beats that follow).

Undefined case (one convention, NaN): a piece without pitched notes, or whose histogram is flat (all 12
pitch classes equally long), has no key; :func:`estimate_key` then returns ``C major`` with
``score = nan``. Ties go to the first candidate in the order C major ... B major, C minor ... B minor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.midi_io import Piece

__all__ = [
    "AARDEN_ESSEN_MAJOR",
    "AARDEN_ESSEN_MINOR",
    "ALBRECHT_SHANAHAN_MAJOR",
    "ALBRECHT_SHANAHAN_MINOR",
    "KEY_PROFILES",
    "KRUMHANSL_KESSLER_MAJOR",
    "KRUMHANSL_KESSLER_MINOR",
    "MAJOR_SCALE",
    "MINOR_SCALE",
    "Key",
    "KeyConfig",
    "beat_chroma",
    "duration_chroma",
    "estimate_key",
    "estimate_local_keys",
    "key_correlations",
    "local_key_path",
    "key_from_name",
    "key_name",
    "pitch_class_name",
    "scale_pitch_classes",
]

# Krumhansl, C. L. & Kessler, E. J. (1982). Tracing the dynamic changes in perceived tonal organization
# in a spatial representation of musical keys. Psychological Review 89(4), 334-368. Probe-tone ratings,
# index 0 = tonic.
KRUMHANSL_KESSLER_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KRUMHANSL_KESSLER_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# Albrecht, J. & Shanahan, D. (2013), Music Perception 31(1), 59-67: share of each scale degree's duration in
# a corpus of common-practice pieces, index 0 = tonic.
ALBRECHT_SHANAHAN_MAJOR = np.array([0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008,
                                    0.081])
ALBRECHT_SHANAHAN_MINOR = np.array([0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061,
                                    0.052])
# Aarden, B. (2003), Dynamic melodic expectancy, PhD thesis, Ohio State University: scale-degree frequencies
# of the Essen folksong collection (values of Humdrum's keycor, as music21's default 'key' analysis uses).
AARDEN_ESSEN_MAJOR = np.array([17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587, 0.291248, 22.062, 0.145624,
                               8.15494, 0.232998, 4.95122])
AARDEN_ESSEN_MINOR = np.array([18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362, 0.702494, 18.6161, 4.56621,
                               1.93186, 7.37619, 1.75623])
#: Profile pairs (major, minor) by name.
KEY_PROFILES: dict[str, tuple[np.ndarray, np.ndarray]] = {
    "albrecht-shanahan": (ALBRECHT_SHANAHAN_MAJOR, ALBRECHT_SHANAHAN_MINOR),
    "aarden-essen": (AARDEN_ESSEN_MAJOR, AARDEN_ESSEN_MINOR),
    "krumhansl-kessler": (KRUMHANSL_KESSLER_MAJOR, KRUMHANSL_KESSLER_MINOR),
}

# Conventional spelling of a key's tonic: the key signature with fewer accidentals (F# major and Eb minor
# for the 6-accidental ties, as most scores write them).
_MAJOR_TONIC_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_TONIC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

#: Semitones above the tonic of the major scale and of the minor scale used throughout ``evaluation/``: the
#: harmonic minor (raised seventh, the leading tone of common-practice minor, as in V and vii° of minor).
#: Unlike the natural minor, it is not a rotation of a major scale (A natural minor = C major), so the 12
#: major and 12 minor scales are 24 different sets.
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 11)


@dataclass(frozen=True)
class Key:
    """A key: ``tonic`` pitch class 0–11, ``mode`` "major" or "minor", ``name`` e.g. "F# minor",
    ``score`` the Krumhansl–Schmuckler correlation of the winning profile (NaN when undefined)."""

    tonic: int
    mode: str
    name: str
    score: float


@dataclass(frozen=True)
class KeyConfig:
    """How keys are estimated (see the module docstring)."""

    profiles: str = "albrecht-shanahan"  # a name in KEY_PROFILES
    window: int = 2  # local keys: beats on each side of a beat that judge its key (2 -> 5 quarter notes)
    switch_penalty: float = 1.0  # local keys: cost of a key change, in correlation units (one beat's best fit)
    home_key: bool = True  # global key: the local key at the first beat when the last beat is in it too

    def __post_init__(self) -> None:
        if self.profiles not in KEY_PROFILES:
            raise ValueError(f"unknown key profiles {self.profiles!r}; choose one of {', '.join(KEY_PROFILES)}")
        if self.window < 0 or self.switch_penalty < 0:
            raise ValueError(f"window ({self.window}) and switch_penalty ({self.switch_penalty}) must be >= 0")


def pitch_class_name(pitch_class: int) -> str:
    """Sharp spelling of a pitch class (0 → "C", 1 → "C#"); used where no key context exists."""
    return _SHARP_NAMES[int(pitch_class) % 12]


def key_name(tonic: int, mode: str) -> str:
    """Conventional name of a key, e.g. ``key_name(10, "major") == "Bb major"``, ``key_name(1, "minor") ==
    "C# minor"``."""
    if mode not in ("major", "minor"):
        raise ValueError(f"mode must be 'major' or 'minor', got {mode!r}")
    names = _MAJOR_TONIC_NAMES if mode == "major" else _MINOR_TONIC_NAMES
    return f"{names[int(tonic) % 12]} {mode}"


_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def key_from_name(name: str, score: float = float("nan")) -> Key:
    """Parse a key name such as "D major", "f# minor", "Bb major", "E- minor" (music21's flat sign)."""
    parts = name.strip().split()
    if len(parts) != 2 or not parts[0] or parts[0][0].upper() not in _LETTERS:
        raise ValueError(f"cannot read key name {name!r}: expected e.g. 'D major' or 'F# minor'")
    tonic_text, mode = parts[0], parts[1].lower()
    if mode not in ("major", "minor"):
        raise ValueError(f"cannot read key name {name!r}: the mode must be 'major' or 'minor'")
    tonic = _LETTERS[tonic_text[0].upper()]
    for sign in tonic_text[1:]:
        if sign == "#":
            tonic += 1
        elif sign in ("b", "-"):
            tonic -= 1
        else:
            raise ValueError(f"cannot read key name {name!r}: unknown accidental {sign!r} (use # or b)")
    tonic %= 12
    return Key(tonic=tonic, mode=mode, name=key_name(tonic, mode), score=score)


def scale_pitch_classes(key: Key) -> frozenset[int]:
    """Pitch classes of the key's scale: :data:`MAJOR_SCALE`, or :data:`MINOR_SCALE` (harmonic minor)."""
    steps = MAJOR_SCALE if key.mode == "major" else MINOR_SCALE
    return frozenset((key.tonic + step) % 12 for step in steps)


def duration_chroma(piece: Piece) -> np.ndarray:
    """Duration-weighted pitch-class histogram of the pitched notes, shape (12,), in quarter notes (not
    normalised; overlapping notes each count in full)."""
    pitched = ~piece.is_drum
    durations = (piece.end - piece.start)[pitched]
    return np.bincount(piece.pitch[pitched].astype(np.int64) % 12, weights=durations, minlength=12)


def _unit_profiles(profiles: str) -> np.ndarray:
    """(24, 12) centred unit-norm profiles: rows 0–11 major with tonic 0–11, rows 12–23 minor."""
    if profiles not in KEY_PROFILES:
        raise ValueError(f"unknown key profiles {profiles!r}; choose one of {', '.join(KEY_PROFILES)}")
    rows = np.array([np.roll(profile, tonic) for profile in KEY_PROFILES[profiles] for tonic in range(12)])
    rows = rows - rows.mean(axis=1, keepdims=True)
    return rows / np.sqrt(np.sum(rows**2, axis=1, keepdims=True))


def key_correlations(chroma: np.ndarray, profiles: str = "albrecht-shanahan") -> np.ndarray:
    """Pearson correlations of pitch-class histograms with the 24 rotated key profiles.

    ``chroma`` has shape (12,) or (n, 12). Returns shape (24,) or (n, 24): index ``tonic`` for major keys,
    ``12 + tonic`` for minor keys; all NaN for a flat (including empty) histogram.
    """
    chroma = np.asarray(chroma, dtype=np.float64)
    if chroma.shape[-1:] != (12,) or chroma.ndim > 2:
        raise ValueError(f"a pitch-class histogram has shape (12,) or (n, 12), got {chroma.shape}")
    centred = chroma - chroma.mean(axis=-1, keepdims=True)
    norm = np.sqrt(np.sum(centred**2, axis=-1, keepdims=True))
    flat = norm <= 1e-12
    result = (centred / np.where(flat, 1.0, norm)) @ _unit_profiles(profiles).T
    return np.where(flat, np.nan, result)


def beat_chroma(piece: Piece) -> np.ndarray:
    """Sounding time (quarter notes) of each pitch class in each beat [b, b + 1), shape (ceil(duration), 12);
    drum notes excluded."""
    from evaluation.rhythm import window_sums  # noqa: PLC0415  (rhythm imports nothing of this module)

    pitched = ~piece.is_drum
    n_beats = int(np.ceil(piece.duration - 1e-9)) if piece.n_notes else 0
    starts = np.arange(n_beats, dtype=np.float64)
    return window_sums(piece.start[pitched], piece.end[pitched], starts, starts + 1.0,
                       piece.pitch[pitched].astype(np.int64) % 12, 12)


def local_key_path(scores: np.ndarray, switch_penalty: float) -> np.ndarray:
    """Viterbi path through per-beat key scores (n, 24): the state sequence maximising the sum of the scores
    of the states visited minus ``switch_penalty`` per change of state. NaN scores count as 0 (no evidence).
    Returns (n,) state indices (0–11 major, 12–23 minor); ties keep the current key, then the lowest index."""
    scores = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=0.0)
    n = len(scores)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    states = np.arange(scores.shape[1])
    total = scores[0].copy()
    back = np.zeros(scores.shape, dtype=np.int64)
    for beat in range(1, n):
        leader = int(np.argmax(total))
        switch = total[leader] - switch_penalty
        stay = total >= switch
        back[beat] = np.where(stay, states, leader)
        total = np.where(stay, total, switch) + scores[beat]
    path = np.zeros(n, dtype=np.int64)
    path[-1] = int(np.argmax(total))
    for beat in range(n - 1, 0, -1):
        path[beat - 1] = back[beat, path[beat]]
    return path


def _key(index: int, score: float) -> Key:
    tonic, mode = int(index) % 12, ("major" if index < 12 else "minor")
    return Key(tonic=tonic, mode=mode, name=key_name(tonic, mode), score=float(score))


def _local_scores(piece: Piece, config: KeyConfig) -> np.ndarray:
    chroma = beat_chroma(piece)
    totals = np.vstack([np.zeros((1, 12)), np.cumsum(chroma, axis=0)])
    beats = np.arange(len(chroma))
    low, high = np.clip(beats - config.window, 0, len(chroma)), np.clip(beats + config.window + 1, 0, len(chroma))
    return key_correlations(totals[high] - totals[low], config.profiles) if len(chroma) else np.zeros((0, 24))


def estimate_local_keys(piece: Piece, config: KeyConfig = KeyConfig()) -> list[Key]:
    """The key in force at every beat [b, b + 1) from 0 to the end of the last note (see the module
    docstring); ``Key.score`` is that key's correlation with the notes around the beat (NaN where nothing
    sounds). Drum notes are ignored; an empty piece has no beats."""
    scores = _local_scores(piece, config)
    path = local_key_path(scores, config.switch_penalty)
    return [_key(int(state), scores[beat, state]) for beat, state in enumerate(path)]


def estimate_key(piece: Piece, config: KeyConfig = KeyConfig()) -> Key:
    """Global key of a piece (drums excluded): Krumhansl–Schmuckler with ``config.profiles``, or the local
    key of the first and last beats when they agree (``config.home_key``); see the module docstring.

    Returns ``Key(tonic, mode, name, score)`` with ``score`` the whole-piece correlation of that key;
    ``C major`` with ``score = nan`` when the piece has no pitched notes or a flat histogram.
    """
    correlations = key_correlations(duration_chroma(piece), config.profiles)
    if np.all(np.isnan(correlations)):
        return Key(tonic=0, mode="major", name=key_name(0, "major"), score=float("nan"))
    best = int(np.argmax(correlations))
    if config.home_key:
        path = local_key_path(_local_scores(piece, config), config.switch_penalty)
        if len(path) and path[0] == path[-1]:
            best = int(path[0])
    return _key(best, correlations[best])
