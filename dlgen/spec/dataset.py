"""The dataset part of the Spec: the facts a project needs about its data."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator, model_validator

from dlgen.spec.common import Modality


class DatasetSpec(BaseModel):
    """Facts about the data a generated project trains on.

    ``input_shape`` is the shape of one sample, channels first: ``(C, H, W)`` for
    images, ``(C, L)`` for signals, ``(L, F)`` for time series, ``(L,)`` for token
    sequences, ``(F,)`` for tabular rows, ``(C, *grid)`` for PDE fields and
    ``(N, F)`` for a graph of N nodes with F features.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        description="Catalog key of the dataset, e.g. 'imagenet', 'cifar10', 'darcy'."
    )
    modality: Modality
    source: str = Field(
        description="How the project loads it: torchvision, imagefolder, sklearn, generator, "
        "mat, csv, text, synthetic, planetoid, ..."
    )
    input_shape: list[PositiveInt] = Field(min_length=1, max_length=4)
    in_channels: PositiveInt | None = None
    num_classes: PositiveInt | None = None
    vocab_size: PositiveInt | None = None
    output_shape: list[PositiveInt] | None = Field(
        default=None, description="Shape of one target when it is not a class index."
    )
    splits: dict[str, PositiveInt] = Field(default_factory=dict)
    root: str = "data"
    download: bool = False
    randaugment_magnitude: int | None = Field(
        default=None,
        ge=0,
        le=30,
        description="Image training augmentation: RandAugment (2 ops) at this magnitude; "
        "None: off.",
    )
    random_erasing: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Image training augmentation: erasing probability."
    )
    target: str | None = Field(
        default=None,
        max_length=200,
        description="Tabular data: the name of the target column (the class label or the "
        "value to predict), e.g. 'price'; None: the project's default ('label' or 'target').",
    )

    @field_validator("target")
    @classmethod
    def _check_target(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = value.strip()
        if not name or any(not character.isprintable() for character in name):
            raise ValueError(
                f"target {value!r} must be a column name: printable text on one line, not empty"
            )
        return name

    @model_validator(mode="after")
    def _check_shapes(self) -> DatasetSpec:
        if self.modality == Modality.IMAGE:
            if len(self.input_shape) != 3:
                raise ValueError(
                    f"an image dataset needs input_shape (C, H, W), got {self.input_shape}; "
                    "set it to e.g. [3, 224, 224]"
                )
            if self.in_channels is not None and self.in_channels != self.input_shape[0]:
                raise ValueError(
                    f"in_channels={self.in_channels} contradicts input_shape {self.input_shape}; "
                    f"set in_channels to {self.input_shape[0]} or change input_shape[0]"
                )
        if self.target is not None and self.modality != Modality.TABULAR:
            raise ValueError(
                f"target names a column of tabular data, but the dataset is "
                f"{self.modality.value}; remove it"
            )
        return self

    @property
    def image_size(self) -> int | None:
        """Side of a square image sample, or None when the data is not images."""
        if self.modality != Modality.IMAGE:
            return None
        return self.input_shape[-1]
