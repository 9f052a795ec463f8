from __future__ import annotations

from sqlalchemy import text

import tunelab
from studies import storage

STIMULI = [
    {
        "id": f"clip{i}",
        "set_name": "bach" if i < 2 else "lstm",
        "kind": "human" if i < 2 else "computer",
        "group_name": "chorale",
        "model": "" if i < 2 else "lstm",
        "source_path": f"/src/{i}.mid",
        "audio_path": f"/media/clip{i}.mp3",
        "n_samples": 88200,
        "sample_rate": 44100,
    }
    for i in range(4)
]


def trials(clips):
    return [
        {
            "position": i,
            "clip_a": c,
            "clip_b": None,
            "is_attention_check": i == 1,
            "is_practice": False,
            "expected": "human" if i == 1 else None,
        }
        for i, c in enumerate(clips)
    ]


def test_default_url_is_repo_sqlite_file_or_env(monkeypatch):
    monkeypatch.delenv(storage.ENV_DB_URL, raising=False)
    assert storage.default_url() == f"sqlite:///{tunelab.data_dir() / 'studies.db'}"
    monkeypatch.setenv(storage.ENV_DB_URL, "sqlite:////tmp/x.db")
    assert storage.default_url() == "sqlite:////tmp/x.db"


def test_sqlite_connections_use_wal_busy_timeout_and_normal_sync(tmp_path):
    eng = storage.make_engine(f"sqlite:///{tmp_path / 'sub' / 's.db'}")
    with eng.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert (tmp_path / "sub" / "s.db").is_file()
    eng.dispose()


def test_study_round_trip_status_and_listing(db_url):
    eng = storage.make_engine(db_url)
    title = "Robert'); DROP TABLE studies; --"  # bound parameters store it verbatim
    sid = storage.insert_study(eng, "abc", title, {"test_type": "turing"}, STIMULI, "ab" * 32)
    row = storage.get_study(eng, "abc")
    assert row["id"] == sid and row["title"] == title and row["spec"] == {"test_type": "turing"}
    assert row["status"] == "open"
    assert storage.get_study(eng, "nope") is None
    assert storage.set_status(eng, "abc", "closed") and not storage.set_status(eng, "nope", "closed")
    listed = storage.list_studies(eng)
    assert [(r["code"], r["status"], r["started"], r["completed"]) for r in listed] == [
        ("abc", "closed", 0, 0)
    ]
    assert [s["id"] for s in storage.study_stimuli(eng, sid)] == ["clip0", "clip1", "clip2", "clip3"]
    assert storage.get_stimulus(eng, "clip2")["kind"] == "computer"
    # the secret lives in its own table: no study query returns it
    assert storage.study_secret(eng, sid, "ignored") == "ab" * 32
    assert "ab" * 32 not in repr(row) + repr(listed)
    eng.dispose()


def test_participants_unique_per_study_and_exposure(db_url):
    eng = storage.make_engine(db_url)
    sid = storage.insert_study(eng, "s1", "t", {}, STIMULI, "cd" * 32)
    assert storage.create_participant(eng, "p1", sid, "PROLIFIC_1", trials(["clip0", "clip2", "clip3"]))
    assert not storage.create_participant(eng, "p2", sid, "PROLIFIC_1", trials(["clip0"]))
    assert storage.get_participant(eng, "p2") is None  # the losing insert left nothing behind
    assert storage.create_participant(eng, "p3", sid, "PROLIFIC_3", trials(["clip0", "clip1"]))
    # position 1 is an attention check in both: it does not count as exposure
    assert storage.exposure_counts(eng, sid) == {"clip0": 2, "clip3": 1}
    assert storage.find_participant(eng, sid, "PROLIFIC_3")["id"] == "p3"
    assert storage.get_participant(eng, "p1")["study_code"] == "s1"
    ctx = storage.trial_context(eng, "p1", 1)
    assert ctx["total"] == 3 and ctx["is_attention_check"] and ctx["expected"] == "human"
    eng.dispose()


def test_duplicate_answer_is_stored_once_and_attention_recorded(db_url):
    eng = storage.make_engine(db_url)
    sid = storage.insert_study(eng, "s1", "t", {}, STIMULI, "cd" * 32)
    storage.create_participant(eng, "p1", sid, "x", trials(["clip0", "clip2"]))
    stored, _ = storage.record_answer(eng, "p1", 0, "human", 4, 1200, [{"t": 0, "e": "play"}])
    assert stored
    stored, row = storage.record_answer(eng, "p1", 0, "computer", None, 10, None)
    assert not stored and row["answer"] == "human" and row["confidence"] == 4
    storage.record_answer(eng, "p1", 1, "computer", None, None, None, expected="human")
    assert storage.count_answers(eng, sid) == 2 and storage.count_answers(eng) == 2
    assert [(r["position"], r["passed"]) for r in storage.attention_rows(eng, sid)] == [(1, False)]
    assert storage.progress_counts(eng, sid) == {"started": 1, "completed": 0, "answers": 2}
    assert storage.mark_completed(eng, "p1", "CODE1") == "CODE1"
    assert storage.mark_completed(eng, "p1", "CODE2") == "CODE1"  # first code stays
    assert storage.progress_counts(eng, sid)["completed"] == 1
    rows = storage.answer_rows(eng, sid)
    assert [(r["position"], r["clip_a"], r["answer"]) for r in rows] == [
        (0, "clip0", "human"),
        (1, "clip2", "computer"),
    ]
    eng.dispose()
