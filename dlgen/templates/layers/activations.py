"""Activation functions looked up by name, so configs can choose them as strings."""

from collections.abc import Callable

from torch import nn

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "sigmoid": nn.Sigmoid,
}


def get_activation(name: str) -> nn.Module:
    """Build an activation module from its name.

    Args:
        name: One of the keys of ``ACTIVATIONS`` (case-insensitive), e.g. ``"gelu"``.

    Returns:
        A new activation module; it is elementwise, so shapes are unchanged.

    Raises:
        ValueError: If the name is not a known activation.
    """
    key = name.lower()
    if key not in ACTIVATIONS:
        known = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"unknown activation {name!r}; choose one of: {known}")
    return ACTIVATIONS[key]()
