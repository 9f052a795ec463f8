"""Durability and speed of answer storage: many concurrent participant processes, each answer committed.

``python benchmarks/bench_answers.py [--db URL] [--participants 50] [--answers 40] [--resubmit-every 5]``

Starts one forked process per participant (released together by a barrier); each answers every trial via
:func:`studies.engine.submit_answer`, re-submits every k-th answer (which must be refused as a duplicate),
and asks for its completion code. Then checks that exactly participants × answers rows are stored, each with
the answer that was given, and prints the write latency (p50/p95/p99/max, ms) and the throughput. Without
``--db`` it runs against a temporary SQLite file and, with ``--postgres URL``, also against PostgreSQL.

The study, the participant processes and the check live in :mod:`tunelab.testing.answer_load` (the
reliability tests use them too).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from studies import engine as E
from studies import storage
from tunelab.testing.answer_load import check_stored, make_bench_study, run_concurrent


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
