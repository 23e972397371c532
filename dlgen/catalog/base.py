"""Catalog entry types: what dlgen knows about a task, an architecture family or a dataset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from dlgen.spec.common import Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams
from dlgen.template_folders import template_folder


@dataclass(frozen=True)
class Names:
    """Display names and the aliases the analyzer recognises, in both languages.

    Aliases are matched case-insensitively with '-', '_', '/' and spaces ignored,
    so "ViT-B/16", "vit_b16" and "VIT B 16" are the same alias.
    """

    en: str
    zh: str
    aliases: tuple[str, ...] = ()

    def display(self, language: str) -> str:
        """The display name in ``language`` ('zh' or 'en')."""
        return self.zh if language == "zh" else self.en


@dataclass(frozen=True)
class Signal:
    """Words that point the analyzer to a task.

    Readers run in ascending ``order`` and the first match wins, so specific phrases
    ("情感分类", "node classification") get a lower order than generic words. Tasks that
    share a pattern (the generic "分类"/"classify") become one reading whose candidate
    tasks are ranked by their ``order``; the data's modality decides among them.

    Attributes:
        pattern: Regular expression over the normalized request (ASCII mode).
        order: Priority; lower runs first.
        strong: Whether the words name the task unambiguously. A weak signal ("预测")
            only picks among the tasks the named family already serves.
    """

    pattern: str
    order: int
    strong: bool = True


@dataclass(frozen=True)
class DataFact:
    """A fact about the data that a request of one task states in words.

    Attributes:
        pattern: Regular expression searched in the normalised request.
        field: The ``DatasetSpec`` field it sets, ``"dataset"`` to choose a catalog
            dataset when the request names none (e.g. the user's own image folders), or
            ``"model.<name>"`` to set a hyperparameter of a family that has it (the
            tokenizer of a GPT).
        value: The value (a dataset key for ``"dataset"``); ``None`` takes the pattern's
            ``(?P<value>...)`` group from the raw request, so a path keeps its case.
    """

    pattern: str
    field: str
    value: Any


@dataclass(frozen=True)
class TaskEntry:
    """One task: what it is, how a request names it, and what its projects default to.

    Attributes:
        key: Stable identifier stored in ``Spec.task``, e.g. "image_classification"; also
            the name of its template folder ``dlgen/templates/tasks/<key>/``.
        names: Display names in both languages.
        signals: The words that signal the task to the offline analyzer.
        modalities: Kinds of data the task takes; the first is the usual one.
        default_datasets: Dataset key per modality for a request that names none; the
            first entry is the task's default dataset.
        default_family: Family key for a request that names only the task.
        requires: ``DatasetSpec`` fields the task cannot do without (e.g. ``num_classes``
            for classification); a Spec whose dataset lacks one is refused.
        monitor: Metric that selects the best checkpoint; the task's ``task.py`` declares
            the same (checked when rendering).
        monitor_mode: ``max`` when larger is better, else ``min``.
        metrics: Metrics the task reports at evaluation, monitor first.
        output_shape: The model output's shape for one sample, from the dataset facts.
        inference_examples: Per modality, the argument lists the README's ``inference.py``
            examples pass: one input first, then a batch (a folder, several prompts) with
            the options that suit the task. Placeholders are ``path/to/...``; a test
            substitutes real inputs and runs every one.
        data_facts: Facts about the data the analyzer reads in the task's own words.
        dataset_tasks: When set, a catalog dataset must be one of these tasks' datasets
            (segmentation needs masks, which a classification dataset lacks); datasets
            outside the catalog are not restricted.
        training_defaults: ``TrainingSpec`` values of a sound recipe for the task; a
            family's own ``training_defaults`` take precedence.
        description: One English line for ``dlgen list`` and the prompts.
    """

    key: str
    names: Names
    signals: tuple[Signal, ...]
    modalities: tuple[Modality, ...]
    default_datasets: dict[Modality, str]
    default_family: str
    requires: tuple[str, ...]
    monitor: str
    monitor_mode: Literal["max", "min"]
    metrics: tuple[str, ...]
    output_shape: Callable[[DatasetSpec], tuple[int, ...]]
    inference_examples: dict[Modality, tuple[str, ...]] = field(default_factory=dict)
    data_facts: tuple[DataFact, ...] = ()
    dataset_tasks: tuple[str, ...] = ()
    training_defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def default_dataset(self) -> str:
        """The dataset key assumed when a request names only the task."""
        return next(iter(self.default_datasets.values()))

    @property
    def template(self) -> str | None:
        """The template folder's name, or None while the task cannot be generated."""
        return self.key if template_folder("tasks", self.key) else None

    def inference_example(self, modality: Modality) -> str:
        """The README's first example argument to ``inference.py`` for ``modality``."""
        return self.inference_examples_for(modality)[0]

    def inference_examples_for(self, modality: Modality) -> tuple[str, ...]:
        """Every README example argument list to ``inference.py`` for ``modality``."""
        return self.inference_examples.get(modality, ("",))


@dataclass(frozen=True)
class Variant:
    """A named configuration from a paper or a reference implementation.

    Attributes:
        key: Stable identifier stored in ``Spec.model.variant``, e.g. "b16".
        names: How users write it.
        hparams: Field values of the family's hyperparameter model.
        dataset_overrides: Dataset facts the variant implies (e.g. image size).
        reference_params: Parameter count of the reference implementation.
        reference: Where that count comes from (timm name, paper table).
        task: The task the variant is made for, when its family serves several (PatchTST
            forecasts): a request naming the variant but neither task nor dataset gets it.
    """

    key: str
    names: Names
    hparams: dict[str, Any]
    dataset_overrides: dict[str, Any] = field(default_factory=dict)
    reference_params: int | None = None
    reference: str = ""
    task: str | None = None


def _always(model: dict[str, Any], data: dict[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class Recipe:
    """A published training recipe, used when its condition holds for the Spec being built.

    Attributes:
        name: What the README and the assumptions call it, e.g. "DeiT ImageNet".
        source: Where it comes from (paper and section, or reference implementation).
        training: ``TrainingSpec`` values (over the family's ``training_defaults``).
        model: Hyperparameter values the recipe sets when the request does not.
        data: ``DatasetSpec`` values (e.g. augmentation strength) likewise.
        applies: Whether the recipe fits a Spec's ``model`` and ``dataset`` fields.
    """

    name: str
    source: str
    training: dict[str, Any]
    model: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    applies: Callable[[dict[str, Any], dict[str, Any]], bool] = _always


@dataclass(frozen=True)
class ArchitectureFamily:
    """One architecture family: names, variants, tasks and hyperparameter model.

    Attributes:
        key: The ``family`` discriminator value, e.g. "vit".
        names: Display names and aliases.
        hparams_model: Pydantic model of the family's hyperparameters.
        tasks: Keys of the tasks the family serves; the first is the default.
        variants: Named configurations.
        default_variant: Variant used when the request names none.
        task_variants: Variant per task key, over ``default_variant``, for a family serving
            tasks that want different configurations (the Transformer encoder: BERT-Mini
            for text, a forecaster for time series); ``dataset_variants`` still win.
        default_datasets: Dataset key to use per task key when the request names none.
        paper: Citation of the paper the implementation follows.
        dataset_variants: Variant to use per dataset key when the request names a
            dataset but no variant (e.g. FNO on Burgers -> the 1-D "burgers" variant).
        training_defaults: ``TrainingSpec`` field values of a sound recipe for the
            family; the analyzer starts from them.
        recipes: Published recipes, most specific first; the first that applies to a
            Spec's model and data fills the training options the request leaves open.
        redirects: Sibling family per task key this family does not serve: a generic name
            used for that task means the sibling ("Transformer" for translation is the
            encoder-decoder, for images ViT).
    """

    key: str
    names: Names
    hparams_model: type[ArchitectureHParams]
    tasks: tuple[str, ...]
    variants: tuple[Variant, ...] = ()
    default_variant: str | None = None
    task_variants: dict[str, str] = field(default_factory=dict)
    default_datasets: dict[str, str] = field(default_factory=dict)
    paper: str = ""
    dataset_variants: dict[str, str] = field(default_factory=dict)
    training_defaults: dict[str, Any] = field(default_factory=dict)
    recipes: tuple[Recipe, ...] = ()
    redirects: dict[str, str] = field(default_factory=dict)

    @property
    def default_task(self) -> str:
        """The task assumed when the request does not name one."""
        return self.tasks[0]

    @property
    def template(self) -> str | None:
        """The model template folder's name, or None while the family cannot be generated."""
        return self.key if template_folder("models", self.key) else None

    def recipe_for(self, model: dict[str, Any], data: dict[str, Any]) -> Recipe | None:
        """The first recipe that applies to these model and dataset fields, or None.

        Args:
            model: ``Spec.model`` fields (a dict).
            data: ``Spec.dataset`` fields (a dict).

        Returns:
            The recipe, or None when only ``training_defaults`` apply.
        """
        return next((r for r in self.recipes if r.applies(model, data)), None)

    def variant(self, key: str) -> Variant:
        """Look up a variant by key.

        Raises:
            KeyError: If the family has no such variant.
        """
        for variant in self.variants:
            if variant.key == key:
                return variant
        known = ", ".join(v.key for v in self.variants) or "none"
        raise KeyError(f"{self.key} has no variant {key!r}; known variants: {known}")


@dataclass(frozen=True)
class DatasetEntry:
    """A dataset dlgen knows, with the facts a request implies by naming it.

    Attributes:
        key: Catalog key, stored in ``Spec.dataset.name``.
        names: Display names and aliases.
        task: Key of the task it is usually used for.
        modality: Kind of data.
        source: Loader kind the generated project uses.
        input_shape: One sample's shape, channels first.
        num_classes: Number of classes, for classification or segmentation.
        vocab_size: Vocabulary size for token data, when fixed.
        output_shape: Shape of a non-class target (operator learning, forecasting).
        splits: Sizes of the standard splits.
        default_architecture: Family key used when the request names only the dataset.
        downloadable: Whether the standard loader can download it.
        notes: One line on what it is.
    """

    key: str
    names: Names
    task: str
    modality: Modality
    source: str
    input_shape: tuple[int, ...]
    num_classes: int | None = None
    vocab_size: int | None = None
    output_shape: tuple[int, ...] | None = None
    splits: dict[str, int] = field(default_factory=dict)
    default_architecture: str = ""
    downloadable: bool = False
    notes: str = ""

    def spec_fields(self) -> dict[str, Any]:
        """The ``DatasetSpec`` fields this entry implies, as JSON-compatible values."""
        channels_first = self.modality in (Modality.IMAGE, Modality.SIGNAL)
        return {
            "name": self.key,
            "modality": self.modality.value,
            "source": self.source,
            "input_shape": list(self.input_shape),
            "in_channels": self.input_shape[0] if channels_first else None,
            "num_classes": self.num_classes,
            "vocab_size": self.vocab_size,
            "output_shape": list(self.output_shape) if self.output_shape else None,
            "splits": dict(self.splits),
            "download": self.downloadable,
        }
