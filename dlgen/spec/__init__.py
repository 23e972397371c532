"""The Spec and its parts."""

from dlgen.spec.common import Activation, Language, Modality, Optimizer, Precision, Scheduler, Task
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams
from dlgen.spec.spec import PROJECT_NAME_PATTERN, Spec, format_validation_error
from dlgen.spec.training import TrainingSpec

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
    "Task",
    "TrainingSpec",
    "format_validation_error",
]
