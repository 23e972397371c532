"""Generate an FNO project from a request and train it briefly on its own PDE data, on CPU.

The project solves the PDE itself (Darcy flow: finite differences; Burgers: a pseudo-spectral
ETDRK4 solver), caches the samples under ``<project>/data/``, trains with the overrides below
and reports the relative L2 error on its test split. Nothing is downloaded.

Usage:
    python examples/fno_darcy_train.py                    # 2-D Darcy flow at 32 x 32
    python examples/fno_darcy_train.py --dataset burgers  # 1-D Burgers at 256 points
    python examples/fno_darcy_train.py --out /tmp/fno --epochs 12 --validate

The same runs by hand, inside a generated project:
    python train.py data.resolution=32 training.epochs=8 training.batch_size=10 \\
        training.scheduler=cosine
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dlgen import generate  # noqa: E402


@dataclass(frozen=True)
class Preset:
    """A request and the train.py overrides of a short CPU run.

    Attributes:
        request: What the user asks dlgen for.
        overrides: ``key=value`` settings for ``train.py``.
    """

    request: str
    overrides: tuple[str, ...]


PRESETS = {
    "darcy": Preset(
        "Generate a 2D Fourier Neural Operator for solving Darcy flow PDEs, "
        "using GeLU activation, 12 Fourier modes",
        ("data.resolution=32", "training.batch_size=10"),
    ),
    "burgers": Preset(
        "Generate a 1D Fourier Neural Operator for the Burgers equation",
        ("data.resolution=256", "training.batch_size=10"),
    ),
}
COMMON = (
    "training.scheduler=cosine",
    "training.num_workers=0",
    "training.progress_bar=false",
    "training.tensorboard=false",
    "training.log_every_steps=1000000",
)
TEST_LINE = re.compile(r"test: .*?rel_l2=([0-9.eE+-]+)")


def parse_args() -> argparse.Namespace:
    """Parse the command line.

    Returns:
        The options.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(PRESETS), default="darcy")
    parser.add_argument("--out", type=Path, default=None, help="project folder (default: temp)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--validate", action="store_true", help="run dlgen's validation too")
    parser.add_argument("overrides", nargs="*", help="extra train.py key=value overrides")
    return parser.parse_args()


def train(project: Path, overrides: list[str]) -> tuple[float, float]:
    """Run ``train.py`` in a project and read the final test error from its log.

    Args:
        project: The generated project.
        overrides: ``key=value`` settings.

    Returns:
        ``(relative L2 test error, wall-clock seconds)``.

    Raises:
        RuntimeError: If training fails or prints no test metrics.
    """
    command = [sys.executable, "train.py", *overrides]
    print("$", " ".join(command), flush=True)
    start = time.perf_counter()
    process = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    log = process.stdout + process.stderr
    print(log[-3000:])
    match = TEST_LINE.search(log)
    if process.returncode != 0 or match is None:
        raise RuntimeError(f"train.py failed (exit {process.returncode})")
    return float(match.group(1)), elapsed


def main() -> int:
    """Generate, train, report.

    Returns:
        0 when the test error is below 0.05, else 1.
    """
    args = parse_args()
    preset = PRESETS[args.dataset]
    out = args.out or Path(tempfile.mkdtemp(prefix=f"fno_{args.dataset}_")) / "project"
    result = generate(preset.request, out, force=True, validate=args.validate)
    if not result.delivered or result.out_dir is None:
        print("generation failed validation; see the report", file=sys.stderr)
        return 1
    print(f"generated {len(result.files)} files in {result.out_dir} (spec: {result.spec.name})")
    overrides = [*preset.overrides, *COMMON, f"training.epochs={args.epochs}", *args.overrides]
    error, seconds = train(result.out_dir, overrides)
    print(f"{args.dataset}: test relative L2 = {error:.4f} after {seconds / 60:.1f} min")
    return 0 if error < 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
