"""Chord labels per beat or bar by template matching, with Roman numerals and progression statistics.

Conventions: times in quarter notes (``start``, ``end``) and seconds (``start_seconds``, ``end_seconds``);
a beat is one quarter note; bars come from :meth:`Piece.bar_starts`; drum notes are never counted.
Labels use the Harte et al. (2005) syntax read by ``mir_eval.chord``: ``root:quality[/bass]``, ``N`` for
no chord.

Algorithm (template matching in the spirit of chorder, Dai et al., with the conventions of harmonic analysis
of tonal music: a chord is judged on the beat, suspensions and passing notes are not chord tones):

1. **Chroma.** For each window, the pitch-class histogram of the notes sounding in it, each note weighted by
   the part of its span inside the window (quarter notes). A note that begins off the quarter-note beat counts
   ``offbeat_weight`` (default 1/2) of that span: most non-chord tones (passing and neighbour notes) fall off
   the beat, so the harmony is what sounds on the beat.
2. **No chord.** The window is ``N`` when its (unweighted) chroma totals less than ``min_fill`` × window
   length (default 1/8: almost silent) or fewer than 2 pitch classes reach 10 % of the strongest one (a lone
   melody note is not a chord).
3. **Template.** Cosine similarity of the chroma with the binary template of every root × quality in
   :data:`QUALITIES` (maj, min, dim, aug, sus2, sus4, 7, maj7, min7, minmaj7, dim7, hdim7). Cosine prefers
   triads over sevenths unless the seventh is clearly present: with the three triad notes equally loud,
   the seventh chord wins only when its seventh has more than 46 % of their weight.
   Ties (same pitch-class set, e.g. Csus2 = Gsus4, the four roots of a dim7 or aug) go to the root that is
   the bass, then to the earlier quality in :data:`QUALITIES`.
4. **Suspensions.** A sus2/sus4 is a suspension, labelled as the chord it resolves to, when a third above its
   root sounds in the same window (maj when the major third sounds at least as long as the minor one, else
   min) or the next window has the same root with a major or minor third (4–3 and 2–3 suspensions over one
   bass); a sus chord is kept only where no third follows.
5. **Root name.** Spelled for the key (:func:`spell_root`): the letter of the root's scale degree, so
   ``Bb:maj`` (bVII) in C major and ``Eb:maj`` (VI) in G minor, never ``A#``/``D#`` there.
6. **Bass.** The lowest pitch sounding at the window's onset and lasting at least ``bass_min_share`` (1/8,
   as chorder) of the window; when it is not a tone of the chord (a passing or neighbour note in the bass),
   the lowest chord tone lasting that long; when nothing sounds at the onset, the lowest pitch lasting that
   long (the lowest sounding pitch when none does). When the bass is a chord tone other than the root, the
   label gets the Harte bass degree: ``C:maj/3``, ``C:maj/5``, ``G:7/3``, ``C:7/b7``. A bass outside the
   chord is kept in :attr:`ChordSegment.bass` but not written in the label.
7. **Key.** ``key_scope="global"``: one key for the piece (``key``, else :func:`evaluation.key.estimate_key`).
   ``key_scope="local"``: the local key in force (:func:`evaluation.key.estimate_local_keys`; for a bar, the
   key of most of its beats), so numerals and spellings follow modulations. :attr:`ChordSegment.key` names it.

Measured against expert Roman-numeral analyses of Bach chorales beat by beat (:mod:`evaluation.accuracy`,
``docs/analysis-accuracy.md``).

Roman numerals (relative to a :class:`Key`): the numeral counts scale degrees of the key (major, or
natural minor with the leading tone as the seventh degree, as common-practice harmony writes vii° and V in
minor); other roots get ``b``/``#`` (in major: bII, bIII, #IV, bVI, bVII; in minor: bII, #III, #IV, #VI,
bVII for the subtonic). Case: upper for maj, aug, sus, 7, maj7; lower for min, dim, min7, minmaj7, dim7,
hdim7. Suffixes (ASCII, safe in CSV and terminals): ``o`` dim, ``o7`` dim7, ``/o7`` hdim7, ``+`` aug, ``7``
dominant and minor sevenths, ``maj7`` major and minor-major sevenths, ``sus2``/``sus4``. Inversions are not
written in the numeral (the label carries the bass).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.key import Key, KeyConfig, estimate_key, estimate_local_keys, key_name, pitch_class_name
from evaluation.midi_io import Piece
from evaluation.rhythm import bar_grid, iter_window_overlaps, window_sums

__all__ = [
    "QUALITIES",
    "ChordSegment",
    "chord_statistics",
    "detect_chords",
    "roman_numeral",
    "spell_root",
    "weighted_window_chroma",
    "window_chroma",
]

# quality -> intervals above the root (semitones); the order is the tie-break preference
QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "7": (0, 4, 7, 10),
    "min7": (0, 3, 7, 10),
    "maj7": (0, 4, 7, 11),
    "dim": (0, 3, 6),
    "sus4": (0, 5, 7),
    "sus2": (0, 2, 7),
    "aug": (0, 4, 8),
    "hdim7": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9),
    "minmaj7": (0, 3, 7, 11),
}

# Harte interval names of a bass degree; chord tones spelled by their quality where it differs
_DEGREES = {1: "b2", 2: "2", 3: "b3", 4: "3", 5: "4", 6: "b5", 7: "5", 8: "b6", 9: "6", 10: "b7", 11: "7"}
_QUALITY_DEGREES = {"aug": {8: "#5"}, "dim7": {9: "bb7"}}

_UPPER = {"maj": "", "aug": "+", "sus2": "sus2", "sus4": "sus4", "7": "7", "maj7": "maj7"}
_LOWER = {"min": "", "dim": "o", "min7": "7", "minmaj7": "maj7", "dim7": "o7", "hdim7": "/o7"}
_NUMERALS = ("I", "II", "III", "IV", "V", "VI", "VII")
# semitones above the tonic -> (accidental, numeral index)
_MAJOR_DEGREES = {
    0: ("", 0),
    1: ("b", 1),
    2: ("", 1),
    3: ("b", 2),
    4: ("", 2),
    5: ("", 3),
    6: ("#", 3),
    7: ("", 4),
    8: ("b", 5),
    9: ("", 5),
    10: ("b", 6),
    11: ("", 6),
}
_MINOR_DEGREES = {
    0: ("", 0),
    1: ("b", 1),
    2: ("", 1),
    3: ("", 2),
    4: ("#", 2),
    5: ("", 3),
    6: ("#", 3),
    7: ("", 4),
    8: ("", 5),
    9: ("#", 5),
    10: ("b", 6),
    11: ("", 6),
}


@dataclass(frozen=True)
class ChordSegment:
    """One chord (or no chord) over a time span. ``label`` is Harte syntax ("D:maj", "C:maj/3", "N");
    ``root`` and ``bass`` are pitch classes (None for N); ``quality`` a key of :data:`QUALITIES` ("" for N);
    ``roman`` relative to ``key``, the name of the key in force ("" for N)."""

    start: float  # quarter notes
    end: float  # quarter notes
    start_seconds: float
    end_seconds: float
    label: str
    root: int | None
    quality: str
    bass: int | None
    roman: str
    key: str = ""  # name of the key of ``roman`` and of the root's spelling ("" for N)


def _templates() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Unit-norm templates (12 * Q, 12), their roots (12 * Q,) and qualities (list of 12 * Q)."""
    rows, roots, qualities = [], [], []
    for quality, intervals in QUALITIES.items():
        for root in range(12):
            row = np.zeros(12)
            row[[(root + step) % 12 for step in intervals]] = 1.0
            rows.append(row / np.sqrt(len(intervals)))
            roots.append(root)
            qualities.append(quality)
    return np.array(rows), np.array(roots), qualities


