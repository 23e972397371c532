"""Turn readings into Spec fields: one small handler per slot, kept in registries.

A model slot names candidate hyperparameter fields and lands on the first one the
family has ("hidden" -> ``hidden_dim`` for an LSTM, ``width`` for an FNO); a data
slot edits the dataset facts according to the data's modality ("seq_len" is the
first axis of a time series but the second of a signal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dlgen.catalog.base import ArchitectureFamily, DatasetEntry, Variant

Handler = Callable[["Target", Any], bool]


@dataclass
class Target:
    """The dictionaries a slot writes into, and where it records what it wrote.

    Attributes:
        fields: Field names of the family's hyperparameter model.
        model: ``Spec.model`` fields.
        data: ``Spec.dataset`` fields.
        readings: Every value read, by slot (handlers may look at siblings).
        explicit: Written values by dotted Spec path.
    """

    fields: frozenset[str]
    model: dict[str, Any]
    data: dict[str, Any]
    readings: dict[str, Any]
    explicit: dict[str, Any] = field(default_factory=dict)

    def set_model(self, name: str, value: Any) -> bool:
        """Set a hyperparameter if the family has it; False otherwise."""
        if name not in self.fields:
            return False
        self.model[name] = value
        self.explicit[f"model.{name}"] = value
        return True

    def set_data(self, name: str, value: Any) -> bool:
        """Set a dataset fact."""
        self.data[name] = value
        self.explicit[f"dataset.{name}"] = value
        return True

    @property
    def modality(self) -> str:
        """The data's modality value ("image", "text", ...)."""
        return str(self.data["modality"])

    def shape(self) -> list[int]:
        """A copy of the input shape."""
        return list(self.data["input_shape"])


