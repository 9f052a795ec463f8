"""The demo job (`make demo`) on a small chorale corpus with a tiny LSTM: every step runs (training, sampling,
scoring beside the Markov baseline, a matched study of chorales vs the LSTM), and a second run redoes nothing."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
from pathlib import Path

import pytest

from data import build_corpus
from evaluation import piece_from_notes, read_midi, write_midi
from studies import engine, results
from studies.cues import compare, measure_file, study_cues
from studies.spec import load_spec
from studies.stimuli import ClipSettings
from tunelab.testing.study_fixture import PINNED_SOUNDFONT

REPO = Path(__file__).resolve().parents[2]
TINY_MODEL = {"hidden": 16, "embedding_dim": 8, "window": 16, "batch_size": 8, "epochs": 2, "max_batches": 6,
              "learning_rate": 0.01, "max_minutes": 0.0, "device": "cpu"}
TINY_SAMPLES = {"n": 8, "steps": 48}


def _demo_module():
    spec = importlib.util.spec_from_file_location("tunelab_demo", REPO / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_trains_samples_scores_and_makes_a_matched_study_then_reuses_everything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    demo = _demo_module()
    corpus = build_corpus("bach-chorales", out_dir=tmp_path / "corpus", limit=16, fractions=(0.5, 0.1, 0.4))
    db_url = f"sqlite:///{tmp_path / 'studies.db'}"
    run_dir, report_dir, media = tmp_path / "run", tmp_path / "report", tmp_path / "media"
    monkeypatch.setenv("TUNELAB_PREPARED_DIR", str(tmp_path / "prepared"))

    code = demo.prepare(corpus, run_dir, report_dir, db_url, jobs=1, seed=0, media_dir=media,
                        soundfont=PINNED_SOUNDFONT, model=TINY_MODEL, samples=TINY_SAMPLES, progress=False)

    # the LSTM was trained (2 epochs on the corpus's training split) and sampled
    with (run_dir / "lstm" / "metrics.csv").open(newline="") as handle:
        epochs = list(csv.DictReader(handle))
    assert len(epochs) == 2 and all(math.isfinite(float(e["val_frame_nll"])) for e in epochs)
    sampled = sorted((run_dir / "lstm-samples").glob("lstm_*.mid"))
    assert 6 <= len(sampled) <= 8 and all(read_midi(p).n_notes > 0 for p in sampled)
    # one report scores both generated sets against the held-out chorales (40% of 16 are held out)
    with open(report_dir / "features.csv", newline="") as handle:
        sets = [row["set"] for row in csv.DictReader(handle)]
    assert (sets.count("lstm"), sets.count("markov"), sets.count("reference")) == (len(sampled), 30, 6)
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    assert {entry["name"] for entry in summary["ranking"]} == {"lstm", "markov"}
    lines = demo.ranking_lines(report_dir)
    assert len(lines) == 2 and lines[0].startswith("1. ") and "held-out chorales" in lines[0]
    # the study: 6 held-out chorales vs 6 LSTM pieces, one instrument, tempo and velocity scale
    clips = sorted((media / code).iterdir())
    assert len(clips) == 12
    spec = engine.study_spec(code, db_url)
    assert [(s.name, s.kind) for s in spec.stimulus_sets] == [("bach", "human"), ("lstm", "computer")]
    assert {k: spec.stimuli[k] for k in ("program", "mean_velocity", "tempo_bpm")} == {
        "program": 0, "mean_velocity": 80, "tempo_bpm": 100}
    session = engine.start_or_resume(code, "tester", db_url)
    assert engine.current_trial(session.participant_id, db_url).total == 12
    assert len(results.responses_frame(code, db_url)) == 0  # no answers yet: empty but well-formed
    assert (run_dir / "study_cues.txt").read_text().strip() == study_cues(spec).table()
    text = demo.summary_text(code, 8501, run_dir, report_dir)
    assert f"?study={code}" in text and "admin_password.txt" in text and lines[0] in text

    report_time = (report_dir / "report.html").stat().st_mtime
    checkpoint_time = (run_dir / "lstm" / "best.pt").stat().st_mtime

    def rebuilt(*args: object, **kwargs: object) -> None:
        raise AssertionError("the second run rebuilt something")

    # nothing is trained, sampled, scored or rendered again: each of those steps fails if it is reached
    import generation.baselines
    import generation.workflow
    import studies.create_from

    monkeypatch.setattr(generation.workflow, "train_from_corpus", rebuilt)
    monkeypatch.setattr(generation.workflow, "sample_run", rebuilt)
    monkeypatch.setattr(generation.baselines, "generate_markov_set", rebuilt)
    monkeypatch.setattr(studies.create_from, "write_matched_study", rebuilt)
    monkeypatch.setattr(demo.subprocess, "run", rebuilt)
    monkeypatch.setattr(engine, "create_study", rebuilt)
    again = demo.prepare(corpus, run_dir, report_dir, db_url, jobs=1, seed=0, media_dir=media,
                         soundfont=PINNED_SOUNDFONT, model=TINY_MODEL, samples=TINY_SAMPLES, progress=False)
    assert again == code
    assert (report_dir / "report.html").stat().st_mtime == report_time
    assert (run_dir / "lstm" / "best.pt").stat().st_mtime == checkpoint_time
    assert sorted((media / code).iterdir()) == clips
    assert "already trained" in capsys.readouterr().out


def _pieces(folder: Path, stem: str, onsets_per_beat: list[int], base: int) -> None:
    """One piece per density: ``k`` evenly spaced notes per beat over 40 beats, around pitch ``base``."""
    for i, k in enumerate(onsets_per_beat):
        starts = [b + j / k for b in range(40) for j in range(k)]
        pitches = [base + (n * 5) % 12 for n in range(len(starts))]
        write_midi(piece_from_notes(pitches, starts, [s + 1 / k for s in starts], velocity=70 + 10 * (i % 3),
                                    program=i % 2, tempos=120.0 if stem == "chorale" else 80.0),
                   folder / f"{stem}_{i:02d}.mid")


def test_demo_study_picks_matched_sets_from_the_pools(tmp_path: Path) -> None:
    """Dense and sparse pieces in both pools, at different tempi, velocities and instruments: the demo's study
    (one tempo, velocity scale and instrument; nearest-neighbour choice) has no cue that separates its sets,
    while a naive choice (the last chorales, the first generated pieces) differs in note density."""
    demo = _demo_module()
    humans, machines = tmp_path / "human-pool", tmp_path / "lstm"
    _pieces(humans, "chorale", [2, 2, 3, 3, 4, 4, 4, 4, 4, 4], base=60)
    _pieces(machines, "lstm", [1, 1, 1, 2, 2, 2, 3, 3, 3, 1], base=60)
    db_url = f"sqlite:///{tmp_path / 's.db'}"
    code = demo.study(humans, machines, tmp_path / "run", db_url, jobs=1, seed=0, media_dir=tmp_path / "media",
                      soundfont=PINNED_SOUNDFONT)
    spec = load_spec(tmp_path / "run" / "study" / "study.toml")
    assert [len(s.files()) for s in spec.stimulus_sets] == [6, 6]
    assert study_cues(spec).separating == ()
    assert engine.study_info(code, db_url)["total_trials"] == 12
    settings = ClipSettings(clip_seconds=15.0, program=0, mean_velocity=80, tempo_bpm=100)
    naive = [measure_file(f, settings, "", "human") for f in sorted(humans.iterdir())[-6:]]
    naive += [measure_file(f, settings, "", "computer") for f in sorted(machines.iterdir())[:6]]
    assert "note density" in {r.cue for r in compare(naive).separating}
