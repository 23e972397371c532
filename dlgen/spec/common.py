"""Vocabulary shared by every part of the Spec: languages, modalities, choices.

Tasks are not listed here: each is a catalog entry (:mod:`dlgen.catalog.tasks`) and
``Spec.task`` holds its key.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

Language = Literal["zh", "en"]


class Modality(str, Enum):
    """The kind of data a project consumes."""

    IMAGE = "image"
    TEXT = "text"
    TIME_SERIES = "time_series"
    SIGNAL = "signal"
    GRAPH = "graph"
    FIELD = "field"
    TABULAR = "tabular"


Activation = Literal["relu", "gelu", "gelu_tanh", "silu", "tanh", "leaky_relu", "elu", "sigmoid"]
ACTIVATIONS: tuple[str, ...] = Activation.__args__  # type: ignore[attr-defined]

Optimizer = Literal["adamw", "adam", "sgd"]
OPTIMIZERS: tuple[str, ...] = Optimizer.__args__  # type: ignore[attr-defined]

Scheduler = Literal["cosine", "onecycle", "step", "multistep", "plateau", "none"]
SCHEDULERS: tuple[str, ...] = Scheduler.__args__  # type: ignore[attr-defined]

Precision = Literal["fp32", "bf16", "fp16"]
PRECISIONS: tuple[str, ...] = Precision.__args__  # type: ignore[attr-defined]

Framework = Literal["pytorch"]

# A parameter budget: a model whose fp32 weights alone exceed this is refused.
MAX_PARAMETER_BYTES = 100 * 10**9
BYTES_PER_PARAMETER = 4
