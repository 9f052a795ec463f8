"""Chords and keys against expert Roman-numeral analyses, beat by beat.

Protocol (one convention for every method):

- **Beats.** Every quarter note of every analysed measure, at the measure's first appearance in the MIDI
  file (a repeated section is counted once). A split bar (music21's measure 7 and 7a around a repeat sign)
  is one analysed measure: each part keeps its place in the bar (``paddingLeft``).
- **Reference.** The analyst's chord in force at the beat's onset: its root and bass pitch classes, its
  quality as a Harte quality of :data:`evaluation.chords.QUALITIES` (sevenths distinct: V and V7 differ;
  the few chords no Harte quality names, e.g. augmented sixths, are "other" and count as misses), and the
  key it is written in (the local key). The analysis's **global key** is the key of its first chord.
- **Rows.** root pitch class; root + quality; bass pitch class; global key (one per piece); local key (the
  estimated key at the beat vs the analyst's key in force); Roman numeral (root's interval above the tonic,
  mode and quality, each method in its own key: right only when key and chord are both right).
- **Methods.** *tunelab*: :func:`evaluation.chords.detect_chords` per beat on the MIDI file, keys from
  :mod:`evaluation.key`. *music21*: ``chordify`` of the expanded score, the chordified chord sounding at the
  beat's onset, ``chord.root()`` and ``chord.bass()``, its quality the Harte quality of its pitch classes
  above the root (:func:`quality_of`), and ``analyze('key')`` (Aarden-Essen profiles). *lowest note*: the
  lowest pitch sounding at the beat's onset is root and bass, the quality the best-matching template on that
  root. music21 reads the score (spelled pitches); the other two read the MIDI file.

- **Alignment.** An analysis is transposed by the interval that makes its chord tones sound most
  (:func:`align_transposition`: two of music21's analyses are of editions in other keys), and left out when
  fewer than :data:`MIN_CHORD_TONE_COVERAGE` of its chord tones sound where it puts them.

The chorales come from :func:`data.analyses.analysed_chorales` (any object with ``analysis``, ``midi``,
``score``, ``expanded`` and ``bars`` works); ``benchmarks/chord_accuracy.py`` prints the table and
``docs/analysis-accuracy.md`` records it. music21 is imported only by the functions that read scores.

Measured (``python benchmarks/chord_accuracy.py`` on ``data/bach-chorales``: the 20 analyses music21 ships,
bwv41.6 left out, 19 chorales, 1,060 beats)::

    measure                                   tunelab  tunelab local keys  music21  lowest note
    root pitch class                           93.4 %              93.4 %   90.8 %       65.7 %
    root + quality (Harte, sevenths distinct)  90.5 %              90.5 %   89.1 %       58.8 %
    bass pitch class                           95.8 %              95.8 %   95.0 %       95.0 %
    global key (per piece)                    19 / 19             19 / 19  19 / 19            -
    local key (per beat)                       61.7 %              78.9 %   61.7 %            -
    Roman numeral in the key in force          56.1 %              71.0 %   55.1 %            -

One key per piece can be right on at most 61.7 % of the beats. Before the chord and key rules of
:mod:`evaluation.chords` and :mod:`evaluation.key` (same harness): 87.3 %, 80.4 %, 88.4 %, 13 / 19, 48.6 %,
39.3 %.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.chords import QUALITIES, detect_chords, window_chroma
from evaluation.key import Key, estimate_key, estimate_local_keys
from evaluation.midi_io import Piece, read_midi

__all__ = [
    "METHODS",
    "ROWS",
    "AccuracyTable",
    "AnalysisChord",
    "BeatEstimate",
    "ReferenceBeat",
    "Tally",
    "compare",
    "evaluate_chorales",
    "lowest_note_estimates",
    "music21_estimates",
    "quality_of",
    "read_roman_text",
    "reference_beats",
    "tunelab_estimates",
]

ROWS = (
    "root pitch class",
    "root + quality (Harte, sevenths distinct)",
    "bass pitch class",
    "global key (per piece)",
    "local key (per beat)",
    "Roman numeral in the key in force",
)
METHODS = ("tunelab", "tunelab (local keys)", "music21", "lowest note")

_EXACT = {frozenset(intervals): quality for quality, intervals in QUALITIES.items()}


def quality_of(root: int, pitch_classes: Iterable[int]) -> str:
    """Harte quality of a set of pitch classes above ``root``: the quality with exactly these intervals, or
    else the one sharing most intervals with the set minus the chord tones it lacks (earlier in
    :data:`QUALITIES` on ties, so triads before sevenths); "other" without a root and a third or fifth."""
    intervals = frozenset((int(pc) - root) % 12 for pc in pitch_classes) | {0}
    if intervals in _EXACT:
        return _EXACT[intervals]
    best, best_score = "other", 0
    for quality, template in QUALITIES.items():
        shared = len(intervals & set(template))
        score = shared - (len(template) - shared)
        if score > best_score:
            best, best_score = quality, score
    return best


@dataclass(frozen=True)
class AnalysisChord:
    """One chord of an analysis: measure ``number``, ``position`` in quarter notes from the start of a full
    bar (a pickup's first beat is not 0), pitch classes of ``root`` and ``bass``, Harte ``quality``, the key
    it is written in, and the analyst's ``figure`` (e.g. "V6/5")."""

    number: int
    position: float
    root: int
    quality: str
    bass: int
    key: Key
    figure: str


@dataclass(frozen=True)
class ReferenceBeat:
    """The analysed chord in force at one beat; ``time`` in quarter notes of the MIDI file."""

    time: float
    chord: AnalysisChord


@dataclass(frozen=True)
class BeatEstimate:
    """A method's chord (``root``/``bass`` None for no chord) and key at one beat."""

    root: int | None
    quality: str
    bass: int | None
    key: Key | None = None


@dataclass(frozen=True)
class Tally:
    correct: int = 0
    total: int = 0

    @property
    def rate(self) -> float:
        return self.correct / self.total if self.total else math.nan

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.correct + other.correct, self.total + other.total)


