"""The offline analyzer: request text in, validated Spec out, deterministically.

Steps: normalize the text; find catalog terms (lexicon); read numbers, switches
and the task keyword on the text with those terms masked; choose family,
dataset, task and variant (resolve); fill model, data and training fields
(fill, adjust, training); validate the Spec. Every value filled in rather than
read is an assumption sentence in the user's language.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from dlgen import catalog
from dlgen.agent.analysis import Analysis
from dlgen.agent.offline.adjust import adjust
from dlgen.agent.offline.draft import Draft
from dlgen.agent.offline.fill import Target, apply_slots, start
from dlgen.agent.offline.intents import Intent, intent_readers
from dlgen.agent.offline.lexicon import Match, lexicon
from dlgen.agent.offline.messages import say
from dlgen.agent.offline.normalize import detect_language, normalize
from dlgen.agent.offline.numbers import NUMBER_READERS
from dlgen.agent.offline.options import OPTION_READERS
from dlgen.agent.offline.readers import read_all
from dlgen.agent.offline.resolve import check_unsupported, choose_variant, resolve
from dlgen.agent.offline.training import build_training, check_unknown_choices
from dlgen.catalog.base import DatasetEntry, Variant
from dlgen.errors import RequestNotUnderstood, SpecError
from dlgen.spec.spec import PROJECT_NAME_PATTERN, Spec, format_validation_error


def analyze_offline(request: str) -> Analysis:
    """Analyze a request with the offline, rule-based backend.

    Args:
        request: The user's request in Chinese, English or both.

    Returns:
        The Spec, the values read literally (``explicit``) and the assumptions.

    Raises:
        RequestNotUnderstood: Empty or unplaceable requests.
        UsageError: Unsupported architectures, tasks, optimizers or activations.
        SpecError: Contradictions, naming the field and what to change.
    """
    draft = read(request)
    check_unsupported(draft)
    check_unknown_choices(draft)
    resolve(draft, _build)
    _fill(draft)
    adjust(draft)
    _note_model_defaults(draft)
    draft.training = build_training(draft)
    return Analysis(spec=_validate(draft), backend="offline", explicit=dict(draft.explicit))


def analyze_choice(family: str, task: str, dataset: str, language: str = "en") -> Spec:
    """The Spec of a request that names exactly this family, task and dataset.

    The same defaults, adjustments and recipe as :func:`analyze_offline`, without reading
    any text: what the catalog allows for a combination (tests render every one).

    Args:
        family: A family key.
        task: A task key the family serves.
        dataset: A dataset key of a modality the task takes.
        language: The language of the assumptions.

    Returns:
        The validated Spec.

    Raises:
        KeyError: For an unknown key.
        SpecError: When the catalog does not allow the combination, saying why.
    """
    draft = Draft(request="", language=language, text="")
    draft.family, draft.task = catalog.family(family), catalog.task(task).key
    draft.dataset, draft.dataset_named = catalog.dataset(dataset), True
    choose_variant(draft)
    _fill(draft)
    adjust(draft)
    _note_model_defaults(draft)
    draft.training = build_training(draft)
    return _validate(draft)


def read(request: str) -> Draft:
    """Everything the text says: catalog terms, numbers, switches, the task keyword."""
    language = detect_language(request)
    if not request or not request.strip():
        raise RequestNotUnderstood(say("empty", language), missing=["request"])
    text = normalize(request)
    matches = lexicon().scan(text)
    masked = _mask(text, matches)
    taken: list[tuple[int, int]] = []
    readings = read_all(masked, NUMBER_READERS, taken) + read_all(masked, OPTION_READERS, taken)
    intents = read_all(masked, intent_readers())
    intent = intents[0].value if intents else None
    draft = Draft(request=request, language=language, text=text, matches=matches)
    draft.readings = {reading.slot: reading for reading in readings}
    draft.intent = intent if isinstance(intent, Intent) else None
    return draft


def _mask(text: str, matches: list[Match]) -> str:
    chars = list(text)
    for match in matches:
        chars[match.start : match.end] = " " * (match.end - match.start)
    return "".join(chars)


def _build(
    draft: Draft, entry: DatasetEntry, variant: Variant | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Model and data dictionaries for a candidate dataset, without side effects."""
    assert draft.family is not None
    model, data = start(draft.family, entry, variant, draft.task)
    model.update({k: v for k, v in draft.model.items()})
    target = _target(draft, model, data)
    apply_slots(target)
    return target.model, target.data


