"""Choose the family, variant, dataset and task from what the request named.

A request may name any of the three (family, dataset, task); the missing ones
come from the catalog (a dataset's usual architecture, a family's default task
and dataset, a task's default family and dataset), each choice recorded as an
assumption.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pydantic import ValidationError

from dlgen import catalog
from dlgen.agent.offline.draft import Draft
from dlgen.agent.offline.lexicon import Match
from dlgen.agent.offline.messages import join, say, task_name
from dlgen.catalog.base import ArchitectureFamily, DatasetEntry, Variant
from dlgen.catalog.unsupported import UNSUPPORTED
from dlgen.errors import RequestNotUnderstood, UsageError
from dlgen.spec.common import Modality
from dlgen.spec.dataset import DatasetSpec


def _modalities(task: str) -> tuple[Modality, ...]:
    return catalog.task(task).modalities


Builder = Callable[[Draft, DatasetEntry, Variant | None], tuple[dict, dict]]


def check_unsupported(draft: Draft) -> None:
    """Refuse a request that names something outside the catalog.

    Raises:
        UsageError: Naming the thing and the closest supported family.
    """
    for match in draft.matches:
        if match.term.kind != "unsupported":
            continue
        entry = next(e for e in UNSUPPORTED if e.key == match.term.key)
        what = entry.what[1] if draft.language == "zh" else entry.what[0]
        if entry.kind == "dataset":
            raise UsageError(
                say(
                    "unsupported_dataset",
                    draft.language,
                    name=draft.name_of(entry.names),
                    what=what,
                ),
                hint="dlgen list",
            )
        if entry.closest:
            family = catalog.family(entry.closest)
            closest = say("closest", draft.language, family=draft.name_of(family.names),
                          key=family.key)  # fmt: skip
        else:
            closest = say("no_closest", draft.language)
        raise UsageError(
            say(
                "unsupported",
                draft.language,
                name=draft.name_of(entry.names),
                what=what,
                closest=closest,
            ),
            hint="dlgen list",
        )


def resolve(draft: Draft, build: Builder) -> None:
    """Fill ``draft.family``, ``variant``, ``dataset`` and ``task``.

    Args:
        draft: The draft with matches and readings.
        build: Builds (model, data) dictionaries for a dataset candidate; used to
            pick a default dataset the model is compatible with.

    Raises:
        RequestNotUnderstood: When nothing places the request in the catalog.
        UsageError: When the named family cannot do the named task.
    """
    _choose_dataset_named(draft)
    _choose_family_named(draft)
    if draft.family is None and draft.dataset is None and draft.intent is None:
        raise not_understood(draft)
    draft.task = _choose_task(draft)
    if draft.family is None:
        _default_family(draft)
    _redirect(draft)
    if draft.dataset is None:
        _default_dataset(draft, build)
    choose_variant(draft)
    _note_fuzzy(draft)


def not_understood(draft: Draft) -> RequestNotUnderstood:
    """The error for a request with no architecture, task or dataset."""
    understood = {slot: str(reading.value) for slot, reading in draft.readings.items()}
    listed = ", ".join(f"{slot}={value}" for slot, value in understood.items())
    if listed:
        listed = f"；已识别：{listed}" if draft.language == "zh" else f" (understood: {listed})"
    return RequestNotUnderstood(
        say("not_understood", draft.language, understood=listed),
        understood=understood,
        missing=["architecture", "task", "dataset"],
    )


def _terms(draft: Draft, kinds: tuple[str, ...]) -> list[Match]:
    return [match for match in draft.matches if match.term.kind in kinds]


def _choose_dataset_named(draft: Draft) -> None:
    named = _unique(_terms(draft, ("dataset",)))
    if not named:
        return
    draft.dataset = catalog.dataset(named[0].term.key)
    draft.dataset_named = True
    draft.explicit["dataset.name"] = draft.dataset.key
    if len(named) > 1:
        names = join([m.text for m in named], draft.language)
        draft.assume("several_datasets", names=names, dataset=draft.name_of(draft.dataset.names))


def _choose_family_named(draft: Draft) -> None:
    named = _terms(draft, ("family", "variant"))
    if not named:
        return
    first = catalog.family(named[0].term.key)
    first = next((f for f in _backbone_hosts(named) if f.key != first.key), first)
    others = [m for m in named if m.term.key != first.key]
    others = [m for m in others if not _as_backbone(draft, first, m)]
    if others:
        names = join(_unique_texts(named), draft.language)
        draft.assume("several_families", names=names, family=draft.name_of(first.names))
    draft.family = first
    variants = [m for m in named if m.term.key == first.key and m.term.kind == "variant"]
    if len({m.term.variant for m in variants}) > 1 and not others:
        names = join(_unique_texts(variants), draft.language)
        draft.assume("several_families", names=names, family=variants[0].text)
    if variants:
        draft.variant = first.variant(str(variants[0].term.variant))
        draft.variant_named = True
        draft.explicit["model.variant"] = draft.variant.key
    draft.explicit["model.family"] = first.key


def _as_backbone(draft: Draft, family: ArchitectureFamily, match: Match) -> bool:
    """Read another family's variant as the backbone field when the family has one."""
    backbone = _backbone_choice(family, match)
    if backbone is None:
        return False
    _set_backbone(draft, family, backbone, match.text)
    return True