@dataclass(frozen=True)
class AccuracyTable:
    """``rows[row][method]``: the tallies of :data:`ROWS` for each of :data:`METHODS` (a method without a
    value in a row is absent there); ``pieces`` and ``beats`` counted."""

    rows: dict[str, dict[str, Tally]]
    pieces: int
    beats: int
    per_piece: dict[str, dict[str, dict[str, Tally]]] = field(default_factory=dict)
    transposed: dict[str, int] = field(default_factory=dict)  # piece -> semitones the analysis was moved up
    excluded: dict[str, str] = field(default_factory=dict)  # piece -> why it is not in the table
    one_key_ceiling: Tally = Tally()  # beats whose analysed key is the piece's global key (best one key can do)

    def rate(self, row: str, method: str) -> float:
        return self.rows[row][method].rate if method in self.rows.get(row, {}) else math.nan

    def to_markdown(self) -> str:
        lines = [f"| measure ({self.pieces} chorales, {self.beats} beats) | " + " | ".join(METHODS) + " |",
                 "|---|" + "---|" * len(METHODS)]
        for row in ROWS:
            cells = []
            for method in METHODS:
                tally = self.rows.get(row, {}).get(method)
                cells.append(f"{100 * tally.rate:.1f}% ({tally.correct}/{tally.total})" if tally else "—")
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _key_of(music21_key: Any) -> Key:
    from evaluation.key import key_name  # noqa: PLC0415

    tonic, mode = int(music21_key.tonic.pitchClass), str(music21_key.mode)
    mode = mode if mode in ("major", "minor") else "major"
    return Key(tonic=tonic, mode=mode, name=key_name(tonic, mode), score=math.nan)


def read_roman_text(path: str | Path) -> list[AnalysisChord]:
    """The chords of a RomanText analysis (music21's ``romanText`` reader), in order."""
    from music21 import converter, roman, stream  # noqa: PLC0415

    parsed = converter.parse(str(path), format="romanText")
    chords = []
    for numeral in parsed.recurse().getElementsByClass(roman.RomanNumeral):
        measure = numeral.getContextByClass(stream.Measure)
        padding = float(measure.paddingLeft or 0.0) if measure is not None else 0.0
        root = int(numeral.root().pitchClass)
        chords.append(AnalysisChord(number=int(numeral.measureNumber or 0),
                                    position=float(numeral.offset) + padding, root=root,
                                    quality=quality_of(root, numeral.pitchClasses),
                                    bass=int(numeral.bass().pitchClass), key=_key_of(numeral.key),
                                    figure=str(numeral.figure)))
    return chords


