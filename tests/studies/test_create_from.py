"""`studies create-from`: a matched, balanced study file from a human folder and model folders."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from evaluation import piece_from_notes, write_midi
from studies import engine as E
from studies.__main__ import main
from studies.create_from import StudyDefaults, write_matched_study
from studies.cues import study_cues
from studies.errors import StudyError
from studies.spec import load_spec
from tunelab.testing.study_fixture import PINNED_SOUNDFONT


def melody(path: Path, center: int, *, tempo: float = 120.0, velocity: int = 90, program: int = 0,
           notes: int = 16) -> Path:
    """``notes`` quarter notes alternating around ``center`` (MIDI pitch) at ``tempo`` BPM."""
    pitches = [center + (2 if i % 2 else -2) for i in range(notes)]
    return write_midi(piece_from_notes(pitches, range(notes), [i + 1 for i in range(notes)], velocity=velocity,
                                       program=program, tempos=tempo), path)


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    human, machine = tmp_path / "human", tmp_path / "lstm"
    for center in (48, 60, 72, 84):  # four registers; the machine plays near 60 and 72 only
        melody(human / f"h{center}.mid", center, tempo=120, velocity=90)
    for center in (59, 71):
        melody(machine / f"m{center}.mid", center, tempo=80, velocity=60, program=40)
    (machine / "broken.mid").write_bytes(b"MThd broken")
    return human, machine


def test_chosen_clips_are_matched_on_register_and_balanced(folders: tuple[Path, Path], tmp_path: Path) -> None:
    human, machine = folders
    study = write_matched_study(human, {"lstm": machine}, "Human or machine?", tmp_path / "out" / "study.toml",
                                defaults=StudyDefaults(clip_seconds=4.0, soundfont=PINNED_SOUNDFONT))
    assert sorted(p.name for p in study.chosen["human"]) == ["h60.mid", "h72.mid"]  # nearest to 59 and 71
    assert sorted(p.name for p in study.chosen["lstm"]) == ["m59.mid", "m71.mid"]
    assert [(p.name, "cannot" in r or "corrupt" in r or "truncated" in r) for p, r in study.skipped] == [
        ("broken.mid", True)]
    data = tomllib.loads(study.path.read_text(encoding="utf-8"))
    assert data["stimuli"]["program"] == 0 and data["stimuli"]["tempo_bpm"] == 100
    assert data["trials_per_participant"] == 4
    spec = load_spec(study.path)  # `studies create` takes the file as it is
    assert {s.name: len(s.files()) for s in spec.stimulus_sets} == {"human": 2, "lstm": 2}
    report = study_cues(spec)
    assert [w for w in report.warnings() if "tempo" in w or "velocity" in w or "instrument" in w] == []


def test_several_models_get_the_same_count(folders: tuple[Path, Path], tmp_path: Path) -> None:
    human, machine = folders
    other = tmp_path / "markov"
    for center in (50, 62, 74):
        melody(other / f"k{center}.mid", center)
    study = write_matched_study(human, {"lstm": machine, "markov": other}, "t", tmp_path / "s.toml")
    assert {name: len(files) for name, files in study.chosen.items()} == {"human": 2, "lstm": 2, "markov": 2}
    assert load_spec(tmp_path / "s.toml").trials_per_participant == 4


@pytest.mark.parametrize(("change", "message"), [
    ({"computer": {}}, "at least one computer set"),
    ({"human_dir": Path("/nonexistent")}, "does not exist"),
    ({"per_set": 3}, "smallest set has 2"),
    ({"computer": {"human": None}}, "set names must differ"),
])
def test_bad_requests_are_refused(folders: tuple[Path, Path], tmp_path: Path, change: dict, message: str) -> None:
    human, machine = folders
    arguments = {"human_dir": human, "computer": {"lstm": machine}, "title": "t", "out_path": tmp_path / "s.toml"}
    for key, value in change.items():
        arguments[key] = {"human": machine} if value == {"human": None} else value
    with pytest.raises(StudyError, match=message):
        write_matched_study(**arguments)


def test_cli_writes_a_file_that_create_takes(folders: tuple[Path, Path], tmp_path: Path, db_url: str,
                                             capsys: pytest.CaptureFixture) -> None:
    human, machine = folders
    out = tmp_path / "study.toml"
    assert main(["create-from", "--human", str(human), "--computer", f"lstm={machine}", "--title", "Which?",
                 "--out", str(out), "--clip-seconds", "2", "--soundfont", str(PINNED_SOUNDFONT)]) == 0
    captured = capsys.readouterr()
    assert "wrote" in captured.out and "skipped" in captured.err
    assert main(["create", str(out), "--db", db_url, "--media", str(tmp_path / "media")]) == 0
    code = capsys.readouterr().out.split("study code: ")[1].split()[0]
    assert E.study_info(code, db_url)["title"] == "Which?"
    with pytest.raises(SystemExit) as usage:
        main(["create-from", "--human", str(human), "--computer", "no-equals-sign", "--title", "x", "--out",
              str(out)])
    assert usage.value.code == 2
