"""studies.cues: what a listener hears besides the composition, compared between the sets; warnings in the
CLI; matched selection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evaluation import piece_from_notes, write_midi
from studies.__main__ import main
from studies.cues import LARGE_DELTA, StimulusCues, compare, match_sets, measure_piece, separation, study_cues
from studies.spec import load_spec
from studies.stimuli import ClipSettings
from tunelab.testing.study_fixture import PINNED_SOUNDFONT, study_toml_text


def test_separation_by_hand():
    # c=2 beats h=1, ties h=2: 1.5; c=3: 2.5; c=4: 3 -> 7 of 9 pairs
    auc, delta, _ = separation([1, 2, 3], [2, 3, 4])
    assert auc == pytest.approx(7 / 9) and delta == pytest.approx(5 / 9) and abs(delta) >= LARGE_DELTA
    auc, delta, _ = separation([1, 2, 3], [1, 2, 4])  # 0.5 + 1.5 + 3 = 5 of 9
    assert auc == pytest.approx(5 / 9) and abs(delta) < LARGE_DELTA
    assert separation([5, 5], [5, 5, 5]) == (0.5, 0.0, 1.0)
    auc, delta, p = separation([1, 2, 3, 4], [11, 12, 13, 14])
    assert (auc, delta) == (1.0, 1.0) and p == pytest.approx(2 / 70)  # exact: 2 of C(8, 4) orderings


def test_measure_piece_inside_the_clip_window():
    # 4 quarter notes a beat at 120 BPM (0.5 s each), pitches 60..67, velocities 60 and 100, then drums
    piece = piece_from_notes([60, 62, 64, 67, 36], [0, 1, 2, 3, 4], [1, 2, 3, 4, 5], velocity=[60, 100, 60, 100, 80],
                             program=[5, 5, 5, 5, 0], is_drum=[False] * 4 + [True], tempos=120.0)
    cues = measure_piece(piece, start_seconds=0.5, clip_seconds=1.5)  # notes starting at 0.5, 1.0, 1.5 s
    assert cues["music_seconds"] == pytest.approx(1.5) and cues["tempo_bpm"] == pytest.approx(120.0)
    assert cues["mean_velocity"] == pytest.approx(260 / 3) and cues["mean_pitch"] == pytest.approx(193 / 3)
    assert cues["notes_per_second"] == pytest.approx(2.0) and cues["programs"] == ("5",)
    whole = measure_piece(piece, clip_seconds=10.0)  # the piece lasts 2.5 s of the 10 s clip
    assert whole["music_seconds"] == pytest.approx(2.5) and whole["programs"] == ("5", "drums")
    assert measure_piece(piece, start_seconds=5.0, clip_seconds=2.0)["tempo_bpm"] is None


def _stimulus(kind: str, i: int, **values) -> StimulusCues:
    base = {"tempo_bpm": 100.0, "mean_velocity": 80.0, "programs": ("0",), "mean_pitch": 60.0 + i % 3,
            "notes_per_second": 4.0 + 0.1 * (i % 2), "music_seconds": 15.0}
    return StimulusCues(f"{kind}{i}.mid", kind, kind, **{**base, **values})


def test_compare_flags_each_cue_that_separates_the_sets():
    matched = [_stimulus("human", i) for i in range(6)] + [_stimulus("computer", i) for i in range(6)]
    report = compare(matched)
    assert [r.cue for r in report.rows] == ["tempo", "velocity", "register", "note density", "music length",
                                           "instrument (program 0)"]
    assert report.separating == () and report.warnings() == []
    slow = [_stimulus("human", i, tempo_bpm=120.0, mean_velocity=90.0) for i in range(6)]
    slow += [_stimulus("computer", i, tempo_bpm=80.0, programs=("4",)) for i in range(6)]
    report = compare(slow)
    rows = {r.cue.split(" (")[0]: r for r in report.rows}
    assert rows["tempo"].separates and rows["tempo"].auc == 0.0 and rows["tempo"].human == "120 [120-120] BPM"
    assert rows["velocity"].separates and rows["instrument"].separates
    assert not rows["register"].separates and not rows["music length"].separates
    warnings = report.warnings()
    assert len(warnings) == 3 and "tempo_bpm" in warnings[0] and "program" in warnings[2]
    # differences under the resolution are no cue: 80.4 vs 79.7 mean velocity, 100 vs 101 BPM
    close = [_stimulus("human", i, mean_velocity=80.4, tempo_bpm=100.0) for i in range(6)]
    close += [_stimulus("computer", i, mean_velocity=79.7, tempo_bpm=101.0) for i in range(6)]
    assert compare(close).separating == ()


def test_match_sets_picks_the_closest_pairs():
    human = [_stimulus("human", i, notes_per_second=d, mean_pitch=60.0)
             for i, d in enumerate([3.0, 3.5, 5.0, 5.5, 6.0])]
    computer = [_stimulus("computer", i, notes_per_second=d, mean_pitch=60.0)
                for i, d in enumerate([2.0, 2.9, 3.4, 3.6, 4.9])]
    h, c = match_sets(human, computer, 3)
    # the three closest disjoint pairs: 3.0-2.9, 3.5-3.6 (|log 3.5/3.6| < |log 3.5/3.4|) and 5.0-4.9
    assert sorted(s.notes_per_second for s in h) == [3.0, 3.5, 5.0]
    assert sorted(s.notes_per_second for s in c) == [2.9, 3.6, 4.9]
    assert compare(h + c).separating == ()
    assert compare(human + computer).separating != ()  # the unmatched pools differ in note density


def _write_sets(root: Path, machine_tempo: float, machine_velocity: int, machine_program: int) -> Path:
    notes = [60, 64, 67, 72, 67, 64, 62, 59]
    for i in range(4):
        write_midi(piece_from_notes([n + i for n in notes], np.arange(8), np.arange(1, 9), velocity=90, program=0,
                                    tempos=120.0), root / "human" / f"h{i}.mid")
        write_midi(piece_from_notes([n + i for n in notes], np.arange(8), np.arange(1, 9),
                                    velocity=machine_velocity, program=machine_program, tempos=machine_tempo),
                   root / "machine" / f"m{i}.mid")
    return root


def _study(root: Path, stimuli: dict, name: str = "study.toml") -> Path:
    data = {"title": "Cues", "consent": "ok", "test_type": "turing", "trials_per_participant": 4,
            "clip_seconds": 2.0, "stimuli": {"soundfont": str(PINNED_SOUNDFONT), **stimuli},
            "stimulus_sets": [{"name": "bach", "kind": "human", "folder": "human"},
                              {"name": "markov", "kind": "computer", "folder": "machine"}]}
    path = root / name
    path.write_text(study_toml_text(data))
    return path


def test_the_demo_giveaway_warns_in_the_cli_and_normalisation_removes_it(tmp_path, capsys):
    """Machine pieces at 80 BPM, velocity 80 and another instrument; chorales at 120 BPM and velocity 90."""
    root = _write_sets(tmp_path, machine_tempo=80.0, machine_velocity=80, machine_program=4)
    raw = _study(root, {})
    assert main(["cues", str(raw)]) == 0
    out, err = capsys.readouterr()
    assert "tempo" in out and "YES" in out
    warned = {line.split(" separates")[0] for line in err.splitlines() if line.startswith("warning: ")}
    # at 80 BPM fewer notes fall into the 2-second clip, so note density (and register) follow the tempo
    assert {"warning: tempo", "warning: velocity", "warning: instrument (program 0)",
            "warning: note density"} <= warned
    fixed = _study(root, {"tempo_bpm": 100.0, "mean_velocity": 85, "program": 0}, name="matched.toml")
    report = study_cues(load_spec(fixed))
    assert report.separating == ()
    assert main(["cues", str(fixed), "--json"]) == 0
    out, err = capsys.readouterr()
    table = json.loads(out)
    assert not any(r["separates"] for r in table["rows"]) and "warning" not in err
    assert [s["tempo_bpm"] for s in table["stimuli"]] == pytest.approx([100.0] * 8)
    # `create` prints the table and the warnings before it renders anything
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["create", str(raw), "--db", db, "--media", str(tmp_path / "media")]) == 0
    assert "warning: tempo separates the sets" in capsys.readouterr().err


def test_settings_from_the_study_file_decide_what_is_measured(tmp_path):
    root = _write_sets(tmp_path, machine_tempo=80.0, machine_velocity=90, machine_program=0)
    spec = load_spec(_study(root, {"start_seconds": 1.0}))
    report = study_cues(spec, ClipSettings(clip_seconds=2.0, start_seconds=1.0, soundfont=PINNED_SOUNDFONT))
    tempo = {s.kind: s.tempo_bpm for s in report.stimuli}
    assert tempo == {"human": pytest.approx(120.0), "computer": pytest.approx(80.0)}
    length = {s.kind: s.music_seconds for s in report.stimuli}
    # 8 quarters: 4 s at 120 BPM, 6 s at 80 BPM; from 1 s the 2-second clip is full for both
    assert length == {"human": pytest.approx(2.0), "computer": pytest.approx(2.0)}


def test_an_unreadable_stimulus_is_skipped_by_the_cues_and_reported_by_create(tmp_path, capsys):
    root = _write_sets(tmp_path, machine_tempo=120.0, machine_velocity=90, machine_program=0)
    (root / "machine" / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06junk")
    study = _study(root, {})
    report = study_cues(load_spec(study))
    assert len(report.stimuli) == 8 and [Path(f).name for f, _ in report.skipped] == ["broken.mid"]
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["create", str(study), "--db", db, "--media", str(tmp_path / "media")]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("error: ") and "broken.mid" in err.splitlines()[-1]
