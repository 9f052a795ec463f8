"""Note matching worked by hand, and the round trips of every encoding measured on real chorales and songs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation import piece_from_notes
from generation.__main__ import main
from generation.roundtrip import NoteScores, match_notes, roundtrip


def _piece(notes, tempo: float = 60.0):  # 60 BPM: one quarter note = 1 s
    pitch, start, end = zip(*notes, strict=True)
    return piece_from_notes(list(pitch), list(start), list(end), tempos=tempo)


def test_match_notes_needs_the_pitch_and_an_onset_within_the_tolerance() -> None:
    reference = _piece([(60, 0, 1), (62, 1, 2), (64, 2, 3), (64, 2.5, 3)])
    estimate = _piece([(60, 0.04, 1), (62, 1.06, 2), (65, 2, 3), (64, 2.5, 3), (64, 2.52, 3)])
    scores = match_notes(reference, estimate, onset_tolerance=0.05)
    assert (scores.n_reference, scores.n_estimate, scores.n_matched) == (4, 5, 2)  # 60 and the second 64
    assert scores.precision == pytest.approx(2 / 5) and scores.recall == pytest.approx(2 / 4)
    assert scores.f1 == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    assert match_notes(reference, estimate, onset_tolerance=0.1).n_matched == 3


def test_match_notes_with_offsets_uses_mir_evals_rule() -> None:
    reference = _piece([(60, 0, 1), (62, 1, 3)])
    estimate = _piece([(60, 0, 1.3), (62, 1, 2.7)])  # 60: off by 0.3 > max(0.05, 0.2); 62: 0.3 <= 0.4
    assert match_notes(reference, estimate, offsets=True).n_matched == 1
    assert match_notes(reference, estimate).n_matched == 2


def test_note_scores_sum_and_are_nan_when_undefined() -> None:
    total = NoteScores(3, 2, 2) + NoteScores(1, 0, 0)
    assert (total.n_reference, total.n_estimate, total.n_matched) == (4, 2, 2)
    empty = NoteScores()
    assert empty.f1 != empty.f1 and empty.to_dict()["f1"] is None


def _json_rows(capsys, *argv: str) -> list[dict]:
    assert main(["roundtrip", *argv, "--json", "--no-progress"]) == 0
    return json.loads(capsys.readouterr().out)["rows"]


@pytest.mark.parametrize("name", ["notewise-chord", "folk-steps", "biaxial"])
def test_lossless_encodings_reach_f1_one_on_the_chorales(name: str, chorale_corpus: Path, capsys) -> None:
    (row,) = _json_rows(capsys, "--corpus", str(chorale_corpus), "--encoding", name)
    assert row["pieces"] == 20 and row["repairs"] == 0
    assert row["vs_preprocessed"]["f1"] == 1.0
    assert row["vs_preprocessed"]["n_reference"] == row["vs_preprocessed"]["n_matched"] > 1000


def test_lossy_encodings_state_and_measure_what_they_lose(chorale_corpus: Path, capsys) -> None:
    rows = _json_rows(capsys, "--corpus", str(chorale_corpus), "--encoding", "pianoroll-tokens", "--fs", "4,16")
    assert [row["setting"] for row in rows] == ["fs 4 frames/s", "fs 16 frames/s"]
    low, high = (row["vs_preprocessed"]["f1"] for row in rows)
    assert low < high < 1.0  # low fs loses more notes; repeated notes merge at any fs
    (root,) = _json_rows(capsys, "--corpus", str(chorale_corpus), "--encoding", "notewise-root")
    assert root["vs_preprocessed"]["recall"] < 0.5 and "root" in root["fidelity"]


def test_roundtrip_table_lists_every_midi_encoding(chorale_corpus: Path, capsys) -> None:
    assert main(["roundtrip", "--corpus", str(chorale_corpus), "--encoding", "all", "--limit", "3",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    for name in ("notewise-chord", "notewise-root", "notewise-root-rest", "multilabel", "pianoroll-tokens",
                 "folk-steps", "biaxial"):
        assert f"\n{name} " in out
    assert "onset within 50 ms and pitch exact" in out


def test_roundtrip_of_fs_on_an_encoding_without_fs_exits_2(chorale_corpus: Path, capsys) -> None:
    assert main(["roundtrip", "--corpus", str(chorale_corpus), "--encoding", "biaxial", "--fs", "8",
                 "--no-progress"]) == 2
    assert "--fs does not apply to biaxial" in capsys.readouterr().err


def test_abc_round_trip_matches_the_corpus_midi(essen_corpus: Path) -> None:
    (row,) = roundtrip(essen_corpus, "abc-chars", progress=False)
    assert row.parse_share == 1.0 and row.exact_text_share == 1.0
    assert row.vs_preprocessed.f1 == 1.0  # the normal form plays as the full tune text
    assert row.vs_source is not None and row.vs_source.f1 == 1.0  # and as music21's MIDI of it
