"""Base class of the per-family hyperparameter models carried by the Spec.

Each architecture family in :mod:`dlgen.catalog.families` defines one subclass
with a ``family`` literal; the Spec holds the discriminated union of all of them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from dlgen.spec.dataset import DatasetSpec

# Debug presets keep images up to this side; larger ones shrink to a small valid size.
DEBUG_MAX_IMAGE_SIZE = 64


class ArchitectureHParams(BaseModel):
    """Hyperparameters of one architecture family.

    Subclasses declare ``family: Literal["<key>"]`` and override
    :meth:`check_dataset` and :meth:`estimate_parameters`.
    """

    model_config = ConfigDict(extra="forbid")

    family: str
    variant: str | None = None

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        """Contradictions between these hyperparameters and the data.

        Args:
            dataset: The dataset facts of the same Spec.

        Returns:
            One message per contradiction, each saying what to change.
        """
        return []

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        """Number of trainable parameters the model would have on this data.

        Exact where the formula is simple, a close estimate otherwise; the smoke
        check of validation reports the real count.

        Args:
            dataset: The dataset facts of the same Spec.

        Returns:
            The parameter count.
        """
        return 0

    def estimate_trainable_parameters(self, dataset: DatasetSpec) -> int | None:
        """Parameters the optimizer updates, when fewer than all (adapters, a frozen base).

        Args:
            dataset: The dataset facts of the same Spec.

        Returns:
            The count of trained parameters; None when every parameter trains.
        """
        return None

    # Input sizes --------------------------------------------------------------------------

    def input_multiple(self) -> int:
        """The number every image side must be a multiple of (the model's total stride).

        Returns:
            1 when any size works; 16 for ViT-B/16, 2**depth for a U-Net.
        """
        return 1

    def output_shape(self, task_shape: tuple[int, ...]) -> tuple[int, ...]:
        """One sample's model output, given the shape the task expects for it.

        Args:
            task_shape: ``TaskEntry.output_shape(dataset)``, e.g. ``(K, H, W)``.

        Returns:
            The shape this model produces: the task's unless the model changes it (a
            valid-padding U-Net's output is smaller than its input).
        """
        return task_shape

    def debug_image_size(self, dataset: DatasetSpec) -> int | None:
        """The image side the debug preset uses: small, and valid for the model.

        Args:
            dataset: The dataset facts of the same Spec.

        Returns:
            The side in pixels (unchanged up to 64, else a small multiple of
            :meth:`input_multiple`, or 32 when any size works), or None without images.
        """
        size = dataset.image_size
        if size is None or size <= DEBUG_MAX_IMAGE_SIZE:
            return size
        multiple = self.input_multiple()
        if multiple > 1:
            return multiple * max(2, DEBUG_MAX_IMAGE_SIZE // multiple)
        return DEBUG_MAX_IMAGE_SIZE // 2

    # Performance estimates for the README (None: not estimated) --------------------------

    def estimate_flops(self, dataset: DatasetSpec) -> int | None:
        """Forward FLOPs for one sample (2 per multiply-accumulate), or None.

        Args:
            dataset: The dataset facts of the same Spec.

        Returns:
            The estimate, or None when the family does not provide one.
        """
        return None

    def estimate_activations(self, dataset: DatasetSpec) -> int | None:
        """Activation elements kept for the backward pass, for one sample, or None.

        Args:
            dataset: The dataset facts of the same Spec.

        Returns:
            The estimate, or None when the family does not provide one.
        """
        return None

    def complexity_notes(self, dataset: DatasetSpec) -> list[tuple[str, str]]:
        """Time complexity of the key blocks as ``(block, big-O)`` pairs (English, math).

        Args:
            dataset: The dataset facts of the same Spec.

        Returns:
            The pairs; empty when the family lists none.
        """
        return []
