"""Fixtures of the generation tests. Tiny models run with one torch thread each (on a shared 2-core machine,
two threads on matrices this small are up to 70x slower than one)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def essen_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 12 Essen folk songs, built once per run by the project's corpus builder (MIDI + ABC text)."""
    from data import build_corpus

    return build_corpus("essen-folk", out_dir=tmp_path_factory.mktemp("corpus") / "essen-folk", limit=12)