def reference_beats(chords: Sequence[AnalysisChord], bars: Sequence[Any]) -> list[ReferenceBeat]:
    """The analysed chord in force at every quarter-note beat of every analysed measure.

    ``bars`` are the measures of the expanded score in time order, each with ``start`` and ``length``
    (quarter notes), ``number``, ``suffix`` and ``padding`` (:class:`data.bars.ScoreBar`). Only a measure's
    first appearance is used; a beat before the measure's first analysed chord takes the previous one.
    """
    by_measure: dict[int, list[AnalysisChord]] = {}
    for chord in chords:
        by_measure.setdefault(chord.number, []).append(chord)
    order = sorted(by_measure)
    seen: set[tuple[int, str]] = set()
    beats = []
    for bar in bars:
        if (bar.number, bar.suffix) in seen or bar.number not in by_measure:
            continue
        seen.add((bar.number, bar.suffix))
        for step in range(int(math.ceil(bar.length - 1e-9))):
            position = bar.padding + step
            in_force = [chord for chord in by_measure[bar.number] if chord.position <= position + 1e-9]
            if not in_force:
                earlier = [number for number in order if number < bar.number]
                if not earlier:
                    continue
                in_force = by_measure[earlier[-1]]
            beats.append(ReferenceBeat(time=bar.start + step, chord=in_force[-1]))
    return beats


#: An analysis whose chord tones (after the best transposition) sound in less than this share of its beats
#: is not an analysis of this score (bwv41.6: instrumental interludes between the phrases of music21's score
#: that the analysis does not count, 56 %; aligned analyses are at 93-100 %) and is left out of the table.
MIN_CHORD_TONE_COVERAGE = 0.8


def chord_tone_coverage(references: Sequence[ReferenceBeat], piece: Piece, transposition: int = 0) -> float:
    """Mean over beats of the share of the reference chord's tones (its quality's intervals above the root,
    transposed by ``transposition`` semitones) among the pitch classes sounding in the beat (quarter note);
    NaN without beats."""
    if not references:
        return math.nan
    starts = np.array([reference.time for reference in references])
    chroma, _ = window_chroma(piece.pitched(), starts, starts + 1.0)
    shares = []
    for reference, row in zip(references, chroma, strict=True):
        tones = QUALITIES.get(reference.chord.quality, (0,))
        shares.append(np.mean([row[(reference.chord.root + transposition + step) % 12] > 0 for step in tones]))
    return float(np.mean(shares))


def align_transposition(references: Sequence[ReferenceBeat], piece: Piece) -> tuple[int, float]:
    """The transposition (semitones up, 0-11) that makes the analysis fit the piece best, and its chord-tone
    coverage (:func:`chord_tone_coverage`). Some analyses are of an edition in another key than music21's
    score (bwv145.5 is analysed a tone lower, bwv184.5 a fourth higher); 0 wins ties."""
    coverages = [chord_tone_coverage(references, piece, shift) for shift in range(12)]
    best = int(np.nanargmax(coverages)) if references else 0
    return best, float(coverages[best]) if references else math.nan


def transpose(references: Sequence[ReferenceBeat], semitones: int) -> list[ReferenceBeat]:
    """References with roots, basses and keys moved up by ``semitones``."""
    from evaluation.key import key_name  # noqa: PLC0415

    out = []
    for reference in references:
        chord = reference.chord
        tonic = (chord.key.tonic + semitones) % 12
        key = Key(tonic=tonic, mode=chord.key.mode, name=key_name(tonic, chord.key.mode), score=chord.key.score)
        moved = dataclasses.replace(chord, root=(chord.root + semitones) % 12, bass=(chord.bass + semitones) % 12,
                                    key=key)
        out.append(ReferenceBeat(reference.time, moved))
    return out


