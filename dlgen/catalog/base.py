"""Catalog entry types: what dlgen knows about an architecture family or a dataset."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlgen.spec.common import Modality, Task
from dlgen.spec.hparams import ArchitectureHParams


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
class Variant:
    """A named configuration from a paper or a reference implementation.

    Attributes:
        key: Stable identifier stored in ``Spec.model.variant``, e.g. "b16".
        names: How users write it.
        hparams: Field values of the family's hyperparameter model.
        dataset_overrides: Dataset facts the variant implies (e.g. image size).
        reference_params: Parameter count of the reference implementation.
        reference: Where that count comes from (timm name, paper table).
    """

    key: str
    names: Names
    hparams: dict[str, Any]
    dataset_overrides: dict[str, Any] = field(default_factory=dict)
    reference_params: int | None = None
    reference: str = ""


@dataclass(frozen=True)
class ArchitectureFamily:
    """One architecture family: names, variants, tasks and hyperparameter model.

    Attributes:
        key: The ``family`` discriminator value, e.g. "vit".
        names: Display names and aliases.
        hparams_model: Pydantic model of the family's hyperparameters.
        tasks: Tasks the family serves; the first is the default.
        variants: Named configurations.
        default_variant: Variant used when the request names none.
        default_datasets: Dataset key to use per task when the request names none.
        template: Name of the template folder, or None while it does not exist.
        paper: Citation of the paper the implementation follows.
        dataset_variants: Variant to use per dataset key when the request names a
            dataset but no variant (e.g. FNO on Burgers -> the 1-D "burgers" variant).
        training_defaults: ``TrainingSpec`` field values of a sound recipe for the
            family; the analyzer starts from them.
    """

    key: str
    names: Names
    hparams_model: type[ArchitectureHParams]
    tasks: tuple[Task, ...]
    variants: tuple[Variant, ...] = ()
    default_variant: str | None = None
    default_datasets: dict[Task, str] = field(default_factory=dict)
    template: str | None = None
    paper: str = ""
    dataset_variants: dict[str, str] = field(default_factory=dict)
    training_defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def default_task(self) -> Task:
        """The task assumed when the request does not name one."""
        return self.tasks[0]

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
        task: The task it is usually used for.
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
    task: Task
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
