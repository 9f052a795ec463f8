"""Fixtures of the generation tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def essen_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 12 Essen folk songs, built once per run by the project's corpus builder (MIDI + ABC text)."""
    from data import build_corpus

    return build_corpus("essen-folk", out_dir=tmp_path_factory.mktemp("corpus") / "essen-folk", limit=12)
