"""Generation tests run tiny models: one torch thread each (on a shared 2-core machine, two threads on
matrices this small are up to 70x slower than one)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
