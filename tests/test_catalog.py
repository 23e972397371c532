"""The catalog: names, variants, datasets, parameter formulas and defaults of every family."""

from __future__ import annotations

from typing import Any

import pytest

from dlgen import catalog
from dlgen.agent.offline.lexicon import compact, lexicon
from dlgen.agent.offline.normalize import normalize
from dlgen.catalog.base import ArchitectureFamily, Variant
from dlgen.catalog.unsupported import UNSUPPORTED
from dlgen.spec import DatasetSpec, Spec, TrainingSpec
from dlgen.template_folders import TEMPLATES_ROOT
from tests.factories import variant_spec

FAMILIES = catalog.all_families()
VARIANTS = [
    pytest.param(family, variant, id=f"{family.key}-{variant.key}")
    for family in FAMILIES
    for variant in family.variants
]
TASKS = catalog.all_tasks()
# Families whose estimate_parameters is an exact count of the reference implementation.
EXACT = {"vit", "resnet", "fno", "gpt", "transformer", "gnn", "unet", "cnn", "ddpm", "autoencoder"}


def reference_dataset(family: ArchitectureFamily, variant: Variant) -> str:
    """The dataset a variant's configuration (and reference count) belongs to."""
    if family.key == "vit" or variant.hparams.get("style") == "imagenet":
        return "imagenet"
    for dataset, key in family.dataset_variants.items():
        if key == variant.key:
            return dataset
    return family.default_datasets[family.default_task]


def catalog_spec(family: ArchitectureFamily, variant: Variant | None = None) -> Spec:
    """A valid Spec of ``variant`` (default: the family's default) on its reference data."""
    variant = variant or family.variant(str(family.default_variant))
    entry = catalog.dataset(reference_dataset(family, variant))
    task = entry.task if entry.task in family.tasks else family.default_task
    return variant_spec(family, variant, entry, task)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.key)
def test_family_names_and_tasks(family: ArchitectureFamily) -> None:
    assert family.names.en and family.names.zh
    assert any(
        "\u4e00" <= char <= "\u9fff" for char in family.names.zh + "".join(family.names.aliases)
    )
    assert family.names.aliases
    assert family.tasks and family.default_variant in {v.key for v in family.variants}
    assert family.hparams_model.model_fields["family"].default == family.key
    for task in family.tasks:
        assert task in family.default_datasets, f"no default dataset for {task}"
        entry = catalog.dataset(family.default_datasets[task])
        assert entry.modality in catalog.task(task).modalities
    assert (family.template is not None) == (TEMPLATES_ROOT / "models" / family.key).is_dir()
    for task, sibling in family.redirects.items():
        assert task not in family.tasks and task in catalog.family(sibling).tasks
    TrainingSpec.model_validate(family.training_defaults)


@pytest.mark.parametrize(("family", "variant"), VARIANTS)
def test_variant_builds_a_valid_spec(family: ArchitectureFamily, variant: Variant) -> None:
    spec = catalog_spec(family, variant)
    assert spec.model.variant == variant.key
    assert spec.estimated_parameters() > 0
    assert variant.names.en and variant.names.zh


@pytest.mark.parametrize(
    ("family", "variant"), [p for p in VARIANTS if p.values[1].reference_params is not None]
)
def test_reference_parameter_counts(family: ArchitectureFamily, variant: Variant) -> None:
    assert variant.reference_params is not None
    estimate = catalog_spec(family, variant).estimated_parameters()
    if family.key in EXACT:
        assert estimate == variant.reference_params
    else:  # counts published rounded (SegFormer's paper table)
        assert abs(estimate - variant.reference_params) / variant.reference_params < 0.02


def test_exact_families_have_reference_counts() -> None:
    for key in ("vit", "resnet", "fno"):
        family = catalog.family(key)
        assert sum(v.reference_params is not None for v in family.variants) >= 2


@pytest.mark.slow
def test_resnet_and_fno_formulas_match_real_modules() -> None:
    """Cross-check two formulas against real modules (importing torch takes seconds)."""
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    resnet = catalog.family("resnet")
    spec = catalog_spec(resnet, resnet.variant("resnet18"))
    model = torchvision.models.resnet18(num_classes=1000)
    assert spec.estimated_parameters() == sum(p.numel() for p in model.parameters())
    fno = catalog_spec(catalog.family("fno"), catalog.family("fno").variant("darcy"))
    width, modes = fno.model.width, fno.model.modes
    layers = torch.nn.ModuleList([torch.nn.Linear(3, width), torch.nn.Linear(width, 128)])
    layers.append(torch.nn.Linear(128, 1))
    layers.extend(torch.nn.Conv2d(width, width, 1) for _ in range(4))
    spectral = 4 * 2 * torch.zeros(width, width, modes, modes, dtype=torch.cfloat).numel() * 2
    assert fno.estimated_parameters() == sum(p.numel() for p in layers.parameters()) + spectral


