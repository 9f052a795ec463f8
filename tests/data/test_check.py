"""Every bar line of the repeat-expanded score is a bar line of the built MIDI file (the 20-chorale fixture;
``benchmarks/check_corpus_bar_lines.py`` runs the same check over the whole built corpus)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from data import load_manifest
from data.check import check_bar_lines, check_entry_bar_lines
from evaluation import read_midi, write_midi


def test_every_bar_line_of_the_chorale_fixture_is_in_place(chorale_corpus: Path) -> None:
    results = check_bar_lines(chorale_corpus)
    assert len(results) == 20
    assert [r.id for r in results if not r.ok] == []
    assert sum(r.n_bars for r in results) > 400  # the check compared real bar lines, not empty lists
    manifest = load_manifest(chorale_corpus)
    bwv269 = read_midi(chorale_corpus / next(e.midi for e in manifest.entries if e.id == "bwv269"))
    # the repeat of bwv269 starts with its own one-beat pickup: bars at 21, 22, 25, 28 (not 21, 24, 27)
    assert [x for x in bwv269.bar_starts().tolist() if 18 <= x <= 30] == [19.0, 21.0, 22.0, 25.0, 28.0]


def test_the_check_finds_bar_lines_written_under_the_full_bar_meter(chorale_corpus: Path, tmp_path: Path) -> None:
    # a pickup signature at 0, then 3/4 throughout (the full-bar meter after the first pickup)
    entry = next(e for e in load_manifest(chorale_corpus).entries if e.id == "bwv269")
    folder = tmp_path / "corpus"
    folder.mkdir()
    piece = read_midi(chorale_corpus / entry.midi)
    write_midi(dataclasses.replace(piece, time_signatures=np.array([[0, 1, 4], [1, 3, 4]], dtype=float)),
               folder / entry.midi)
    result = check_entry_bar_lines(folder, entry)
    assert not result.ok
    # the pickups of the repeat (21) and of two later phrases (42, 63) lose their bar lines
    assert (result.missing, result.extra) == ((21.0, 42.0, 63.0), ())
