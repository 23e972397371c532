"""Time a training step of dlgen's DeepLabV3+ ResNet-50 against segmentation_models_pytorch.

Our model comes from a project rendered by dlgen (``dlgen.render``), exactly as users get it.
One step is forward, per-pixel cross-entropy, backward and an SGD (momentum) update, on a
random batch. Ours and smp's ``DeepLabV3Plus("resnet50")`` get identical weights (smp's,
renamed by ``from_smp_state_dict``), batch, precision, memory format and compile setting;
their steps alternate (ours, smp, smp, ours, ...) so machine-load drift hits both alike.
Reported: the median over ``--steps`` after ``--warmup`` steps, and ``smp / ours`` (>= 1.0
means ours is at least as fast), plus each side's fastest step.

    python benchmarks/deeplabv3plus_step.py --device cpu --batch-size 2 --image-size 256
    python benchmarks/deeplabv3plus_step.py --device cuda --batch-size 16 --image-size 512 \\
        --precision bf16 --channels-last
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.models.rendered import import_rendered_models  # noqa: E402

NUM_CLASSES = 21  # Pascal VOC
ATROUS_RATES = {16: (6, 12, 18), 8: (12, 24, 36)}


@dataclass
class Result:
    """Median and fastest step times of ours and smp's."""

    setting: str
    ours_ms: float
    smp_ms: float
    ours_min_ms: float
    smp_min_ms: float

    @property
    def ratio(self) -> float:
        """smp's time over ours: >= 1.0 means ours is at least as fast."""
        return self.smp_ms / self.ours_ms


def _autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[Any]:
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Stepper:
    """One model, its optimizer and a compiled-or-not training step."""

    def __init__(self, model: nn.Module, args: argparse.Namespace, device: torch.device) -> None:
        memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
        self.model = model.to(device).to(memory_format=memory_format).train()
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4
        )
        self.forward: Callable[[torch.Tensor], torch.Tensor] = (
            torch.compile(self.model) if args.compile else self.model
        )
        self.device = device
        self.precision = args.precision

    def step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """Run one training step and return its wall time in milliseconds."""
        _synchronize(self.device)
        start = time.perf_counter()
        with _autocast(self.device, self.precision):
            logits = self.forward(x)  # (B, num_classes, H, W)
        loss = F.cross_entropy(logits.float(), y, ignore_index=255)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        _synchronize(self.device)
        return (time.perf_counter() - start) * 1e3


def _alternating(steps: int) -> Iterator[bool]:
    """True when ours goes first: ABBA order cancels linear drift."""
    for index in range(steps):
        yield index % 2 == 0


def _pair(module: Any, args: argparse.Namespace) -> tuple[nn.Module, nn.Module]:
    """Ours and smp's DeepLabV3+ ResNet-50 with the same weights."""
    import segmentation_models_pytorch as smp

    reference = smp.DeepLabV3Plus(
        "resnet50",
        encoder_weights=None,
        encoder_output_stride=args.output_stride,
        decoder_atrous_rates=ATROUS_RATES[args.output_stride],
        classes=NUM_CLASSES,
    )
    config = module.DeepLabV3PlusConfig(
        num_classes=NUM_CLASSES, image_size=args.image_size, output_stride=args.output_stride
    )
    ours = module.DeepLabV3Plus(config)
    ours.load_state_dict(module.from_smp_state_dict(reference.state_dict()))
    return ours, reference


def benchmark(module: Any, args: argparse.Namespace) -> Result:
    """Time ours and smp's training steps.

    Args:
        module: The rendered ``models/deeplabv3plus.py``.
        args: The parsed command line.

    Returns:
        The medians and minima.
    """
    device = torch.device(args.device)
    torch.manual_seed(0)
    ours_model, reference_model = _pair(module, args)
    ours, reference = Stepper(ours_model, args, device), Stepper(reference_model, args, device)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    size = args.image_size
    x = torch.randn(args.batch_size, 3, size, size, device=device)
    x = x.contiguous(memory_format=memory_format)
    y = torch.randint(0, NUM_CLASSES, (args.batch_size, size, size), device=device)
    for _ in range(args.warmup):
        ours.step(x, y)
        reference.step(x, y)
    times: dict[str, list[float]] = {"ours": [], "smp": []}
    for ours_first in _alternating(args.steps):
        order = (("ours", ours), ("smp", reference))
        for label, stepper in order if ours_first else order[::-1]:
            times[label].append(stepper.step(x, y))
    setting = (
        f"device={args.device} batch={args.batch_size} image={size} "
        f"output_stride={args.output_stride} precision={args.precision} "
        f"compile={args.compile} channels_last={args.channels_last} threads="
        f"{torch.get_num_threads()} steps={args.steps} (median) torch={torch.__version__}"
    )
    return Result(
        setting,
        statistics.median(times["ours"]),
        statistics.median(times["smp"]),
        min(times["ours"]),
        min(times["smp"]),
    )


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_device = "cuda" if torch.cuda.is_available() else "cpu"
    parser.add_argument("--device", default=default_device, help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--output-stride", type=int, choices=(8, 16), default=16)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--compile", action="store_true", help="torch.compile both models")
    parser.add_argument("--channels-last", action="store_true", help="NHWC for both models")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> Result:
    """Run the benchmark and print both medians and their ratio.

    Args:
        argv: Command-line arguments; ``sys.argv[1:]`` when None.

    Returns:
        The result.
    """
    args = _parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as scratch:
        module = import_rendered_models(Path(scratch), ("deeplabv3plus",))["deeplabv3plus"]
        result = benchmark(module, args)
    print(result.setting)
    print(
        f"{'model':<18} {'ours ms/step':>13} {'smp ms/step':>12} {'smp/ours':>9} "
        f"{'min ours':>9} {'min smp':>9}"
    )
    print(
        f"{'deeplabv3plus_r50':<18} {result.ours_ms:>13.1f} {result.smp_ms:>12.1f} "
        f"{result.ratio:>9.3f} {result.ours_min_ms:>9.1f} {result.smp_min_ms:>9.1f}"
    )
    if args.json:
        row = {**asdict(result), "ratio": result.ratio}
        args.json.write_text(json.dumps(row, indent=2))
    return result


if __name__ == "__main__":
    main()