_TEMPLATES, _TEMPLATE_ROOTS, _TEMPLATE_QUALITIES = _templates()


def roman_numeral(root: int, quality: str, key: Key) -> str:
    """Roman numeral of a chord in a key, e.g. ``roman_numeral(7, "7", C major) == "V7"``,
    ``roman_numeral(10, "maj", C major) == "bVII"``, ``roman_numeral(11, "hdim7", C major) == "vii/o7"``."""
    if quality not in QUALITIES:
        raise ValueError(f"unknown chord quality {quality!r}; expected one of {', '.join(QUALITIES)}")
    degrees = _MAJOR_DEGREES if key.mode == "major" else _MINOR_DEGREES
    accidental, index = degrees[(root - key.tonic) % 12]
    if quality in _UPPER:
        return accidental + _NUMERALS[index] + _UPPER[quality]
    return accidental + _NUMERALS[index].lower() + _LOWER[quality]


_LETTERS = "CDEFGAB"
_LETTER_PITCH_CLASSES = (0, 2, 4, 5, 7, 9, 11)
_ACCIDENTALS = {0: "", 1: "#", -1: "b"}
_FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")


def spell_root(pitch_class: int, key: Key) -> str:
    """Name of a chord root spelled for the key: the letter of its scale degree (the degree of its Roman
    numeral) plus ``#``/``b``, e.g. 10 in C major (bVII) is "Bb", 3 in G minor (VI) is "Eb", 6 in C major
    (#IV) is "F#". A spelling that would need a double accidental uses the single-accidental name instead."""
    degrees = _MAJOR_DEGREES if key.mode == "major" else _MINOR_DEGREES
    _, index = degrees[(pitch_class - key.tonic) % 12]
    letter = _LETTERS[(_LETTERS.index(key_name(key.tonic, key.mode)[0]) + index) % 7]
    offset = (pitch_class - _LETTER_PITCH_CLASSES[_LETTERS.index(letter)] + 6) % 12 - 6
    if offset in _ACCIDENTALS:
        return letter + _ACCIDENTALS[offset]
    return pitch_class_name(pitch_class) if offset > 0 else _FLAT_NAMES[pitch_class % 12]  # C## -> D, Ebb -> D


