"""Fully sharded data parallel training with FSDP2 (``torch.distributed.fsdp.fully_shard``).

With ``training.distributed=fsdp`` and a ``torchrun`` launch, every rank holds only its
shard of each parameter, gradient and optimizer state (ZeRO-3): a model whose weights,
gradients and AdamW moments do not fit one device (GPT-2 XL: 1.56 B parameters, about
25 GB in fp32) trains on several. Each transformer block (or other repeated unit) is one
FSDP unit, so only one block's full weights are gathered at a time; the root module holds
the rest (embeddings, norms, heads).

Checkpoints stay ordinary: :func:`full_model_state` and :func:`full_optimizer_state`
gather full, unsharded tensors on rank 0 (on the CPU), so a checkpoint written by an FSDP
run loads into ``inference.py``, into a single-device run, or into a DDP run, and a
checkpoint of any run resumes under FSDP. Gathering is collective: every rank calls them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from torch import nn
from torch.optim import Optimizer

if TYPE_CHECKING:
    from torch.distributed.checkpoint.state_dict import StateDictOptions


def _import_fsdp() -> Callable[..., Any]:
    """The FSDP2 entry point (public in torch >= 2.6, under ``_composable`` before).

    Returns:
        ``fully_shard``.

    Raises:
        RuntimeError: If this torch has no FSDP2.
    """
    try:
        from torch.distributed.fsdp import fully_shard
    except ImportError:
        try:
            from torch.distributed._composable.fsdp import fully_shard
        except ImportError as error:
            raise RuntimeError(
                "training.distributed=fsdp needs FSDP2 (torch >= 2.4; 2.6+ recommended); "
                "upgrade torch or use training.distributed=ddp"
            ) from error
    return fully_shard


def shard_units(model: nn.Module) -> list[nn.Module]:
    """The submodules that become separate FSDP units.

    A model may name them with a ``fsdp_units()`` method; otherwise every element of every
    ``nn.ModuleList`` is one (the blocks of a Transformer, the stages of a CNN).

    Args:
        model: The unwrapped model.

    Returns:
        The units, innermost first (``fully_shard`` wraps children before their parents);
        may be empty (then the whole model is one unit).
    """
    named = getattr(model, "fsdp_units", None)
    if callable(named):
        return list(named())
    units: list[nn.Module] = []
    for module in model.modules():  # parents before children
        if isinstance(module, nn.ModuleList):
            units.extend(module)
    return units[::-1]


def shard_model(model: nn.Module) -> nn.Module:
    """Shard a model in place: each unit, then the root (must run on every rank).

    Args:
        model: The model on this rank's device, before the optimizer is built.

    Returns:
        The same module, now sharded (its parameters are ``DTensor`` shards).
    """
    fully_shard = _import_fsdp()
    for unit in shard_units(model):
        fully_shard(unit)
    fully_shard(model)
    return model


def _options(cpu_offload: bool = False) -> StateDictOptions:
    """Options for full (unsharded) state dicts; ``cpu_offload`` gathers on rank 0 only."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, cpu_offload=cpu_offload)


def full_model_state(model: nn.Module) -> dict[str, Any]:
    """The model's full state dict, gathered on rank 0 on the CPU (collective).

    Args:
        model: A sharded model.

    Returns:
        Full tensors on rank 0; an empty mapping on the other ranks.
    """
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    return dict(get_model_state_dict(model, options=_options(cpu_offload=True)))


def full_optimizer_state(model: nn.Module, optimizer: Optimizer) -> dict[str, Any]:
    """The optimizer's full state dict, keyed by parameter names, on rank 0 (collective).

    Args:
        model: A sharded model.
        optimizer: Its optimizer.

    Returns:
        Full state on rank 0; an empty mapping on the other ranks.
    """
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

    return dict(get_optimizer_state_dict(model, optimizer, options=_options(cpu_offload=True)))


def load_full_model_state(model: nn.Module, state: dict[str, Any]) -> None:
    """Load a state dict into a sharded model; every rank passes its own.

    Args:
        model: A sharded model.
        state: A full state dict (from a checkpoint file every rank read), or this rank's
            shards (``model.state_dict()`` of the same sharded model, ``DTensor`` values).
    """
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict
    from torch.distributed.tensor import DTensor

    sharded = any(isinstance(value, DTensor) for value in state.values())
    options = StateDictOptions(full_state_dict=not sharded)
    set_model_state_dict(model, state, options=options)


def load_full_optimizer_state(
    model: nn.Module, optimizer: Optimizer, state: dict[str, Any]
) -> None:
    """Load a full optimizer state dict into the optimizer of a sharded model.

    Args:
        model: A sharded model.
        optimizer: Its optimizer.
        state: A state written by :func:`full_optimizer_state` (parameter-name keys).
    """
    from torch.distributed.checkpoint.state_dict import set_optimizer_state_dict

    set_optimizer_state_dict(model, optimizer, state, options=_options())
