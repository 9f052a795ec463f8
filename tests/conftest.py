"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def chorale_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 20 Riemenschneider chorales, built once per run by the project's own corpus builder.

    Tests that need real music use this rather than converting with music21 themselves or reading the
    git-ignored ``data/bach-chorales`` (whose presence would make results depend on the machine).
    """
    from data import build_corpus

    return build_corpus("bach-chorales", out_dir=tmp_path_factory.mktemp("corpus") / "bach-chorales", limit=20)
