"""Model registry: builders register under a name and are built from the model config."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from torch import nn

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


def build_model(model_cfg: Mapping[str, Any]) -> nn.Module:
    """Build the model a config section describes.

    Args:
        model_cfg: The resolved ``model`` section; ``name`` selects the builder and the
            whole mapping (``name`` included) is passed to it.

    Returns:
        The model, on the CPU, in train mode.

    Raises:
        KeyError: If ``name`` is missing or not registered.
    """
    cfg = {str(key): value for key, value in model_cfg.items()}
    name = cfg.get("name")
    if not isinstance(name, str) or name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; registered models: {available_models()}")
    return _REGISTRY[name](cfg)