def _target(draft: Draft, model: dict[str, Any], data: dict[str, Any]) -> Target:
    assert draft.family is not None
    fields = frozenset(draft.family.hparams_model.model_fields)
    values = {slot: reading.value for slot, reading in draft.readings.items()}
    return Target(fields=fields, model=model, data=data, readings=values)


def _fill(draft: Draft) -> None:
    family, dataset, variant = draft.family, draft.dataset, draft.variant
    assert family is not None and dataset is not None
    model, data = start(family, dataset, variant, draft.task)
    model.update(draft.model)
    target = _target(draft, model, data)
    for slot in apply_slots(target):
        draft.assume("ignored", text=draft.readings[slot].text.strip(),
                     family=draft.name_of(family.names))  # fmt: skip
    draft.model, draft.data = target.model, target.data
    draft.explicit.update(target.explicit)
    _check_variant(draft)
    _describe_dataset(draft)


def _check_variant(draft: Draft) -> None:
    variant = draft.variant
    if variant is None:
        return
    changes = [
        f"{name}={draft.model[name]}"
        for name, value in variant.hparams.items()
        if f"model.{name}" in draft.explicit and draft.model.get(name) != value
    ]
    if changes:
        draft.model["variant"] = None
        draft.explicit.pop("model.variant", None)
        draft.assume("variant_modified", variant=draft.name_of(variant.names),
                     changes=", ".join(changes))  # fmt: skip
        draft.variant = None


def _note_model_defaults(draft: Draft) -> None:
    """One sentence for the hyperparameters neither read nor set by the variant."""
    assert draft.family is not None
    from_variant = set(draft.variant.hparams) if draft.variant else set()
    fields = draft.family.hparams_model.model_fields
    rest = [
        f"{name}={draft.model.get(name, field.get_default(call_default_factory=True))}"
        for name, field in fields.items()
        if name not in ("family", "variant") and name not in from_variant
        and f"model.{name}" not in draft.explicit
    ]  # fmt: skip
    if rest:
        draft.assume("model_defaults", family=draft.name_of(draft.family.names),
                     settings=", ".join(rest))  # fmt: skip


def _describe_dataset(draft: Draft) -> None:
    dataset = draft.dataset
    assert dataset is not None
    facts = _facts(draft)
    if draft.dataset_named:
        implied = [
            p for p in ("input_shape", "num_classes") if f"dataset.{p}" not in draft.explicit
        ]
        if implied:
            draft.assume("dataset_facts", dataset=draft.name_of(dataset.names), facts=facts)
    else:
        draft.assume("default_dataset", dataset=draft.name_of(dataset.names), facts=facts)


def _facts(draft: Draft) -> str:
    data = draft.data
    zh = draft.language == "zh"
    parts = [("输入 " if zh else "input ") + "x".join(map(str, data["input_shape"]))]
    if data.get("num_classes"):
        parts.append(f"{data['num_classes']} 类" if zh else f"{data['num_classes']} classes")
    if data.get("output_shape"):
        shape = "x".join(map(str, data["output_shape"]))
        parts.append(f"输出 {shape}" if zh else f"output {shape}")
    if data.get("vocab_size"):
        parts.append(f"词表 {data['vocab_size']}" if zh else f"vocabulary {data['vocab_size']}")
    return ("，" if zh else ", ").join(parts)


def _project_name(draft: Draft) -> str:
    assert draft.family is not None and draft.dataset is not None
    name = f"{draft.family.key}_{draft.dataset.key}"[:64]
    return name if PROJECT_NAME_PATTERN.match(name) else draft.family.key


def _validate(draft: Draft) -> Spec:
    assert draft.task is not None
    data = {
        "language": draft.language,
        "request": draft.request,
        "name": _project_name(draft),
        "task": draft.task,
        "modality": draft.data["modality"],
        "dataset": draft.data,
        "model": draft.model,
        "training": draft.training,
        "assumptions": draft.assumptions,
    }
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(
            say("invalid_spec", draft.language, problems=format_validation_error(exc)),
            hint="state the conflicting values differently, or edit the Spec with --spec",
        ) from exc
