"""Devices and distributed training (``torchrun``: env:// rendezvous, gloo or nccl)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


def select_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """Pick the device to train on.

    Args:
        name: ``auto`` (CUDA, then MPS, then CPU) or an explicit device such as ``cpu``,
            ``cuda``, ``cuda:1`` or ``mps``.
        local_rank: This process's rank on its node; selects the CUDA device under DDP.

    Returns:
        The device.

    Raises:
        ValueError: If the named device is not available on this machine.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available; use device=auto")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r} requested but MPS is not available; use device=auto")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
    return device


@dataclass(frozen=True)
class DistributedContext:
    """Where this process sits in a (possibly single-process) run.

    Attributes:
        rank: Global rank, 0 for the main process.
        local_rank: Rank on this node.
        world_size: Number of processes.
        device: The device this process trains on.
    """

    rank: int
    local_rank: int
    world_size: int
    device: torch.device

    @property
    def is_distributed(self) -> bool:
        """Whether more than one process takes part."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0 (the only rank that logs and writes files)."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every rank (no-op in a single process)."""
        if self.is_distributed:
            if self.device.type == "cuda":
                dist.barrier(device_ids=[self.device.index or 0])
            else:
                dist.barrier()

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum a tensor over ranks, in place (no-op in a single process).

        Args:
            tensor: A tensor of any shape on this process's device.

        Returns:
            The same tensor (same shape), now holding the sum over ranks.
        """
        if self.is_distributed:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def broadcast_object(self, value: object) -> object:
        """Send a picklable value from rank 0 to every rank.

        Args:
            value: The value on rank 0 (ignored elsewhere).

        Returns:
            Rank 0's value.
        """
        if not self.is_distributed:
            return value
        holder = [value]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]


def init_distributed(device_name: str = "auto") -> DistributedContext:
    """Join the process group ``torchrun`` describes, or run as a single process.

    ``torchrun`` sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
    ``MASTER_PORT``; with ``WORLD_SIZE`` > 1 this initialises ``torch.distributed``
    with ``env://``, using nccl on CUDA and gloo otherwise.

    Args:
        device_name: Passed to :func:`select_device`.

    Returns:
        The context of this process.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = select_device(device_name, local_rank)
    if world_size > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(
            backend=backend, init_method="env://", rank=rank, world_size=world_size
        )
    return DistributedContext(rank, local_rank, world_size, device)


def cleanup_distributed() -> None:
    """Leave the process group if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
