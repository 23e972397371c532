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
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.step_timing import Result, Stepper, report, time_pair  # noqa: E402
from tests.models.rendered import import_rendered_models  # noqa: E402

NUM_CLASSES = 21  # Pascal VOC
ATROUS_RATES = {16: (6, 12, 18), 8: (12, 24, 36)}


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
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    ours, reference = (
        Stepper(
            model,
            lambda parameters: torch.optim.SGD(
                parameters, lr=0.01, momentum=0.9, weight_decay=1e-4
            ),
            lambda logits, masks: F.cross_entropy(logits, masks, ignore_index=255),
            device,
            args.precision,
            args.compile,
            memory_format,
        )
        for model in (ours_model, reference_model)
    )
    size = args.image_size
    x = torch.randn(args.batch_size, 3, size, size, device=device)
    x = x.contiguous(memory_format=memory_format)
    y = torch.randint(0, NUM_CLASSES, (args.batch_size, size, size), device=device)
    return time_pair("deeplabv3plus_r50", ours, reference, (x, y), args.warmup, args.steps)


def setting_line(args: argparse.Namespace) -> str:
    """The run's settings in one line."""
    return (
        f"device={args.device} batch={args.batch_size} image={args.image_size} "
        f"output_stride={args.output_stride} precision={args.precision} "
        f"compile={args.compile} channels_last={args.channels_last} threads="
        f"{torch.get_num_threads()} steps={args.steps} (median) torch={torch.__version__}"
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
    report(setting_line(args), [result], "smp", args.json)
    return result


if __name__ == "__main__":
    main()