def _beat_index(times: Sequence[float]) -> np.ndarray:
    return np.floor(np.asarray(times, dtype=np.float64) + 1e-9).astype(np.int64)


def tunelab_estimates(piece: Piece, times: Sequence[float], key_scope: str = "global") -> list[BeatEstimate]:
    """tunelab's chord of the one-quarter-note window at each time, and its key (global or local)."""
    segments = detect_chords(piece, per="beat", merge=False, key_scope=key_scope)
    global_key = estimate_key(piece.pitched())
    local = estimate_local_keys(piece) if key_scope == "local" else []
    out = []
    for index in _beat_index(times):
        segment = segments[index] if 0 <= index < len(segments) else None
        key = local[index] if key_scope == "local" and 0 <= index < len(local) else global_key
        if segment is None or segment.root is None:
            out.append(BeatEstimate(None, "", None, key))
        else:
            out.append(BeatEstimate(segment.root, segment.quality, segment.bass, key))
    return out


def _onset_bass(piece: Piece, time: float) -> int | None:
    pitched = ~piece.is_drum
    sounding = pitched & (piece.start <= time + 1e-9) & (piece.end > time + 1e-9)
    if not sounding.any():
        sounding = pitched & (piece.start > time) & (piece.start < time + 1.0)
    return int(piece.pitch[sounding].min()) if sounding.any() else None


def lowest_note_estimates(piece: Piece, times: Sequence[float]) -> list[BeatEstimate]:
    """Root and bass = the lowest pitch sounding at the beat's onset; quality = the template on that root
    closest (cosine) to the beat's duration-weighted chroma; key = tunelab's global key."""
    starts = np.asarray(times, dtype=np.float64)
    chroma, _ = window_chroma(piece, starts, starts + 1.0)
    key = estimate_key(piece.pitched())
    out = []
    for index, time in enumerate(starts):
        bass = _onset_bass(piece, float(time))
        if bass is None:
            out.append(BeatEstimate(None, "", None, key))
            continue
        root = bass % 12
        best, best_score = "maj", -1.0
        norm = np.linalg.norm(chroma[index]) or 1.0
        for quality, intervals in QUALITIES.items():
            template = np.zeros(12)
            template[[(root + step) % 12 for step in intervals]] = 1.0 / math.sqrt(len(intervals))
            score = float(chroma[index] @ template / norm)
            if score > best_score + 1e-12:
                best, best_score = quality, score
        out.append(BeatEstimate(root, best, root, key))
    return out


def music21_estimates(expanded: Any, times: Sequence[float], key: Key | None = None) -> list[BeatEstimate]:
    """music21's ``chordify`` of the expanded score: the chord sounding at each beat's onset, its
    ``root()``, ``bass()`` and quality (:func:`quality_of`); ``key`` is attached to every beat."""
    from music21 import chord  # noqa: PLC0415

    chords = list(expanded.chordify().flatten().getElementsByClass(chord.Chord))
    onsets = np.array([float(c.offset) for c in chords])
    ends = onsets + np.array([float(c.quarterLength) for c in chords])
    out = []
    for time in times:
        index = int(np.searchsorted(onsets, time + 1e-9, side="right")) - 1
        if index < 0 or ends[index] <= time + 1e-9 or not chords[index].pitches:
            out.append(BeatEstimate(None, "", None, key))
            continue
        found = chords[index]
        root = int(found.root().pitchClass)
        out.append(BeatEstimate(root, quality_of(root, found.pitchClasses), int(found.bass().pitchClass), key))
    return out


def _same_key(a: Key | None, b: Key) -> bool:
    return a is not None and a.tonic == b.tonic and a.mode == b.mode