def test_aliases_are_unique_across_the_catalog() -> None:
    owners: dict[str, set[str]] = {}
    for family in FAMILIES:
        for alias in (family.names.en, family.names.zh, *family.names.aliases):
            owners.setdefault(compact(alias), set()).add(f"family:{family.key}")
        for variant in family.variants:
            for alias in (variant.names.en, variant.names.zh, *variant.names.aliases):
                owners.setdefault(compact(alias), set()).add(f"variant:{family.key}")
    for entry in catalog.all_datasets():
        for alias in (entry.names.en, entry.names.zh, *entry.names.aliases):
            owners.setdefault(compact(alias), set()).add(f"dataset:{entry.key}")
    for item in UNSUPPORTED:
        for alias in (item.names.en, item.names.zh, *item.names.aliases):
            owners.setdefault(compact(alias), set()).add(f"unsupported:{item.key}")
    clashes = {alias: who for alias, who in owners.items() if len(who) > 1}
    allowed = {a: w for a, w in clashes.items() if len({x.split(":")[1] for x in w}) == 1}
    assert clashes == allowed, f"aliases shared across families/datasets: {clashes}"
    lexicon()  # building it raises on any clash it cannot resolve


@pytest.mark.parametrize("entry", catalog.all_datasets(), ids=lambda d: d.key)
def test_dataset_entry(entry: catalog.DatasetEntry) -> None:
    DatasetSpec.model_validate(entry.spec_fields())
    reachable = [
        alias
        for alias in (entry.names.en, entry.names.zh, *entry.names.aliases)
        if [(m.term.kind, m.term.key) for m in lexicon().scan(normalize(alias))]
        == [("dataset", entry.key)]
    ]
    assert reachable, f"no alias of {entry.key} is recognised on its own"
    family = catalog.family(entry.default_architecture)
    assert entry.task in family.tasks, f"{family.key} does not serve {entry.task}"
    assert entry.modality in catalog.task(entry.task).modalities


def test_required_datasets_are_present() -> None:
    keys = {d.key for d in catalog.all_datasets()}
    required = {
        "imagenet", "cifar10", "cifar100", "mnist", "fashion_mnist", "cityscapes", "ade20k",
        "pascal_voc", "oxford_pet", "cora", "citeseer", "pubmed", "darcy", "burgers",
        "navier_stokes", "wikitext2", "wikitext103", "tiny_shakespeare", "imdb", "sst2",
        "ag_news", "iris", "custom_folder", "custom_csv",
    }  # fmt: skip
    assert required <= keys


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.key)
def test_task_entry(task: catalog.TaskEntry) -> None:
    assert task.names.en and task.names.zh and task.description
    assert task.signals and task.metrics[0] == task.monitor
    assert task.monitor_mode in ("max", "min")
    assert task.key in catalog.family(task.default_family).tasks
    assert list(task.default_datasets) == [m for m in task.modalities if m in task.default_datasets]
    for modality, dataset_key in task.default_datasets.items():
        entry = catalog.dataset(dataset_key)
        assert entry.modality == modality
        data = DatasetSpec.model_validate(entry.spec_fields())
        assert all(size > 0 for size in task.output_shape(data))
    assert (task.template is not None) == (TEMPLATES_ROOT / "tasks" / task.key).is_dir()
    if task.template is not None:  # the README shows an inference example for each modality
        assert all(task.inference_example(m) for m in task.modalities)
    TrainingSpec.model_validate(task.training_defaults)


def test_every_task_is_served_and_every_folder_is_a_task() -> None:
    served = {task for family in FAMILIES for task in family.tasks}
    assert served == set(catalog.task_keys())
    folders = {p.name for p in (TEMPLATES_ROOT / "tasks").iterdir() if p.is_dir()}
    assert folders <= set(catalog.task_keys()), "a task template folder without a catalog task"
    models = {p.name for p in (TEMPLATES_ROOT / "models").iterdir() if p.is_dir()}
    assert models <= {f.key for f in FAMILIES}, "a model template folder without a family"


@pytest.mark.parametrize("item", UNSUPPORTED, ids=lambda u: u.key)
def test_unsupported_entries_point_to_real_families(item: Any) -> None:
    assert item.names.aliases and all(item.what)
    if item.closest is not None:
        catalog.family(item.closest)


@pytest.mark.parametrize(
    ("family_key", "model", "dataset_key", "fragment"),
    [
        ("resnet", {"style": "cifar", "layers": [3, 3, 3, 3], "stem": "small"}, "cifar10",
         "needs 3"),
        ("cnn", {"dims": 1}, "mnist", "set dims to 2"),
        ("fno", {"dims": 2, "modes": 60}, "darcy", "lower modes to"),
        ("gpt", {"tokenizer": "gpt2"}, "tiny_shakespeare", "set vocab_size to 50257"),
        ("rnn", {"bidirectional": True}, "tiny_shakespeare", "set bidirectional to false"),
        ("unet", {}, "digits", "not divisible by 2**depth=16"),
        ("gnn", {"conv": "gcn", "heads": 4}, "cora", "set heads to 1"),
        ("ddpm", {"attention_resolutions": [5]}, "cifar10", "never occur"),
        ("mlp", {}, "imdb", "tabular rows or flattened images"),
        ("segformer", {"num_heads": [1, 2, 7, 8]}, "ade20k", "does not divide embed_dim 320"),
    ],
)  # fmt: skip
def test_check_dataset_says_what_to_change(
    family_key: str, model: dict[str, Any], dataset_key: str, fragment: str
) -> None:
    family = catalog.family(family_key)
    hparams = family.hparams_model.model_validate({"family": family_key, **model})
    data = DatasetSpec.model_validate(catalog.dataset(dataset_key).spec_fields())
    problems = hparams.check_dataset(data)
    assert any(fragment in problem for problem in problems), problems
