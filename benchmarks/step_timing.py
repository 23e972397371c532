"""The timing harness the training-step benchmarks share: ours against a reference model.

Both models get the same batch, precision and compile setting; their steps alternate
(ours, reference, reference, ours, ...) so machine-load drift hits both alike. A result
holds each side's median and fastest step over ``steps`` steps after ``warmup`` steps.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
OptimizerFactory = Callable[[Any], torch.optim.Optimizer]


@dataclass
class Result:
    """Median and fastest step times of one model pair, in milliseconds."""

    model: str
    ours_ms: float
    reference_ms: float
    ours_min_ms: float
    reference_min_ms: float

    @property
    def ratio(self) -> float:
        """Reference time over ours: >= 1.0 means ours is at least as fast."""
        return self.reference_ms / self.ours_ms


def _autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[Any]:
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Stepper:
    """One model, its optimizer and a compiled-or-not training step.

    Args:
        model: The model; moved to ``device`` (and ``memory_format``) in train mode.
        optimizer: Builds the optimizer from the model's parameters.
        loss: ``(output, target) -> scalar``, computed in fp32 outside autocast.
        device: Where to run.
        precision: ``fp32`` or ``bf16`` (autocast).
        compile: Whether to ``torch.compile`` the forward.
        memory_format: ``torch.channels_last`` for NHWC image models.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: OptimizerFactory,
        loss: Loss,
        device: torch.device,
        precision: str,
        compile: bool,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> None:
        self.model = model.to(device).to(memory_format=memory_format).train()
        self.optimizer = optimizer(self.model.parameters())
        self.loss = loss
        self.forward: Callable[[torch.Tensor], torch.Tensor] = (
            torch.compile(self.model) if compile else self.model
        )
        self.device = device
        self.precision = precision

    def step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """Run one training step and return its wall time in milliseconds."""
        _synchronize(self.device)
        start = time.perf_counter()
        with _autocast(self.device, self.precision):
            output = self.forward(x)
        loss = self.loss(output.float(), y)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        _synchronize(self.device)
        return (time.perf_counter() - start) * 1e3


def _alternating(steps: int) -> Iterator[bool]:
    """True when ours goes first: ABBA order cancels linear drift."""
    for index in range(steps):
        yield index % 2 == 0


def time_pair(
    name: str,
    ours: Stepper,
    reference: Stepper,
    batch: tuple[torch.Tensor, torch.Tensor],
    warmup: int,
    steps: int,
) -> Result:
    """Warm both up, then time alternating steps on the same batch.

    Args:
        name: The pair's name in the table.
        ours: Our model's stepper.
        reference: The reference model's stepper.
        batch: ``(inputs, targets)`` on the device.
        warmup: Untimed steps per model.
        steps: Timed steps per model.

    Returns:
        The medians and minima.
    """
    x, y = batch
    for _ in range(warmup):
        ours.step(x, y)
        reference.step(x, y)
    times: dict[str, list[float]] = {"ours": [], "reference": []}
    for ours_first in _alternating(steps):
        order = (("ours", ours), ("reference", reference))
        for label, stepper in order if ours_first else order[::-1]:
            times[label].append(stepper.step(x, y))
    ours_times, reference_times = times["ours"], times["reference"]
    return Result(
        name,
        statistics.median(ours_times),
        statistics.median(reference_times),
        min(ours_times),
        min(reference_times),
    )


def report(setting: str, results: Sequence[Result], reference: str, json_path: Path | None) -> None:
    """Print the setting and one row per pair; also write them as JSON when asked.

    Args:
        setting: One line describing the run.
        results: The pairs' results.
        reference: The reference's short name for the column headers (e.g. ``smp``).
        json_path: Where to write the results, or None.
    """
    width = max(10, *(len(result.model) for result in results))
    print(setting)
    print(
        f"{'model':<{width}} {'ours ms/step':>13} {reference + ' ms/step':>18} "
        f"{reference + '/ours':>10} {'min ours':>9} {'min ' + reference:>10}"
    )
    for result in results:
        print(
            f"{result.model:<{width}} {result.ours_ms:>13.1f} {result.reference_ms:>18.1f} "
            f"{result.ratio:>10.3f} {result.ours_min_ms:>9.1f} {result.reference_min_ms:>10.1f}"
        )
    if json_path is not None:
        rows = [{**asdict(result), "ratio": result.ratio} for result in results]
        json_path.write_text(json.dumps({"setting": setting, "results": rows}, indent=2))