def _windows(piece: Piece, per: str) -> tuple[np.ndarray, np.ndarray]:
    """Window starts and ends in quarter notes covering the piece's pitched notes."""
    duration = piece.duration
    if duration <= 0:
        return np.zeros(0), np.zeros(0)
    if per == "beat":
        starts = np.arange(0.0, np.ceil(duration - 1e-9))
        return starts, starts + 1.0
    if per == "bar":
        starts, lengths = bar_grid(piece)
        return starts, starts + lengths
    raise ValueError(f"per must be 'beat' or 'bar', got {per!r}")


def window_chroma(piece: Piece, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-window sounding time of each pitch class and each MIDI pitch (quarter notes).

    ``starts``/``ends`` are sorted, contiguous windows (W,). Returns chroma (W, 12) and pitch roll (W, 128):
    each note adds the length of its span clipped to the window. Drum notes are ignored.
    """
    pitched = ~piece.is_drum
    roll = window_sums(piece.start[pitched], piece.end[pitched], starts, ends,
                       piece.pitch[pitched].astype(np.int64), 128)
    chroma = roll[:, :120].reshape(len(starts), 10, 12).sum(axis=1)
    chroma[:, :8] += roll[:, 120:128]  # pitches 120..127 are pitch classes 0..7
    return chroma, roll


def _label(root: int, quality: str, bass: int, key: Key) -> str:
    name = f"{spell_root(root, key)}:{quality}"
    interval = (bass - root) % 12
    if interval == 0 or interval not in {step % 12 for step in QUALITIES[quality]}:
        return name
    return f"{name}/{_QUALITY_DEGREES.get(quality, {}).get(interval, _DEGREES[interval])}"


def weighted_window_chroma(piece: Piece, starts: np.ndarray, ends: np.ndarray,
                           offbeat_weight: float = 0.5) -> np.ndarray:
    """Per-window pitch-class weights (W, 12): each note's span in the window (quarter notes), times
    ``offbeat_weight`` for a note that begins off the quarter-note beat. Drum notes are ignored."""
    notes = _WindowNotes(piece, starts, ends)
    return notes.chroma(np.where(notes.offbeat, offbeat_weight, 1.0))


class _WindowNotes:
    """The pitched notes of a piece against a grid of windows; the (note, window) overlaps are visited in
    chunks of bounded size (:func:`evaluation.rhythm.iter_window_overlaps`), so memory stays O(notes +
    windows) however long the notes are."""

    def __init__(self, piece: Piece, starts: np.ndarray, ends: np.ndarray) -> None:
        pitched = ~piece.is_drum
        self.start, self.end = piece.start[pitched], piece.end[pitched]
        self.pitch = piece.pitch[pitched].astype(np.int64)
        self.offbeat = np.abs(self.start - np.round(self.start)) > 1e-6  # begins off the quarter-note beat
        self.starts, self.ends = starts, ends

    def chroma(self, weights: np.ndarray | None = None) -> np.ndarray:
        """(W, 12) overlap per window and pitch class, times ``weights`` per note."""
        return window_sums(self.start, self.end, self.starts, self.ends, self.pitch % 12, 12, weights)

    def lowest(self, masks, n_masks: int) -> list[np.ndarray]:
        """Lowest pitch per window (128 where none) among the pairs each of the ``n_masks`` masks of
        ``masks(pitch, window, overlap, at_onset)`` keeps; one pass over the pairs for all of them."""
        found = [np.full(len(self.starts), 128, dtype=np.int64) for _ in range(n_masks)]
        for note, window, overlap in iter_window_overlaps(self.start, self.end, self.starts, self.ends):
            pitch = self.pitch[note]
            selected = masks(pitch, window, overlap, self.start[note] <= self.starts[window] + 1e-9)
            for lowest, mask in zip(found, selected, strict=True):
                np.minimum.at(lowest, window[mask], pitch[mask])
        return found


def _bass(notes: _WindowNotes, lengths: np.ndarray, share: float, tones: np.ndarray | None = None) -> np.ndarray:
    """Bass pitch of each window (-1 when silent), step 6 of the module docstring. ``tones`` (W, 12) marks
    each window's chord tones; without it, the lowest pitch at the onset (or lasting long enough)."""
    n = len(lengths)

    def masks(pitch, window, overlap, at_onset):
        lasting = overlap >= share * lengths[window] - 1e-12
        chord_tone = lasting & tones[window, pitch % 12] if tones is not None else lasting
        return [at_onset & lasting, lasting, np.ones(window.size, dtype=bool), chord_tone]

    onset, lasting, anything, chord_tone = notes.lowest(masks, 4)
    bass = np.where(onset < 128, onset, np.where(lasting < 128, lasting, anything))
    if tones is not None:
        outside = (bass < 128) & ~tones[np.arange(n), bass % 12]
        bass = np.where(outside & (chord_tone < 128), chord_tone, bass)
    return np.where(bass < 128, bass, -1)


_CHUNK = 1024  # windows scored against the templates at a time: the (chunk, 144) scores stay below 5 MB


def _best_templates(weighted: np.ndarray, bass: np.ndarray) -> np.ndarray:
    """Index of the best template of each window (cosine; ties to the bass as root, then quality order)."""
    order = np.arange(len(_TEMPLATE_ROOTS)) // 12  # quality rank
    best = np.zeros(len(weighted), dtype=np.int64)
    for first in range(0, len(weighted), _CHUNK):
        block = weighted[first:first + _CHUNK]
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        scores = (block / np.where(norms > 0, norms, 1.0)) @ _TEMPLATES.T  # (chunk, 12 * Q)
        ranked = (np.round(scores, 8) + 2e-10 * (_TEMPLATE_ROOTS[None, :] == bass[first:first + _CHUNK, None] % 12)
                  - 1e-11 * order[None, :])
        best[first:first + _CHUNK] = ranked.argmax(axis=1)
    return best


_TRIADS_OF = {"maj": "maj", "7": "maj", "maj7": "maj", "aug": "maj", "min": "min", "min7": "min",
              "minmaj7": "min"}


def _resolve_suspensions(roots: np.ndarray, qualities: list[str], chroma: np.ndarray, contiguous: np.ndarray
                         ) -> list[str]:
    """Qualities with sus2/sus4 windows relabelled as the chord their suspension resolves to (step 4 of the
    module docstring); ``contiguous[i]`` says window i + 1 starts where window i ends."""
    qualities = list(qualities)
    for index in range(len(qualities) - 1, -1, -1):
        if qualities[index] not in ("sus2", "sus4"):
            continue
        root = int(roots[index])
        major, minor = chroma[index, (root + 4) % 12], chroma[index, (root + 3) % 12]
        if major > 0 or minor > 0:
            qualities[index] = "maj" if major >= minor else "min"
        elif (index + 1 < len(qualities) and contiguous[index] and int(roots[index + 1]) == root
              and qualities[index + 1] in _TRIADS_OF):
            qualities[index] = _TRIADS_OF[qualities[index + 1]]
    return qualities


def _window_keys(piece: Piece, starts: np.ndarray, ends: np.ndarray, key: Key | None, key_scope: str,
                 key_config: KeyConfig) -> list[Key]:
    """The key of each window: ``key`` (or the estimated global key) for every window, or with
    ``key_scope="local"`` the local key of most of the window's beats (the first beat's key on a tie)."""
    if key_scope == "global":
        key = key if key is not None else estimate_key(piece, key_config)
        return [key] * len(starts)
    if key_scope != "local":
        raise ValueError(f"key_scope must be 'global' or 'local', got {key_scope!r}")
    beats = estimate_local_keys(piece, key_config)
    if not beats:
        return [key or estimate_key(piece, key_config)] * len(starts)
    names = np.array([beat.tonic + (0 if beat.mode == "major" else 12) for beat in beats])
    keys = []
    for start, end in zip(starts, ends, strict=True):
        first = min(int(np.floor(start + 1e-9)), len(beats) - 1)
        last = max(min(int(np.ceil(end - 1e-9)), len(beats)), first + 1)
        counts = np.bincount(names[first:last], minlength=24)
        state = int(names[first]) if counts[names[first]] == counts.max() else int(np.argmax(counts))
        keys.append(next(beat for beat in beats[first:last] if beat.tonic + 12 * (beat.mode == "minor") == state))
    return keys


def detect_chords(
    piece: Piece,
    per: str = "beat",
    key: Key | None = None,
    merge: bool = True,
    *,
    min_fill: float = 0.125,
    bass_min_share: float = 0.125,
    offbeat_weight: float = 0.5,
    key_scope: str = "global",
    key_config: KeyConfig | None = None,
) -> list[ChordSegment]:
    """Chord label of every beat (one quarter note) or bar of a piece, drums excluded.

    Parameters
    ----------
    per
        "beat" (windows of one quarter note from 0) or "bar" (from :meth:`Piece.bar_starts`).
    key
        Key for the Roman numerals with ``key_scope="global"``; estimated with
        :func:`evaluation.key.estimate_key` when None.
    merge
        Merge consecutive windows with the same label and numeral (N included) into one segment.
    min_fill
        A window whose chroma totals less than this share of its length (quarter notes) is N.
    bass_min_share
        The bass lasts at least this share of the window.
    offbeat_weight
        Weight of a note that begins off the quarter-note beat (1.0 weighs every note by duration alone).
    key_scope
        "global" (one key) or "local" (the key in force at each window, modulations followed).
    key_config
        Profiles and local-key settings (:class:`evaluation.key.KeyConfig`; its defaults when None).

    Returns
    -------
    Segments in time order covering [0, end of the last window); see the module docstring for the method.
    """
    pitched = piece.pitched()
    starts, ends = _windows(pitched, per)
    keys = _window_keys(pitched, starts, ends, key, key_scope, key_config or KeyConfig())
    notes = _WindowNotes(pitched, starts, ends)
    chroma = notes.chroma()
    weighted = notes.chroma(np.where(notes.offbeat, offbeat_weight, 1.0))
    lengths = ends - starts
    totals = chroma.sum(axis=1)
    strong = (chroma >= 0.1 * chroma.max(axis=1, keepdims=True, initial=0.0)) & (chroma > 0)
    is_chord = (totals >= min_fill * lengths) & (strong.sum(axis=1) >= 2)

    best = _best_templates(weighted, _bass(notes, lengths, bass_min_share))
    roots = _TEMPLATE_ROOTS[best]
    contiguous = np.append(np.abs(starts[1:] - ends[:-1]) < 1e-9, False) & np.append(is_chord[1:], False)
    qualities = _resolve_suspensions(roots, [_TEMPLATE_QUALITIES[index] for index in best], chroma, contiguous)
    tones = np.zeros((len(starts), 12), dtype=bool)
    for quality in set(qualities):
        rows = np.flatnonzero([q == quality for q in qualities])
        for step in QUALITIES[quality]:
            tones[rows, (roots[rows] + step) % 12] = True
    basses = _bass(notes, lengths, bass_min_share, tones) % 12

    start_seconds, end_seconds = pitched.quarters_to_seconds(starts), pitched.quarters_to_seconds(ends)
    segments: list[ChordSegment] = []
    for index in range(len(starts)):
        window_key = keys[index]
        if is_chord[index]:
            root, quality, bass = int(roots[index]), qualities[index], int(basses[index])
            label = _label(root, quality, bass, window_key)
            segment = (label, root, quality, bass, roman_numeral(root, quality, window_key), window_key.name)
        else:
            segment = ("N", None, "", None, "", "")
        start, start_second = float(starts[index]), float(start_seconds[index])
        if merge and segments and (segments[-1].label, segments[-1].roman) == (segment[0], segment[4]):
            previous = segments.pop()
            start, start_second = previous.start, previous.start_seconds
        segments.append(
            ChordSegment(start, float(ends[index]), start_second, float(end_seconds[index]), *segment)
        )
    return segments


def chord_statistics(segments: list[ChordSegment]) -> dict[str, float]:
    """Progression statistics of chord segments.

    The chord sequence is the labels of the non-N segments with consecutive repeats merged (n chords).

    - ``n_chords``: n; ``n_unique_chords``: distinct labels.
    - ``chord_change_rate``: chord changes (n − 1, N ignored) per quarter note of the segments' total span.
    - ``no_chord_rate``: share of the span (quarter notes) labelled N.
    - ``chord_progression_irregularity``: Jazz Transformer CPI (Wu & Yang 2020) = distinct chord trigrams
      ÷ (n − 2); MusDr divides by n − 3, a bug fixed here.

    Undefined values are NaN: rates when the segments span no time, CPI when n < 3.
    """
    labels = [segment.label for segment in segments if segment.label != "N"]
    sequence = [label for index, label in enumerate(labels) if index == 0 or label != labels[index - 1]]
    n = len(sequence)
    span = sum(segment.end - segment.start for segment in segments)
    silent = sum(segment.end - segment.start for segment in segments if segment.label == "N")
    trigrams = {tuple(sequence[index : index + 3]) for index in range(n - 2)}
    return {
        "n_chords": float(n),
        "n_unique_chords": float(len(set(sequence))),
        "chord_change_rate": max(n - 1, 0) / span if span > 0 else float("nan"),
        "no_chord_rate": silent / span if span > 0 else float("nan"),
        "chord_progression_irregularity": len(trigrams) / (n - 2) if n >= 3 else float("nan"),
    }
