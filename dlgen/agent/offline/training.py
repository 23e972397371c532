"""Build ``Spec.training`` from the family's recipe and the training readings."""

from __future__ import annotations

from typing import Any

from dlgen import catalog
from dlgen.agent.offline.draft import Draft
from dlgen.agent.offline.fill import TRAINING_SLOTS
from dlgen.agent.offline.messages import OPTION_NAMES
from dlgen.agent.offline.options import FLAG_DEFAULTS
from dlgen.agent.offline.readers import UNSET
from dlgen.catalog.base import Recipe
from dlgen.errors import UsageError
from dlgen.spec.common import ACTIVATIONS, OPTIMIZERS

_SUMMARY_FIELDS = ("optimizer", "lr", "weight_decay", "scheduler", "epochs", "batch_size")


def check_unknown_choices(draft: Draft) -> None:
    """Refuse an optimizer or activation dlgen cannot generate.

    Raises:
        UsageError: Naming the field and the accepted values.
    """
    from dlgen.agent.offline.messages import say

    optimizer = draft.value("unknown_optimizer")
    if optimizer and not draft.value("optimizer"):
        raise UsageError(
            say("unknown_optimizer", draft.language, name=optimizer, accepted=", ".join(OPTIMIZERS))
        )
    activation = draft.value("unknown_activation")
    if activation and not draft.value("activation"):
        raise UsageError(
            say("unknown_activation", draft.language, name=activation,
                accepted=", ".join(ACTIVATIONS))
        )  # fmt: skip


def build_training(draft: Draft) -> dict[str, Any]:
    """The training dictionary: recipe, then readings, then consequences of switches."""
    assert draft.family is not None and draft.task is not None
    # The task's recipe, then the family's (a family knows its own best settings), then the
    # published recipe that fits this model and data.
    training: dict[str, Any] = dict(catalog.task(draft.task).training_defaults)
    training.update(draft.family.training_defaults)
    recipe = draft.family.recipe_for(draft.model, draft.data)
    if recipe is not None:
        training.update(recipe.training)
        _recipe_defaults(draft, recipe)
    for slot in sorted(TRAINING_SLOTS):  # a set: sorted, so the Spec never depends on hashing
        reading = draft.readings.get(slot)
        if reading is None:
            continue
        value = reading.value
        if value is UNSET:  # a switch named without its value
            value = FLAG_DEFAULTS[slot]
            english, chinese = OPTION_NAMES[slot]
            draft.assume("flag_default", option=chinese if draft.language == "zh" else english,
                         field=slot, value=value)  # fmt: skip
        training[slot] = value
        draft.explicit[f"training.{slot}"] = value
    _switches(draft, training)
    _fit_warmup(draft, training)
    _summarize(draft, training, recipe)
    return training


def _recipe_defaults(draft: Draft, recipe: Recipe) -> None:
    """Model and data values of the recipe, where the request stated none."""
    for section, values in (("model", recipe.model), ("dataset", recipe.data)):
        target = draft.model if section == "model" else draft.data
        for name, value in values.items():
            if f"{section}.{name}" not in draft.explicit:
                target[name] = value


def _switches(draft: Draft, training: dict[str, Any]) -> None:
    if draft.value("amp") and "training.precision" not in draft.explicit:
        training["precision"] = "bf16"
        draft.explicit["training.precision"] = "bf16"
        draft.assume("amp_default")
    if "training.ema_decay" in draft.explicit and "training.ema" not in draft.explicit:
        training["ema"] = True
        draft.explicit["training.ema"] = True
    many = training.get("num_gpus", 1) > 1 or training.get("num_nodes", 1) > 1
    if many and training.get("distributed", "none") == "none":
        training["distributed"] = "ddp"
        draft.explicit["training.distributed"] = "ddp"
    if training.get("distributed") == "ddp" and "training.num_gpus" not in draft.explicit:
        draft.assume("ddp_gpus", gpus=training.get("num_gpus", 1))
    if training.get("distributed") == "fsdp" and "training.num_gpus" not in draft.explicit:
        draft.assume("fsdp_gpus", gpus=training.get("num_gpus", 1))
    # A family that loads pretrained weights itself (peft's pretrained_source) says so.
    fields = draft.family.hparams_model.model_fields if draft.family is not None else {}
    if draft.value("pretrained") and "pretrained_source" not in fields:
        draft.assume("pretrained")


def _fit_warmup(draft: Draft, training: dict[str, Any]) -> None:
    epochs = int(training.get("epochs", 100))
    warmup = int(training.get("warmup_epochs", 0))
    if warmup < epochs or draft.value("warmup_epochs") not in (None, UNSET):
        return
    new = max(1, epochs // 10) if epochs > 1 else 0
    training["warmup_epochs"] = new
    draft.assume("warmup_clamped", old=warmup, epochs=epochs, new=new)


def _summarize(draft: Draft, training: dict[str, Any], recipe: Recipe | None) -> None:
    assert draft.family is not None
    from dlgen.spec.training import TrainingSpec

    defaults = TrainingSpec().model_dump()
    settings = [
        f"{name}={training.get(name, defaults[name])}"
        for name in _SUMMARY_FIELDS
        if f"training.{name}" not in draft.explicit
    ]
    if settings and recipe is not None:
        draft.assume("training_recipe", recipe=recipe.name, source=recipe.source,
                     settings=", ".join(settings))  # fmt: skip
    elif settings:
        draft.assume("training_defaults", family=draft.name_of(draft.family.names),
                     settings=", ".join(settings))  # fmt: skip
