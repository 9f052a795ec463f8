"""`python -m data import`: the user's own kern / MusicXML files become a built corpus, bad files reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data import DataError, corpus_files
from data.__main__ import main
from data.import_scores import import_scores, score_sources
from evaluation import read_midi

# C major scale fragment in 3/4: c d e | f g (half); lowercase c is middle C (MIDI 60) in Humdrum **kern
KERN = "**kern\n*M3/4\n=1\n4c\n4d\n4e\n=2\n4f\n2g\n==\n*-\n"


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "scores"
    (folder / "sub").mkdir(parents=True)
    for i in range(4):
        (folder / f"tune{i}.krn").write_text(KERN, encoding="utf-8")
    (folder / "sub" / "other tune.krn").write_text(KERN.replace("4c", "4B"), encoding="utf-8")  # B3 = 59
    (folder / "broken.krn").write_text("**kern\n*M3/4\n4c\n*-\n*-\n4q!!\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not a score", encoding="utf-8")
    return folder


def test_kern_files_become_a_corpus_with_the_notes_of_the_score(tmp_path: Path):
    folder = _folder(tmp_path)
    manifest = import_scores(folder, tmp_path / "corpus", name="mine")
    assert manifest.name == "mine"
    assert sorted(e.id for e in manifest.entries) == ["sub_other_tune", "tune0", "tune1", "tune2", "tune3"]
    files = corpus_files(tmp_path / "corpus")
    assert len(files) == 5
    piece = read_midi(tmp_path / "corpus" / "tune0.mid")
    assert piece.pitch.tolist() == [60, 62, 64, 65, 67]
    assert piece.start.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert piece.end.tolist() == [1.0, 2.0, 3.0, 4.0, 6.0]
    assert piece.time_signatures[0, 1:].tolist() == [3.0, 4.0]
    assert read_midi(tmp_path / "corpus" / "sub_other_tune.mid").pitch[0] == 59
    splits = {s: len(corpus_files(tmp_path / "corpus", s)) for s in ("train", "validation", "test")}
    assert sum(splits.values()) == 5


def test_a_broken_file_is_reported_by_name_and_the_others_are_kept(tmp_path: Path):
    manifest = import_scores(_folder(tmp_path), tmp_path / "corpus")
    assert [f.source for f in manifest.failures] == ["broken.krn"]
    assert manifest.failures[0].reason
    assert manifest.count == 5


def test_ids_stay_unique_when_names_clash(tmp_path: Path):
    folder = tmp_path / "scores"
    (folder / "a").mkdir(parents=True)
    (folder / "a_b.krn").write_text(KERN, encoding="utf-8")
    (folder / "a" / "b.krn").write_text(KERN, encoding="utf-8")
    assert [s.id for s in score_sources(folder)] == ["a_b", "a_b_2"]


def test_no_score_files_or_nothing_readable_is_a_clear_error(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.mid").write_bytes(b"MThd")
    with pytest.raises(DataError, match="no score files"):
        import_scores(tmp_path / "empty", tmp_path / "out")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.krn").write_text("**kern\n*-\n", encoding="utf-8")
    with pytest.raises(DataError, match="none of the 1 score files could be converted, e.g. x.krn"):
        import_scores(tmp_path / "bad", tmp_path / "out2")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(DataError, match="not empty and holds no corpus manifest"):
        import_scores(_folder(tmp_path), tmp_path / "taken")
    assert (tmp_path / "taken" / "mine.txt").read_text(encoding="utf-8") == "keep me"


def test_cli_imports_and_exits_2_on_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["import", str(_folder(tmp_path)), "--out", str(tmp_path / "c"), "--name", "k"]) == 0
    out = capsys.readouterr().out
    assert "k: 5 pieces" in out and "failed: broken.krn" in out
    assert json.loads((tmp_path / "c" / "manifest.json").read_text(encoding="utf-8"))["name"] == "k"
    assert main(["import", str(tmp_path / "missing"), "--out", str(tmp_path / "d")]) == 2
    assert "not a folder of score files" in capsys.readouterr().err
