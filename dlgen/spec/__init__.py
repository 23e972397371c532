"""The Spec and its parts.

``Spec`` itself is loaded lazily: it is built from the catalog's families, and
the catalog's entry types import the light modules of this package.
"""

from typing import TYPE_CHECKING, Any

from dlgen.spec.common import Activation, Language, Modality, Optimizer, Precision, Scheduler
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams
from dlgen.spec.training import TrainingSpec

if TYPE_CHECKING:
    from dlgen.spec.spec import PROJECT_NAME_PATTERN, Spec, format_validation_error

__all__ = [
    "PROJECT_NAME_PATTERN",
    "Activation",
    "ArchitectureHParams",
    "DatasetSpec",
    "Language",
    "Modality",
    "Optimizer",
    "Precision",
    "Scheduler",
    "Spec",
    "TrainingSpec",
    "format_validation_error",
]

_LAZY = {"Spec", "PROJECT_NAME_PATTERN", "format_validation_error"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from dlgen.spec import spec as module

        return getattr(module, name)
    raise AttributeError(f"module 'dlgen.spec' has no attribute {name!r}")
