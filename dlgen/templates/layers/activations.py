"""Activation functions looked up by name, so configs can choose them as strings."""

from collections.abc import Callable
from functools import partial

from torch import nn

ACTIVATIONS: dict[str, Callable[..., nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    # GPT-2's "gelu_new" and BERT-era TF ports: the tanh approximation of GELU.
    "gelu_tanh": partial(nn.GELU, approximate="tanh"),
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "sigmoid": nn.Sigmoid,
}
# Activations whose module accepts ``inplace=True`` (saves one activation-sized buffer).
INPLACE_CAPABLE = frozenset({"relu", "silu", "leaky_relu", "elu"})


def get_activation(name: str, inplace: bool = False) -> nn.Module:
    """Build an activation module from its name.

    Args:
        name: One of the keys of ``ACTIVATIONS`` (case-insensitive), e.g. ``"gelu"``.
        inplace: Overwrite the input when the activation supports it; only safe when the
            input is not needed afterwards (e.g. right after a batch norm).

    Returns:
        A new activation module; it is elementwise, so shapes are unchanged.

    Raises:
        ValueError: If the name is not a known activation.
    """
    key = name.lower()
    if key not in ACTIVATIONS:
        known = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"unknown activation {name!r}; choose one of: {known}")
    if inplace and key in INPLACE_CAPABLE:
        return ACTIVATIONS[key](inplace=True)
    return ACTIVATIONS[key]()