def _backbone_choice(family: ArchitectureFamily, match: Match) -> str | None:
    """The ``backbone`` value of ``family`` that another family's name or variant means.

    A variant whose key is a backbone choice (DeepLabV3+'s ``resnet101``), or a family the
    hyperparameter model maps to one in ``backbone_of_family`` (peft: BERT -> bert_base).
    """
    field = family.hparams_model.model_fields.get("backbone")
    if field is None or match.term.key == family.key:
        return None
    if match.term.kind == "family":
        table = getattr(family.hparams_model, "backbone_of_family", {})
        return table.get(match.term.key) if isinstance(table, dict) else None
    if match.term.kind == "variant" and match.term.variant in getattr(
        field.annotation, "__args__", ()
    ):
        return str(match.term.variant)
    return None


def _backbone_hosts(named: list[Match]) -> list[ArchitectureFamily]:
    """Named families that take every other named family or variant as their backbone
    ("Fine-tune BERT with LoRA" is LoRA on a BERT backbone, whichever comes first)."""
    hosts = []
    for key in dict.fromkeys(m.term.key for m in named):
        family = catalog.family(key)
        others = [m for m in named if m.term.key != key]
        if others and all(_backbone_choice(family, m) is not None for m in others):
            hosts.append(family)
    return hosts


def _set_backbone(draft: Draft, family: ArchitectureFamily, backbone: str, text: str) -> None:
    draft.model["backbone"] = backbone
    draft.explicit["model.backbone"] = backbone
    draft.assume("backbone", variant=text, family=draft.name_of(family.names))
    for variant in family.variants:
        if variant.hparams.get("backbone") == backbone:
            draft.variant, draft.variant_named = variant, True
            draft.explicit["model.variant"] = variant.key


def _choose_task(draft: Draft) -> str | None:
    intent, family, dataset = draft.intent, draft.family, draft.dataset
    if intent is not None:
        candidates = list(intent.tasks)
        if dataset is not None:
            candidates = [t for t in candidates if dataset.modality in _modalities(t)]
        served = [t for t in candidates if family is None or t in family.tasks]
        if served:
            draft.explicit["task"] = served[0]
            return served[0]
        if intent.strong and candidates:
            draft.explicit["task"] = candidates[0]
            return candidates[0]
        if intent.strong and dataset is not None:
            task = intent.tasks[0]
            raise UsageError(
                say("task_data_mismatch", draft.language, dataset=draft.name_of(dataset.names),
                    modality=dataset.modality.value, task=task_name(task, draft.language),
                    needs=", ".join(m.value for m in _modalities(task))),
                hint="dlgen list",
            )  # fmt: skip
    if dataset is not None and (family is None or dataset.task in family.tasks):
        return dataset.task
    if dataset is not None and family is not None and dataset.task in family.redirects:
        return dataset.task  # e.g. "Transformer on CIFAR-10" is a ViT
    if family is not None:
        task = _variant_task(draft) or family.default_task
        draft.assume("default_task", family=draft.name_of(family.names),
                     task=task_name(task, draft.language))  # fmt: skip
        return task
    return None


def _variant_task(draft: Draft) -> str | None:
    """The task of the named variant, when it is made for one its family serves."""
    variant, family = draft.variant, draft.family
    if not draft.variant_named or variant is None or family is None:
        return None
    return variant.task if variant.task in family.tasks else None


def _default_family(draft: Draft) -> None:
    dataset, task = draft.dataset, draft.task
    if dataset is not None and (task is None or task == dataset.task):
        draft.family = catalog.family(dataset.default_architecture)
        draft.task = task or dataset.task
        draft.assume("family_from_dataset", family=draft.name_of(draft.family.names),
                     dataset=draft.name_of(dataset.names))  # fmt: skip
        return
    assert task is not None
    draft.family = catalog.family(catalog.task(task).default_family)
    draft.assume("family_from_task", family=draft.name_of(draft.family.names),
                 task=task_name(task, draft.language))  # fmt: skip