def start(
    family: ArchitectureFamily,
    entry: DatasetEntry,
    variant: Variant | None,
    task: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Model and data dictionaries before any reading: catalog facts and variant config."""
    model: dict[str, Any] = {"family": family.key, "variant": variant.key if variant else None}
    if variant is not None:
        model.update(variant.hparams)
    data = entry.spec_fields()
    if task == "tabular_regression" and data.get("output_shape") is None:
        # A classification table (the user's CSV) used for regression: one value per row.
        data["num_classes"], data["output_shape"] = None, [1]
    if variant is not None:
        data.update(variant.dataset_overrides)
    return model, data


def apply_slots(target: Target) -> list[str]:
    """Apply every model and data reading.

    Returns:
        The slots that do not apply to this family or data (to report as ignored).
    """
    ignored = []
    for slot, value in target.readings.items():
        handler = MODEL_SLOTS.get(slot) or DATA_SLOTS.get(slot)
        if handler is not None and not handler(target, value):
            ignored.append(slot)
    return ignored


# Model slots -----------------------------------------------------------------


def _first_of(*names: str) -> Handler:
    def handle(target: Target, value: Any) -> bool:
        return any(target.set_model(name, value) for name in names)

    return handle


def _hidden(target: Target, value: int) -> bool:
    if target.set_model("hidden_dim", value) or target.set_model("width", value):
        return True
    if "hidden_dims" in target.fields:
        count = target.readings.get("layers") or len(target.model.get("hidden_dims") or [0])
        return target.set_model("hidden_dims", [value] * count)
    return False


def _layers(target: Target, value: int) -> bool:
    if "num_encoder_layers" in target.fields:
        return target.set_model("num_encoder_layers", value) and target.set_model(
            "num_decoder_layers", value
        )
    if target.set_model("num_layers", value) or target.set_model("depth", value):
        return True
    if "channels" in target.fields and "channels" not in target.readings:
        base = (target.model.get("channels") or [32])[0]
        return target.set_model("channels", [base * 2**i for i in range(value)])
    if "hidden_dims" in target.fields:
        if "hidden" in target.readings:
            return True  # _hidden repeats the width `value` times
        widths = target.model.get("hidden_dims") or [128]
        return target.set_model("hidden_dims", [widths[0]] * value)
    return False


def _layers_hidden(target: Target, value: tuple[int, int]) -> bool:
    count, width = value
    if target.set_model("hidden_dims", [width] * count):
        return True
    return _layers(target, count) and _hidden(target, width)


def _hidden_list(target: Target, value: list[int]) -> bool:
    return target.set_model("hidden_dims", value)


def _norm(target: Target, value: str) -> bool:
    if target.set_model("norm", value):
        return True
    return value == "batch" and target.set_model("batch_norm", True)


def _pool(target: Target, value: str) -> bool:
    if target.set_model("pool", value):
        return True
    return value == "mean" and target.set_model("head", "mean")


def _context(target: Target, value: int) -> bool:
    applied = target.set_model("block_size", value) or target.set_model("max_len", value)
    if target.modality == "text":
        return target.set_data("input_shape", [value])
    return applied


def _horizon(target: Target, value: int) -> bool:
    if target.modality != "time_series":
        return False
    features = target.shape()[-1]
    target.set_model("horizon", value)
    return target.set_data("output_shape", [value, features])


MODEL_SLOTS: dict[str, Handler] = {
    "hidden": _hidden,
    "hidden_list": _hidden_list,
    "layers": _layers,
    "layers_hidden": _layers_hidden,
    "heads": _first_of("num_heads", "heads"),
    "modes": _first_of("modes"),
    "width": _first_of("width", "base_channels", "hidden_dim"),
    "base_channels": _first_of("base_channels", "width"),
    "dropout": _first_of("dropout"),
    "patch_size": _first_of("patch_size"),
    "mlp_ratio": _first_of("mlp_ratio"),
    "embedding": _first_of("embedding_dim", "hidden_dim"),
    "latent": _first_of("latent_dim"),
    "kernel_size": _first_of("kernel_size"),
    "channels": _first_of("channels"),
    "timesteps": _first_of("timesteps"),
    "output_stride": _first_of("output_stride"),
    "dims": _first_of("dims"),
    "beta": _first_of("beta"),
    "activation": _first_of("activation"),
    "bidirectional": _first_of("bidirectional"),
    "tie_weights": _first_of("tie_weights"),
    "beta_schedule": _first_of("beta_schedule"),
    "bilinear": _first_of("bilinear"),
    "residual": _first_of("residual"),
    "bias": _first_of("bias"),
    "peft_method": _first_of("method"),
    "norm": _norm,
    "pool": _pool,
    "context": _context,
    "horizon": _horizon,
}

# Data slots ------------------------------------------------------------------


def _image_size(target: Target, value: tuple[int, int]) -> bool:
    shape = target.shape()
    if target.modality == "image":
        return target.set_data("input_shape", [shape[0], *value])
    if target.modality != "field":
        return False
    spatial = len(shape) - 1 - (1 if len(shape) == 4 else 0)  # keep a trailing time axis
    grid = [value[0]] * spatial + shape[1 + spatial :]
    target.set_data("input_shape", [shape[0], *grid])
    output = target.data.get("output_shape") or [1]
    return target.set_data("output_shape", [output[0], *grid])


def _in_channels(target: Target, value: int) -> bool:
    if target.modality not in ("image", "signal", "field"):
        return False
    target.set_data("input_shape", [value, *target.shape()[1:]])
    if target.modality != "field":
        target.set_data("in_channels", value)
    return True


def _seq_len(target: Target, value: int) -> bool:
    shape = target.shape()
    if target.modality in ("time_series", "text"):
        shape[0] = value
    elif target.modality == "signal":
        shape[1] = value
    else:
        return False
    return target.set_data("input_shape", shape)


def _features(target: Target, value: int) -> bool:
    shape = target.shape()
    if target.modality == "tabular":
        return target.set_data("input_shape", [value])
    if target.modality != "time_series":
        return False
    target.set_data("input_shape", [shape[0], value])
    output = target.data.get("output_shape") or [1, value]
    return target.set_data("output_shape", [output[0], value])


def _num_classes(target: Target, value: int) -> bool:
    if target.data.get("num_classes") is None and target.modality in ("field", "time_series"):
        return False
    return target.set_data("num_classes", value)


def _vocab(target: Target, value: int) -> bool:
    return target.modality == "text" and target.set_data("vocab_size", value)


DATA_SLOTS: dict[str, Handler] = {
    "image_size": _image_size,
    "in_channels": _in_channels,
    "seq_len": _seq_len,
    "features": _features,
    "num_classes": _num_classes,
    "vocab": _vocab,
}

# Training slots: the reading's value goes to the TrainingSpec field of the same name.
TRAINING_SLOTS: frozenset[str] = frozenset(
    {
        "batch_size", "epochs", "lr", "weight_decay", "momentum", "warmup_epochs", "step_size",
        "gamma", "seed", "grad_accum_steps", "early_stopping_patience", "num_gpus",
        "num_nodes", "label_smoothing", "mixup_alpha", "cutmix_alpha", "ema_decay",
        "grad_clip", "num_workers", "precision", "distributed", "ema", "scheduler", "compile",
        "gradient_checkpointing", "deterministic", "optimizer",
    }
)  # fmt: skip
