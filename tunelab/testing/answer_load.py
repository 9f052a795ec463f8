"""Concurrent participants answering a study: shared by tests/studies/test_reliability.py and
benchmarks/bench_answers.py (a registered study with fake clips, forked participant processes, a check of
what was stored)."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from studies import engine as E
from studies import storage
from studies.spec import spec_from_dict


def make_bench_study(db_url: str, root: Path, n_trials: int) -> str:
    """Register a turing study with n_trials human + n_trials computer fake clips (no rendering)."""
    sets = []
    clips: dict[str, list[Any]] = {}
    for kind in ("human", "computer"):
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        clips[kind] = []
        for i in range(n_trials):
            src = folder / f"{kind}{i}.mid"
            src.write_bytes(b"MThd")
            audio = root / f"{kind}{i}.mp3"
            audio.write_bytes(b"fake")
            clips[kind].append(
                SimpleNamespace(
                    clip_id=f"{kind[0]}{i:03d}{os.urandom(5).hex()}",
                    source=src,
                    file=audio,
                    n_samples=1,
                    sample_rate=44100,
                )
            )
        sets.append({"name": kind, "kind": kind, "group": "g", "folder": str(folder)})
    spec = spec_from_dict(
        {
            "title": "bench",
            "consent": "ok",
            "test_type": "turing",
            "stimulus_sets": sets,
            "trials_per_participant": n_trials,
            "clip_seconds": 2.0,
            "seed": 1,
        },
        root / "bench.toml",
    )
    return E.register_study(spec, clips, db_url)


def expected_answer(external_id: str, position: int) -> str:
    """The answer participant ``external_id`` gives at ``position`` (deterministic, both labels used)."""
    return ("human", "computer")[(position + len(external_id)) % 2]


def _participant(
    db_url: str, code: str, external_id: str, resubmit_every: int, barrier: Any, results: Any
) -> None:
    barrier.wait()
    latencies, refused = [], 0
    session = E.start_or_resume(code, external_id, db_url, consent=True)
    for pos in range(session.total):
        E.current_trial(session.participant_id, db_url)  # as the page does: the server shows the trial
        answer = expected_answer(external_id, pos)
        t0 = time.perf_counter()
        stored = E.submit_answer(session.participant_id, pos, answer, response_ms=pos, db=db_url)
        latencies.append(time.perf_counter() - t0)
        if not stored:
            raise RuntimeError(f"{external_id} position {pos}: first submit reported a duplicate")
        if resubmit_every and pos % resubmit_every == 0:
            refused += not E.submit_answer(session.participant_id, pos, answer, db=db_url)
    E.completion_code(session.participant_id, db_url)
    results.put((external_id, latencies, refused))


def run_concurrent(
    db_url: str, code: str, n_participants: int, resubmit_every: int = 5, timeout: float = 300.0
) -> dict[str, Any]:
    """Run ``n_participants`` forked participant processes at once; return latencies and counts."""
    E.dispose_engines()  # no pooled connection may cross the fork
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(n_participants), ctx.Queue()
    procs = [
        ctx.Process(target=_participant, args=(db_url, code, f"P{i:03d}", resubmit_every, barrier, results))
        for i in range(n_participants)
    ]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    out = [results.get(timeout=timeout) for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join(timeout=timeout)
    lat = np.array([x for _, ls, _ in out for x in ls]) * 1000.0
    return {
        "wall_s": wall,
        "latencies_ms": lat,
        "refused_duplicates": sum(r for _, _, r in out),
        "exit_codes": [p.exitcode for p in procs],
        "participants": sorted(e for e, _, _ in out),
    }


def check_stored(db_url: str, code: str) -> tuple[int, list[str]]:
    """Stored answer count of a study and the list of mismatches against :func:`expected_answer`."""
    eng = E.get_engine(db_url)
    study = storage.get_study(eng, code)
    rows = storage.answer_rows(eng, study["id"])
    problems = [
        f"{r['external_id']}@{r['position']}: {r['answer']}"
        for r in rows
        if r["answer"] != expected_answer(r["external_id"], r["position"])
    ]
    keys = {(r["participant_id"], r["position"]) for r in rows}
    if len(keys) != len(rows):
        problems.append(f"{len(rows) - len(keys)} doubled answers")
    return len(rows), problems