def _redirect(draft: Draft) -> None:
    family, task = draft.family, draft.task
    assert family is not None and task is not None
    if task in family.tasks:
        return
    target = family.redirects.get(task)
    if target is not None and not draft.variant_named:
        asked = draft.name_of(family.names)
        draft.family = catalog.family(target)
        draft.explicit["model.family"] = target
        draft.assume("family_redirect", family_asked=asked, task=task_name(task, draft.language),
                     family=draft.name_of(draft.family.names))  # fmt: skip
        return
    host = _backbone_host(draft, task)
    if host is not None and draft.variant is not None:
        named = draft.variant
        draft.family, draft.variant, draft.variant_named = host, None, False
        draft.explicit.pop("model.variant", None)
        _set_backbone(draft, host, named.key, draft.name_of(named.names))
        draft.explicit["model.family"] = host.key
        return
    serving = [f.key for f in catalog.all_families() if task in f.tasks]
    raise UsageError(
        say("task_not_served", draft.language, family=draft.name_of(family.names),
            task=task_name(task, draft.language), families=", ".join(serving)),
        hint=f"name one of: {', '.join(serving)}",
    )  # fmt: skip


def _backbone_host(draft: Draft, task: str) -> ArchitectureFamily | None:
    """A family serving ``task`` that takes the named variant as its backbone
    ("segmentation with a ResNet-101 backbone" is a DeepLabV3+)."""
    if draft.variant is None:
        return None
    for family in catalog.all_families():
        field = family.hparams_model.model_fields.get("backbone")
        choices = getattr(field.annotation, "__args__", ()) if field else ()
        if task in family.tasks and draft.variant.key in choices:
            return family
    return None


def _default_dataset(draft: Draft, build: Builder) -> None:
    family, task = draft.family, draft.task
    assert family is not None and task is not None
    for fact in catalog.task(task).data_facts:
        if fact.field == "dataset" and re.search(fact.pattern, draft.text, re.IGNORECASE):
            draft.dataset = catalog.dataset(str(fact.value))
            return
    candidates = _dataset_candidates(family, task)
    chosen = next((c for c in candidates if _compatible(draft, build, c)), candidates[0])
    draft.dataset = chosen


def _dataset_candidates(family: ArchitectureFamily, task: str) -> list[DatasetEntry]:
    keys = [family.default_datasets.get(task, "")]
    keys += [d.key for d in catalog.all_datasets() if d.key in family.dataset_variants]
    keys += [d.key for d in catalog.all_datasets() if d.default_architecture == family.key]
    keys.extend(catalog.task(task).default_datasets.values())
    entries: list[DatasetEntry] = []
    for key in keys:
        if not key or any(e.key == key for e in entries):
            continue
        entry = catalog.dataset(key)
        if entry.modality in _modalities(task):
            entries.append(entry)
    return entries


def _compatible(draft: Draft, build: Builder, entry: DatasetEntry) -> bool:
    family = draft.family
    assert family is not None
    variant = _variant_for(draft, entry)
    try:
        model, data = build(draft, entry, variant)
        hparams = family.hparams_model.model_validate(model)
        dataset = DatasetSpec.model_validate(data)
    except (ValidationError, ValueError, KeyError):
        return False
    return not hparams.check_dataset(dataset)


def _variant_for(draft: Draft, entry: DatasetEntry) -> Variant | None:
    family = draft.family
    assert family is not None
    if draft.variant_named:
        return draft.variant
    key = (
        family.dataset_variants.get(entry.key)
        or family.task_variants.get(draft.task or entry.task)
        or family.default_variant
    )
    return family.variant(key) if key else None


def choose_variant(draft: Draft) -> None:
    """Pick the variant for the chosen family and dataset unless the request named one."""
    family, dataset = draft.family, draft.dataset
    assert family is not None and dataset is not None
    if draft.variant_named:
        return
    draft.variant = _variant_for(draft, dataset)
    if draft.variant is None:
        return
    config = ", ".join(f"{k}={v}" for k, v in list(draft.variant.hparams.items())[:5])
    name = draft.name_of(draft.variant.names)
    if dataset.key in family.dataset_variants:
        draft.assume("dataset_variant", variant=name, config=config,
                     dataset=draft.name_of(dataset.names))  # fmt: skip
    else:
        draft.assume("default_variant", variant=name, config=config)


def _note_fuzzy(draft: Draft) -> None:
    for match in draft.matches:
        if match.fuzzy and match.term.kind != "unsupported":
            draft.assume("fuzzy", text=match.text, name=draft.name_of(match.term.names))


def _unique(matches: list[Match]) -> list[Match]:
    seen: set[str] = set()
    unique = []
    for match in matches:
        if match.term.key not in seen:
            seen.add(match.term.key)
            unique.append(match)
    return unique


def _unique_texts(matches: list[Match]) -> list[str]:
    return list(dict.fromkeys(m.text for m in matches))
