"""Device choice, precision and the samplers that shard data across processes."""

from __future__ import annotations

import contextlib

import pytest
import torch

from generation.device import (
    DistContext,
    ShardSampler,
    amp_dtype,
    autocast,
    grad_scaler,
    resolve_device,
    setup_distributed,
    train_sampler,
)
from generation.errors import GenerationError
from tests.generation.synthetic import periodic_tokens


def test_auto_is_cpu_here_and_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(GenerationError, match="--device cuda: torch sees no CUDA GPU.*--device cpu"):
        resolve_device("cuda")
    with pytest.raises(GenerationError, match="auto, cpu or cuda"):
        resolve_device("gpu")


def test_auto_picks_cuda_when_torch_sees_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("auto", local_rank=1) == torch.device("cuda", 1)
    with pytest.raises(GenerationError, match="only 2 are visible"):
        resolve_device("cuda", local_rank=2)


def test_cpu_is_always_fp32():
    cpu = torch.device("cpu")
    assert amp_dtype(cpu, amp=True) is None
    assert isinstance(autocast(cpu, amp=True), contextlib.nullcontext)
    assert not grad_scaler(cpu, amp=True).is_enabled()


def test_mixed_precision_on_cuda_picks_bf16_or_fp16_with_a_scaler(monkeypatch):
    cuda = torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert amp_dtype(cuda, amp=True) == torch.float16
    assert amp_dtype(cuda, amp=False) is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert amp_dtype(cuda, amp=True) == torch.bfloat16


def test_one_process_without_torchrun(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    ctx = setup_distributed("cpu")
    assert (ctx.rank, ctx.world_size, ctx.is_main, ctx.distributed) == (0, 1, True, False)


def test_shards_cover_every_item_once_and_training_order_depends_on_seed_and_epoch():
    dataset = periodic_tokens([1, 2, 3], 30, 4)
    contexts = [DistContext(torch.device("cpu"), rank=r, world_size=3) for r in range(3)]
    shards = [list(ShardSampler(dataset, ctx)) for ctx in contexts]
    assert sorted(i for shard in shards for i in shard) == list(range(len(dataset)))
    one = DistContext(torch.device("cpu"))
    a, b = train_sampler(dataset, one, seed=1), train_sampler(dataset, one, seed=1)
    a.set_epoch(3)
    b.set_epoch(3)
    assert list(a) == list(b) and sorted(a) == list(range(len(dataset)))
    b.set_epoch(4)
    assert list(a) != list(b)
