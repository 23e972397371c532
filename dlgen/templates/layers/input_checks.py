"""Input validation shared by the models: clear errors instead of deep shape mismatches."""

from collections.abc import Sequence

from torch import Tensor


def check_batch(
    x: Tensor,
    *,
    layout: str,
    channels: int,
    spatial: Sequence[int] | None = None,
) -> None:
    """Check a channels-first batch before it enters a model.

    Args:
        x: The batch, shaped like ``layout`` (e.g. ``(B, C, H, W)``).
        layout: The expected layout; its number of letters gives the expected rank.
        channels: The expected size of dimension 1.
        spatial: The expected sizes of the dimensions after the channel one, or ``None``
            when the model accepts any size.

    Raises:
        ValueError: If the rank, the channel count or the spatial size is wrong, or the
            batch is empty.
    """
    rank = len(layout.strip("()").split(","))
    shape = tuple(x.shape)
    if x.ndim != rank:
        raise ValueError(f"expected a {rank}-D batch shaped {layout}, got shape {shape}")
    if x.numel() == 0:
        raise ValueError(f"expected a non-empty batch shaped {layout}, got shape {shape}")
    if shape[1] != channels:
        raise ValueError(f"expected {channels} input channels (dim 1 of {layout}), got {shape}")
    if spatial is not None and shape[2:] != tuple(spatial):
        raise ValueError(
            f"expected spatial size {tuple(spatial)} (the model's configured size), got "
            f"{shape[2:]}; resize the inputs or rebuild the model for this size"
        )
