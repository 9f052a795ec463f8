"""The demo job (`make demo`) on a small chorale corpus: every step runs, and a second run rebuilds nothing."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

from data import build_corpus
from studies import engine, results

REPO = Path(__file__).resolve().parents[2]


def _demo_module():
    spec = importlib.util.spec_from_file_location("tunelab_demo", REPO / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_prepares_scores_and_a_twelve_clip_study_then_reuses_everything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    demo = _demo_module()
    corpus = build_corpus("bach-chorales", out_dir=tmp_path / "corpus", limit=16, fractions=(0.5, 0.1, 0.4))
    db_url = f"sqlite:///{tmp_path / 'studies.db'}"
    run_dir, report_dir, media = tmp_path / "run", tmp_path / "report", tmp_path / "media"

    code = demo.prepare(corpus, run_dir, report_dir, db_url, jobs=1, seed=0, media_dir=media)

    with open(report_dir / "features.csv", newline="") as handle:
        sets = [row["set"] for row in csv.DictReader(handle)]
    assert sets.count("markov") == 30 and sets.count("reference") == 6  # 40% of 16 chorales are held out
    assert (report_dir / "report.html").stat().st_size > 100_000
    clips = sorted((media / code).iterdir())
    assert len(clips) == 12
    session = engine.start_or_resume(code, "tester", db_url)
    assert engine.current_trial(session.participant_id, db_url).total == 12
    truths = results.responses_frame(code, db_url)  # no answers yet: empty but well-formed
    assert len(truths) == 0

    report_time = (report_dir / "report.html").stat().st_mtime

    def rebuilt(*args: object, **kwargs: object) -> None:
        raise AssertionError("the second run rebuilt something")

    # nothing is sampled, scored or rendered again: each of those steps fails if it is reached
    import generation.baselines

    monkeypatch.setattr(generation.baselines, "generate_markov_set", rebuilt)
    monkeypatch.setattr(demo.subprocess, "run", rebuilt)
    monkeypatch.setattr(engine, "create_study", rebuilt)
    again = demo.prepare(corpus, run_dir, report_dir, db_url, jobs=1, seed=0, media_dir=media)
    assert again == code
    assert (report_dir / "report.html").stat().st_mtime == report_time
    assert sorted((media / code).iterdir()) == clips
