"""The smoke entry point dlgen's validators call (``[tool.dlgen] smoke`` in pyproject.toml)."""

from __future__ import annotations

from typing import Any

import torch

from .config import load_config
from .models import build_model
from .task import build_task


def smoke_case(device: torch.device) -> dict[str, Any]:
    """The real-size model and a batch of 2 for a forward/backward check.

    Args:
        device: Where to put the model and the inputs.

    Returns:
        ``model`` (train mode, on ``device``), ``inputs`` (tuple of tensors),
        ``expected_output_shape`` (tuple of ints) and ``loss_fn`` (output -> scalar).
    """
    torch.manual_seed(0)
    cfg = load_config("config")
    task = build_task(cfg)
    model = build_model(cfg.model).to(device).train()
    batch = task.example_batch(2)
    inputs = tuple(tensor.to(device) for tensor in task.model_inputs(batch))
    return {
        "model": model,
        "inputs": inputs,
        "expected_output_shape": task.output_shape(2),
        "loss_fn": task.smoke_loss,
    }
