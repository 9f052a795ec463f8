"""Real files for benchmarks: the Bach chorale corpus, built once by ``data`` (not timed)."""

from __future__ import annotations

import sys
from pathlib import Path


def chorale_files(n: int, jobs: int = 2) -> list[Path]:
    """The first ``n`` chorales (at most 350) of ``data/bach-chorales``, building the corpus if it is missing."""
    from data import build_corpus, corpus_files  # noqa: PLC0415

    files = corpus_files(build_corpus("bach-chorales", jobs=jobs))
    if len(files) < n:
        print(f"only {len(files)} chorales exist; using all of them", file=sys.stderr)
    return files[:n]
