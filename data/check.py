"""Check a built corpus against its scores: does every bar line of the repeat-expanded score fall on a bar
line of the MIDI file?

The expected bar lines are the measure starts of music21's ``expandRepeats`` of the score (after the repairs
the manifest records, e.g. repeats removed from bwv277); the MIDI's are :meth:`evaluation.Piece.bar_starts`
of the written file. Both are compared before the last note ends (a trailing empty measure has no bar line in
a MIDI file). Times in quarter notes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation import read_midi

from .convert import remove_repeats
from .manifest import Entry, load_manifest
from .sources import music21_corpus_dir

__all__ = ["BarLineCheck", "check_bar_lines", "check_entry_bar_lines", "expected_bar_lines", "score_of_entry"]


@dataclass(frozen=True)
class BarLineCheck:
    """Result for one piece: ``missing`` bar lines of the score that the MIDI lacks, ``extra`` MIDI bar lines
    that the score lacks (quarter notes), and ``n_bars`` the score's bar lines compared."""

    id: str
    n_bars: int
    missing: tuple[float, ...]
    extra: tuple[float, ...]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.extra


def expected_bar_lines(score) -> np.ndarray:
    """Measure starts (quarter notes) of the repeat-expanded music21 ``score``, from its first part with
    measures."""
    from music21 import stream  # noqa: PLC0415

    expanded = score.expandRepeats() if score[stream.Measure] else score
    for part in list(getattr(expanded, "parts", [])) or [expanded]:
        measures = list(part.getElementsByClass(stream.Measure))
        if measures:
            return np.array([float(measure.offset) for measure in measures])
    return np.zeros(0)


def score_of_entry(folder: str | Path, entry: Entry):
    """The music21 score of a manifest entry (its ABC text, or its file in music21's corpus), with the repeat
    signs removed when the builder removed them."""
    from music21 import converter, stream  # noqa: PLC0415

    if entry.abc:
        score = converter.parse((Path(folder) / entry.abc).read_text(encoding="utf-8"), format="abc")
    else:
        score = converter.parse(music21_corpus_dir() / entry.source.split("#", 1)[0])
    if isinstance(score, stream.Opus):
        score = score.scores[0]
    if any("repeat signs" in repair for repair in entry.repairs):
        remove_repeats(score)
    return score


def check_entry_bar_lines(folder: str | Path, entry: Entry) -> BarLineCheck:
    """Compare the bar lines of one manifest entry's MIDI file with those of its score."""
    folder = Path(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = expected_bar_lines(score_of_entry(folder, entry))
    piece = read_midi(folder / entry.midi)
    expected = expected[expected < piece.duration - 1e-9]
    found = piece.bar_starts()
    missing = [float(x) for x in expected if not np.any(np.abs(found - x) < 1e-6)]
    extra = [float(x) for x in found if not np.any(np.abs(expected - x) < 1e-6)]
    return BarLineCheck(entry.id, int(expected.size), tuple(missing), tuple(extra))


def check_bar_lines(folder: str | Path, progress: bool = False) -> list[BarLineCheck]:
    """:func:`check_entry_bar_lines` for every piece of a built corpus, in manifest order."""
    from tqdm import tqdm  # noqa: PLC0415

    folder = Path(folder)
    entries = load_manifest(folder).entries
    return [check_entry_bar_lines(folder, entry)
            for entry in tqdm(entries, disable=not progress, desc="bar lines", unit="piece", dynamic_ncols=True)]
