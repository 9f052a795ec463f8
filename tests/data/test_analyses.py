"""Expert analyses paired with the built chorales by Riemenschneider number."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from data import DataError, load_manifest, save_manifest
from data.analyses import analysed_chorales, analysis_files, entries_by_riemenschneider_number


def test_music21_ships_twenty_analyses() -> None:
    files = analysis_files()
    assert list(files) == list(range(1, 21))
    assert files[1].name == "riemenschneider001.rntxt" and files[1].is_file()


def test_entries_by_number_in_the_fixture(chorale_corpus: Path) -> None:
    by_number = entries_by_riemenschneider_number(chorale_corpus)
    assert list(by_number)[:20] == list(range(1, 21))
    duplicates = {d["source"] for d in load_manifest(chorale_corpus).duplicates}
    for number in list(by_number)[20:]:  # later numbers of the same scores (Riemenschneider lists some twice)
        assert f"{by_number[number].source} (Riemenschneider {number})" in duplicates
    assert (by_number[1].id, by_number[15].id, by_number[20].id) == ("bwv269", "bwv277", "bwv302")


def test_a_number_listed_as_a_duplicate_maps_to_the_score_converted_once(chorale_corpus: Path, tmp_path: Path):
    manifest = load_manifest(chorale_corpus)
    first = manifest.entries[0]
    listed = dataclasses.replace(manifest, duplicates=(
        {"source": f"{first.source} (Riemenschneider 300)", "same_as": f"{first.source} (Riemenschneider 1)"},
        {"source": "bach/elsewhere.mxl (Riemenschneider 301)", "same_as": "bach/x.mxl (Riemenschneider 2)"}))
    save_manifest(listed, tmp_path)
    by_number = entries_by_riemenschneider_number(tmp_path)
    assert by_number[300] == first and 301 not in by_number


def test_analysed_chorales_of_the_fixture(chorale_corpus: Path) -> None:
    (first,) = analysed_chorales(chorale_corpus, [1])
    assert (first.number, first.id, first.midi) == (1, "bwv269", chorale_corpus / "bwv269.mid")
    # the expanded score's bars: the repeat of bars 0-7, then the split bar 7a; numbers of the score's measures
    assert [(bar.number, bar.suffix, bar.start) for bar in first.bars[7:10]] == [(7, "", 19.0), (0, "", 21.0),
                                                                                (1, "", 22.0)]
    assert (first.bars[16].number, first.bars[16].suffix, first.bars[16].padding) == (7, "a", 2.0)
    with pytest.raises(DataError, match=r"Riemenschneider number\(s\) \[21\]"):
        analysed_chorales(chorale_corpus, [21])
