"""Where training runs: one device, CUDA settings, mixed precision, and DDP under ``torchrun``.

- ``device``: ``auto`` = CUDA when torch sees a GPU, else CPU; ``cuda`` without a GPU is a GenerationError.
- On CUDA: cuDNN on with its autotuner (cuDNN's fused LSTM kernels), TF32 matmuls, and automatic mixed
  precision when ``amp`` (bf16 where the GPU has it, else fp16 with a gradient scaler). On CPU: fp32 always
  (bf16 autocast of ``nn.LSTM`` fails on these CPUs: oneDNN cannot create the primitive).
- Distributed: ``torchrun --nproc_per_node N`` sets RANK / WORLD_SIZE / LOCAL_RANK; ``setup_distributed``
  then joins the process group (NCCL on GPUs, gloo on CPU), each process takes GPU LOCAL_RANK, training
  batches are sharded by ``DistributedSampler``, evaluation by :class:`ShardSampler` (no padding, so sums are
  exact), and only rank 0 writes files.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Dataset, DistributedSampler, Sampler

from generation.errors import GenerationError


def resolve_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """The torch device for ``auto`` / ``cpu`` / ``cuda`` (GPU ``local_rank`` under torchrun)."""
    if name not in ("auto", "cpu", "cuda"):
        raise GenerationError(f"device must be auto, cpu or cuda, not {name!r}")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise GenerationError(f"--device cuda: torch sees no CUDA GPU (torch {torch.__version__}, "
                              "torch.cuda.is_available() is False). Use --device cpu or --device auto.")
    if local_rank >= torch.cuda.device_count():
        raise GenerationError(f"process {local_rank} wants GPU {local_rank} but only {torch.cuda.device_count()} "
                              "are visible: use --nproc_per_node <= the number of GPUs")
    return torch.device("cuda", local_rank)


def configure_backends(device: torch.device) -> None:
    """cuDNN (fused LSTM kernels, autotuned) and TF32 on CUDA; nothing to set on CPU."""
    if device.type == "cuda":
        torch.backends.cudnn.enabled = True
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def amp_dtype(device: torch.device, amp: bool) -> torch.dtype | None:
    """The autocast dtype: None (fp32) on CPU or without ``amp``; bf16 or fp16 on CUDA."""
    if not amp or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager:
    """Mixed precision on CUDA when ``amp``; a no-op elsewhere."""
    dtype = amp_dtype(device, amp)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type="cuda", dtype=dtype)


def grad_scaler(device: torch.device, amp: bool) -> torch.amp.GradScaler:
    """A gradient scaler, enabled only for fp16 autocast (bf16 and fp32 need none)."""
    return torch.amp.GradScaler("cuda", enabled=amp_dtype(device, amp) == torch.float16)


@dataclass(frozen=True)
class DistContext:
    """This process's place in a (possibly one-process) run."""

    device: torch.device
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # this module started the process group (and ends it)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files and shows progress."""
        return self.rank == 0


def setup_distributed(device_name: str = "auto") -> DistContext:
    """Join the process group when started by torchrun (WORLD_SIZE > 1), else a one-process context."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        device = resolve_device(device_name)
        configure_backends(device)
        return DistContext(device=device)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    configure_backends(device)
    owns = False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo", rank=rank,
                                world_size=world_size)
        owns = True
    return DistContext(device=device, rank=rank, world_size=world_size, local_rank=local_rank, owns_group=owns)


def teardown_distributed(ctx: DistContext) -> None:
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(tensor: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Sum ``tensor`` over all processes, in place (nothing to do in a one-process run)."""
    if ctx.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


def train_sampler(dataset: Dataset, ctx: DistContext, seed: int) -> DistributedSampler:
    """Shuffled shards of ``dataset``, a new order each epoch (``set_epoch``), the same for a resumed run.

    Used in one-process runs too (one replica), so the order depends only on the seed and the epoch.
    """
    return DistributedSampler(dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=seed,
                              drop_last=False)


class ShardSampler(Sampler[int]):
    """Items rank, rank + world, ... in order: every item evaluated exactly once across processes."""

    def __init__(self, dataset: Dataset, ctx: DistContext) -> None:
        self.indices = list(range(ctx.rank, len(dataset), ctx.world_size))  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)
