"""Model registry: builders register under a name and are built from the model config.

``build_model`` also loads ``model.pretrained`` after the builder returns, so every family
fine-tunes the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import torch
from torch import nn

from ..utils.pretrained import load_pretrained as load_pretrained_weights

# The model config key every family has, read here rather than by the builders.
PRETRAINED_KEY = "pretrained"

ModelBuilder = Callable[[dict[str, Any]], nn.Module]
BuilderT = TypeVar("BuilderT", bound=ModelBuilder)

_REGISTRY: dict[str, ModelBuilder] = {}


def register_model(name: str) -> Callable[[BuilderT], BuilderT]:
    """Register a model builder under ``name`` (the ``model.name`` config value).

    Args:
        name: Registry key; must be unique.

    Returns:
        A decorator that registers the builder and returns it unchanged.

    Raises:
        ValueError: If the name is already registered.
    """

    def decorator(builder: BuilderT) -> BuilderT:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = builder
        return builder

    return decorator


def available_models() -> list[str]:
    """Names of every registered model, sorted.

    Returns:
        The registry keys.
    """
    return sorted(_REGISTRY)


def build_model(model_cfg: Mapping[str, Any], *, load_pretrained: bool = True) -> nn.Module:
    """Build the model a config section describes, with its pretrained weights if any.

    Args:
        model_cfg: The resolved ``model`` section; ``name`` selects the builder and the
            mapping (``name`` included, ``pretrained`` left out) is passed to it.
            ``pretrained`` (every model config has it; null by default) names weights to
            start from: a checkpoint of this project, a timm/torchvision state-dict file,
            or ``timm:<name>`` / ``torchvision:<name>`` (see ``utils/pretrained.py``).
        load_pretrained: Load ``pretrained`` when it is set. Callers that load a checkpoint
            of this project right after (inference, export, resuming) pass False, so the
            pretrained file need not exist any more.

    Returns:
        The model, on the CPU, in train mode.

    Raises:
        KeyError: If ``name`` is missing or not registered.
    """
    cfg = {str(key): value for key, value in model_cfg.items()}
    pretrained = cfg.pop(PRETRAINED_KEY, None)
    name = cfg.get("name")
    if not isinstance(name, str) or name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; registered models: {available_models()}")
    model = _REGISTRY[name](cfg)
    if load_pretrained and pretrained:
        report = load_pretrained_weights(model, str(pretrained))
        if is_main_process():
            print(report.summary(), flush=True)
    return model


def is_main_process() -> bool:
    """Whether this process reports (rank 0, or not distributed).

    Returns:
        False on the other ranks of an initialised process group.
    """
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    return not distributed or torch.distributed.get_rank() == 0
