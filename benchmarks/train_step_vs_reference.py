"""Time a training step of dlgen's ViT-S/16 and ResNet-50 against timm and torchvision.

Our models come from a project rendered by dlgen (``dlgen.render``), exactly as users get them.
One step is forward, cross-entropy, backward and an AdamW update, on a random batch. Ours
and the reference get identical weights, batch, precision, memory format and compile
setting; their steps alternate (ours, reference, reference, ours, ...) so machine-load drift
hits both alike. Reported: the median over ``--steps`` after ``--warmup`` steps, and
``reference / ours`` (>= 1.0 means ours is at least as fast), plus each side's fastest step,
which is the steadier figure on a shared machine.

    python benchmarks/train_step_vs_reference.py --device cpu --batch-size 8 --steps 5
    python benchmarks/train_step_vs_reference.py --device cuda --batch-size 128 --precision bf16
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.step_timing import Result, Stepper, report, time_pair  # noqa: E402
from dlgen import catalog  # noqa: E402
from tests.models.rendered import import_rendered_models  # noqa: E402

NUM_CLASSES = 1000


def _vit_pair(modules: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    import timm

    vit = modules["vit"]
    hparams = catalog.family("vit").variant("s16").hparams
    ours = vit.VisionTransformer(vit.ViTConfig(num_classes=NUM_CLASSES, **hparams))
    reference = timm.create_model(
        "vit_small_patch16_224", pretrained=False, num_classes=NUM_CLASSES
    )
    return ours, reference


def _resnet_pair(modules: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    resnet = modules["resnet"]
    hparams = catalog.family("resnet").variant("resnet50").hparams
    ours = resnet.ResNet(resnet.ResNetConfig(num_classes=NUM_CLASSES, **hparams))
    return ours, torchvision.models.resnet50(num_classes=NUM_CLASSES)


PAIRS: dict[str, Callable[[dict[str, Any]], tuple[nn.Module, nn.Module]]] = {
    "vit_s16": _vit_pair,
    "resnet50": _resnet_pair,
}


def benchmark(name: str, modules: dict[str, Any], args: argparse.Namespace) -> Result:
    """Time ours and the reference for one model pair.

    Args:
        name: Key of ``PAIRS``.
        modules: The imported model template modules.
        args: The parsed command line.

    Returns:
        The medians.
    """
    device = torch.device(args.device)
    torch.manual_seed(0)
    ours_model, reference_model = PAIRS[name](modules)
    ours_model.load_state_dict(reference_model.state_dict())
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    ours, reference = (
        Stepper(
            model,
            lambda parameters: torch.optim.AdamW(parameters, lr=1e-4),
            F.cross_entropy,
            device,
            args.precision,
            args.compile,
            memory_format,
        )
        for model in (ours_model, reference_model)
    )
    x = torch.randn(args.batch_size, 3, args.image_size, args.image_size, device=device)
    x = x.contiguous(memory_format=memory_format)
    y = torch.randint(0, NUM_CLASSES, (args.batch_size,), device=device)
    return time_pair(name, ours, reference, (x, y), args.warmup, args.steps)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_device = "cuda" if torch.cuda.is_available() else "cpu"
    parser.add_argument("--device", default=default_device, help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--compile", action="store_true", help="torch.compile both models")
    parser.add_argument("--channels-last", action="store_true", help="NHWC for both models")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--models", nargs="+", choices=sorted(PAIRS), default=sorted(PAIRS))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[Result]:
    """Run the benchmark and print the table.

    Args:
        argv: Command-line arguments; ``sys.argv[1:]`` when None.

    Returns:
        One result per model pair.
    """
    args = _parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as scratch:
        modules = import_rendered_models(Path(scratch), ("vit", "resnet"))
        results = [benchmark(name, modules, args) for name in args.models]
    setting = (
        f"device={args.device} batch={args.batch_size} image={args.image_size} "
        f"precision={args.precision} compile={args.compile} channels_last={args.channels_last} "
        f"steps={args.steps} (median) torch={torch.__version__}"
    )
    report(setting, results, "ref", args.json)
    return results


if __name__ == "__main__":
    main()