def compare(references: Sequence[ReferenceBeat], estimates: Sequence[BeatEstimate],
            with_keys: bool = True) -> dict[str, Tally]:
    """Per-beat tallies of one method against the references: every row of :data:`ROWS` but the global key,
    and without the two key rows when ``with_keys`` is False."""
    if len(references) != len(estimates):
        raise ValueError(f"{len(references)} reference beats but {len(estimates)} estimates")
    counts = {row: 0 for row in ROWS}
    for reference, estimate in zip(references, estimates, strict=True):
        chord = reference.chord
        root_right = estimate.root == chord.root
        counts[ROWS[0]] += root_right
        counts[ROWS[1]] += root_right and estimate.quality == chord.quality
        counts[ROWS[2]] += estimate.bass == chord.bass
        counts[ROWS[4]] += _same_key(estimate.key, chord.key)
        if estimate.key is not None and estimate.root is not None:
            degree = (estimate.root - estimate.key.tonic) % 12, estimate.key.mode, estimate.quality
            counts[ROWS[5]] += degree == ((chord.root - chord.key.tonic) % 12, chord.key.mode, chord.quality)
    skipped = {ROWS[3]} if with_keys else {ROWS[3], ROWS[4], ROWS[5]}
    return {row: Tally(count, len(references)) for row, count in counts.items() if row not in skipped}


def _estimates(method: str, chorale: Any, piece: Piece, times: list[float]) -> tuple[list[BeatEstimate], Key | None]:
    """A method's per-beat estimates and its global key (None for a method without keys)."""
    if method in ("tunelab", "tunelab (local keys)"):
        scope = "local" if method == "tunelab (local keys)" else "global"
        return tunelab_estimates(piece, times, scope), estimate_key(piece.pitched())
    if method == "music21":
        key = _key_of(chorale.score.analyze("key"))
        return music21_estimates(chorale.expanded, times, key), key
    if method == "lowest note":
        return lowest_note_estimates(piece, times), None
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")


def evaluate_chorales(chorales: Iterable[Any], methods: Sequence[str] = METHODS,
                      progress: bool = False) -> AccuracyTable:
    """Score every method on every analysed chorale (see the module docstring); returns the pooled table
    (beats pooled over pieces; the global key counted once per piece) and the per-piece tallies.

    Each analysis is first transposed to fit its score (:func:`align_transposition`); one that fits worse
    than :data:`MIN_CHORD_TONE_COVERAGE` is left out and named in ``AccuracyTable.excluded``.
    """
    from tqdm import tqdm  # noqa: PLC0415

    rows: dict[str, dict[str, Tally]] = {row: {} for row in ROWS}
    per_piece: dict[str, dict[str, dict[str, Tally]]] = {}
    transposed: dict[str, int] = {}
    excluded: dict[str, str] = {}
    ceiling = Tally()
    pieces = beats = 0
    for chorale in tqdm(list(chorales), disable=not progress, desc="analyses", unit="chorale", dynamic_ncols=True):
        name = str(getattr(chorale, "id", chorale.midi))
        references = reference_beats(read_roman_text(chorale.analysis), chorale.bars)
        piece = read_midi(chorale.midi)
        shift, coverage = align_transposition(references, piece)
        if not coverage >= MIN_CHORD_TONE_COVERAGE:
            excluded[name] = (f"the analysis does not fit the score: {100 * coverage:.0f}% of its chord tones "
                              f"sound (at least {100 * MIN_CHORD_TONE_COVERAGE:.0f}% needed)")
            continue
        if shift:
            references = transpose(references, shift)
            transposed[name] = shift
        times = [reference.time for reference in references]
        home = references[0].chord.key
        in_home_key = sum(_same_key(reference.chord.key, home) for reference in references)
        ceiling = ceiling + Tally(in_home_key, len(references))
        per_piece[name] = {}
        for method in methods:
            found, global_key = _estimates(method, chorale, piece, times)
            tallies = compare(references, found, with_keys=global_key is not None)
            if global_key is not None:
                tallies[ROWS[3]] = Tally(int(_same_key(global_key, home)), 1)
            per_piece[name][method] = tallies
            for row, tally in tallies.items():
                rows[row][method] = rows[row].get(method, Tally()) + tally
        pieces += 1
        beats += len(references)
    return AccuracyTable(rows=rows, pieces=pieces, beats=beats, per_piece=per_piece, transposed=transposed,
                         excluded=excluded, one_key_ceiling=ceiling)
