"""Expert Roman-numeral analyses of Bach chorales, paired with the chorales of a built corpus.

music21 ships RomanText analyses of the first Riemenschneider chorales
(``corpus/bach/choraleAnalyses/riemenschneider001.rntxt`` ...; analysts of the DCMLab / Tymoczko project,
the headers name them). Each is paired, by Riemenschneider number, with the chorale as the corpus builder
made it: its MIDI file, its score (parsed again with music21, with the repairs the manifest records) and
the measures of the repeat-expanded score (:func:`data.bars.score_bars`), which give every analysed measure
its time in the MIDI file. :mod:`evaluation.accuracy` scores chord and key estimates against them.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bars import ScoreBar, score_bars
from .check import score_of_entry
from .errors import DataError
from .manifest import Entry, load_manifest
from .sources import music21_corpus_dir

__all__ = ["AnalysedChorale", "analysed_chorales", "analysis_files", "entries_by_riemenschneider_number"]

_NUMBER = re.compile(r"\(Riemenschneider (\d+)\)\s*$")
_FILE = re.compile(r"riemenschneider(\d+)\.rntxt$")


@dataclass(frozen=True, eq=False)
class AnalysedChorale:
    """One analysed chorale: ``analysis`` the RomanText file, ``midi`` the built MIDI file, ``score`` the
    music21 score it came from, ``expanded`` that score with its repeats written out (the MIDI's timeline) and
    ``bars`` its measures in time order."""

    number: int
    id: str
    analysis: Path
    midi: Path
    score: Any
    expanded: Any
    bars: tuple[ScoreBar, ...]


def analysis_files() -> dict[int, Path]:
    """Riemenschneider number -> RomanText analysis shipped with music21, in number order."""
    folder = music21_corpus_dir() / "bach" / "choraleAnalyses"
    found = {int(match.group(1)): path for path in folder.glob("*.rntxt") if (match := _FILE.search(path.name))}
    return dict(sorted(found.items()))


def entries_by_riemenschneider_number(folder: str | Path) -> dict[int, Entry]:
    """Riemenschneider number -> manifest entry of a built ``bach-chorales`` corpus (titles end with
    "(Riemenschneider N)"; numbers the builder listed as duplicates map to the entry of the same score)."""
    manifest = load_manifest(Path(folder))
    by_number: dict[int, Entry] = {}
    by_source = {entry.source: entry for entry in manifest.entries}
    for entry in manifest.entries:
        if match := _NUMBER.search(entry.title):
            by_number[int(match.group(1))] = entry
    for duplicate in manifest.duplicates:
        source, _, rest = duplicate.get("source", "").partition(" (")
        match = _NUMBER.search(f"({rest}")
        if match and source in by_source:
            by_number.setdefault(int(match.group(1)), by_source[source])
    return dict(sorted(by_number.items()))


def analysed_chorales(folder: str | Path, numbers: list[int] | None = None) -> list[AnalysedChorale]:
    """The analysed chorales of a built corpus (all analyses music21 ships, or ``numbers``), in number order.

    Raises ``DataError`` when the folder is not a built chorale corpus or lacks an analysed chorale.
    """
    from music21 import stream  # noqa: PLC0415

    folder = Path(folder)
    analyses = analysis_files()
    entries = entries_by_riemenschneider_number(folder)
    wanted = sorted(analyses) if numbers is None else list(numbers)
    missing = [number for number in wanted if number not in entries or number not in analyses]
    if missing:
        raise DataError(f"{folder} has no built chorale or music21 no analysis for Riemenschneider number(s) "
                        f"{missing[:10]}; build the corpus with `python -m data build bach-chorales`")
    out = []
    for number in wanted:
        entry = entries[number]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = score_of_entry(folder, entry)
            expanded = score.expandRepeats() if score[stream.Measure] else score
        out.append(AnalysedChorale(number, entry.id, analyses[number], folder / entry.midi, score, expanded,
                                   tuple(score_bars(expanded, score))))
    return out
