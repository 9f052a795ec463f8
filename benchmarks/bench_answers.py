"""Durability and speed of answer storage: many concurrent participant processes, each answer committed.

``python benchmarks/bench_answers.py [--db URL] [--participants 50] [--answers 40] [--resubmit-every 5]``

Starts one forked process per participant (released together by a barrier); each answers every trial via
:func:`studies.engine.submit_answer`, re-submits every k-th answer (which must be refused as a duplicate),
and asks for its completion code. Then checks that exactly participants × answers rows are stored, each with
the answer that was given, and prints the write latency (p50/p95/p99/max, ms) and the throughput. Without
``--db`` it runs against a temporary SQLite file and, with ``--postgres URL``, also against PostgreSQL.

``run_concurrent`` and ``make_bench_study`` are imported by tests/studies/test_reliability.py.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studies import engine as E  # noqa: E402
from studies import storage  # noqa: E402
from studies.spec import spec_from_dict  # noqa: E402


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
    session = E.start_or_resume(code, external_id, db_url)
    for pos in range(session.total):
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


def bench(db_url: str, n_participants: int, n_answers: int, resubmit_every: int) -> int:
    """Run one benchmark and print its figures; return 0 if every answer was stored exactly once."""
    with tempfile.TemporaryDirectory() as tmp:
        code = make_bench_study(db_url, Path(tmp), n_answers)
        res = run_concurrent(db_url, code, n_participants, resubmit_every)
        stored, problems = check_stored(db_url, code)
    lat = res["latencies_ms"]
    expected = n_participants * n_answers
    name = db_url.split(":", 1)[0]
    print(
        f"{name}: {n_participants} processes x {n_answers} answers: stored {stored}/{expected}, "
        f"{len(problems)} problems, {res['refused_duplicates']} re-submits stored once; "
        f"wall {res['wall_s']:.2f} s ({expected / res['wall_s']:.0f} answers/s); write latency ms "
        f"p50 {np.percentile(lat, 50):.1f} p95 {np.percentile(lat, 95):.1f} p99 {np.percentile(lat, 99):.1f} "
        f"max {lat.max():.1f}"
    )
    return 0 if stored == expected and not problems and all(c == 0 for c in res["exit_codes"]) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db",
        default=None,
        help="SQLAlchemy URL (default: a temporary SQLite file); the "
        "studies tables of that database are dropped and recreated",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("TUNELAB_TEST_POSTGRES_URL"),
        help="also run against this PostgreSQL URL (default: $TUNELAB_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--participants", type=int, default=50, help="concurrent processes (default 50)")
    parser.add_argument("--answers", type=int, default=40, help="answers per participant (default 40)")
    parser.add_argument(
        "--resubmit-every",
        type=int,
        default=5,
        help="re-submit every k-th answer to check idempotence (0 = never; default 5)",
    )
    args = parser.parse_args(argv)
    status = 0
    with tempfile.TemporaryDirectory() as tmp:
        urls = [args.db or f"sqlite:///{tmp}/bench.db"] + ([args.postgres] if args.postgres else [])
        for url in urls:
            eng = storage.make_engine(url, create=False)
            storage.drop_schema(eng)
            storage.metadata.create_all(eng)
            eng.dispose()
            status |= bench(url, args.participants, args.answers, args.resubmit_every)
            E.dispose_engines()
    return status


if __name__ == "__main__":
    sys.exit(main())
