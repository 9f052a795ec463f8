"""Registry of the corpora that can be built from music21's bundled scores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import sources
from .sources import PieceSource

Lister = Callable[[], tuple[list[PieceSource], list[dict[str, str]]]]


@dataclass(frozen=True)
class CorpusSpec:
    """A buildable corpus: its name, a one-line description, the music21 corpus paths it reads, and the
    function that lists its pieces (returns ``(sources, duplicates)``)."""

    name: str
    description: str
    corpus_paths: tuple[str, ...]
    list_sources: Lister


CORPORA: dict[str, CorpusSpec] = {
    spec.name: spec
    for spec in (
        CorpusSpec(
            "bach-chorales",
            "J. S. Bach's 371 four-part chorales (Riemenschneider numbering; 350 distinct scores), SATB",
            ("bach/ (via music21.corpus.chorales.Iterator)",),
            sources.bach_chorale_sources,
        ),
        CorpusSpec(
            "essen-folk",
            "Essen Folksong Collection: 8,514 monophonic European (mostly German) folk songs in ABC",
            tuple(f"{d}/*.abc" for d in sources.ESSEN_DIRS),
            sources.essen_sources,
        ),
        CorpusSpec(
            "abc-tunes",
            "Fiddle and fife tunes in ABC: Ryan's Mammoth, O'Neill's 1850, Aird's Airs, misc folk (4,433 tunes)",
            tuple(f"{d}/*.abc" for d in sources.ABC_TUNE_DIRS),
            sources.abc_tune_sources,
        ),
        CorpusSpec(
            "palestrina",
            "Palestrina mass movements in Humdrum kern (1,318 files), 4-8 voices",
            ("palestrina/*.krn",),
            sources.palestrina_sources,
        ),
    )
}
