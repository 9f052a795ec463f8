"""Answers survive concurrency and killed writers (small versions of benchmarks/bench_answers.py)."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time

from studies import engine as E
from studies import storage
from tunelab.testing.answer_load import check_stored, expected_answer, make_bench_study, run_concurrent

N_PARTICIPANTS = 12
N_ANSWERS = 20


def test_concurrent_participants_store_every_answer_exactly_once(db_url, tmp_path):
    code = make_bench_study(db_url, tmp_path, N_ANSWERS)
    res = run_concurrent(db_url, code, N_PARTICIPANTS, resubmit_every=3, timeout=120)
    assert res["exit_codes"] == [0] * N_PARTICIPANTS
    assert res["participants"] == [f"P{i:03d}" for i in range(N_PARTICIPANTS)]
    # positions 0, 3, ..., 18 were re-submitted by each participant and reported as duplicates
    assert res["refused_duplicates"] == N_PARTICIPANTS * 7
    stored, problems = check_stored(db_url, code)
    assert problems == []
    assert stored == N_PARTICIPANTS * N_ANSWERS
    assert E.progress(code, db_url) == {
        "started": N_PARTICIPANTS,
        "completed": N_PARTICIPANTS,
        "answers": N_PARTICIPANTS * N_ANSWERS,
    }


def _endless_writer(db_url: str, code: str, conn) -> None:
    """Answer trial after trial (new participants when one is done); report each acknowledged answer."""
    n = 0
    while True:
        external = f"W{n:04d}"
        session = E.start_or_resume(code, external, db_url)
        for pos in range(session.total):
            E.current_trial(session.participant_id, db_url)
            E.submit_answer(session.participant_id, pos, expected_answer(external, pos), db=db_url)
            conn.send((external, pos))  # only after submit_answer returned: acknowledged
        n += 1


def test_sigkilled_writer_loses_no_acknowledged_answer(db_url, tmp_path):
    code = make_bench_study(db_url, tmp_path, 10)
    E.dispose_engines()
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_endless_writer, args=(db_url, code, child))
    proc.start()
    child.close()
    acked = []
    deadline = time.monotonic() + 60
    while len(acked) < 25 and time.monotonic() < deadline:
        if parent.poll(0.5):
            acked.append(parent.recv())
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    try:  # acknowledgements still in the pipe when the writer died
        while parent.poll(0.2):
            acked.append(parent.recv())
    except EOFError:
        pass
    assert proc.exitcode == -signal.SIGKILL
    assert len(acked) >= 25
    eng = E.get_engine(db_url)
    rows = storage.answer_rows(eng, storage.get_study(eng, code)["id"])
    stored = {(r["external_id"], r["position"]): r["answer"] for r in rows}
    missing = [a for a in acked if stored.get(a) != expected_answer(*a)]
    assert missing == []
    assert len(stored) >= len(acked)
    # the database is still writable after the kill (no stuck lock or half transaction)
    s = E.start_or_resume(code, "after-kill", db_url)
    E.current_trial(s.participant_id, db_url)
    assert E.submit_answer(s.participant_id, 0, "human", db=db_url)
