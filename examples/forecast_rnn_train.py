"""Generate a recurrent-network project from a request and train it briefly on CPU.

Three presets, one per sequence task; each trains on the project's offline synthetic source
(nothing is downloaded) and prints the test metrics:

- ``forecast``: GRU, 24 future steps from 96 past steps of 7 features; reports the test MSE
  next to the naive last-value baseline's (``mse_vs_naive`` below 1 beats it);
- ``sentiment``: bidirectional LSTM on synthetic reviews with negations; accuracy, macro F1;
- ``char_lm``: character-level LSTM on a generated play-like corpus; perplexity, bits/char.

Usage:
    python examples/forecast_rnn_train.py                       # forecast, real model size
    python examples/forecast_rnn_train.py --preset char_lm --epochs 12
    python examples/forecast_rnn_train.py --preset sentiment --out /tmp/sentiment --validate

The same runs by hand, inside a generated project:
    python train.py data.source=synthetic training.epochs=3 training.num_workers=0
"""

from __future__ import annotations

import argparse
import os
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
        epochs: Default number of epochs.
    """

    request: str
    overrides: tuple[str, ...]
    epochs: int


PRESETS = {
    "forecast": Preset(
        "时间序列预测：用GRU预测未来24步，输入序列长度96，特征数7",
        ("training.lr=3e-3",),
        3,
    ),
    "sentiment": Preset(
        "实现一个双向LSTM做情感分类，数据集IMDB，隐藏层256，两层，dropout 0.3",
        (
            "data.source=synthetic",
            "data.max_length=64",
            "data.vocab_size=256",
            "model.hidden_dim=64",
            "model.embedding_dim=32",
            "training.lr=3e-3",
        ),
        5,
    ),
    "char_lm": Preset(
        "Character-level LSTM language model on tiny shakespeare, 3 layers, hidden 512",
        (
            "data.source=synthetic",
            "data.block_size=64",
            "model.hidden_dim=128",
            "model.num_layers=2",
            "model.embedding_dim=32",
            "training.lr=3e-3",
        ),
        4,
    ),
}
COMMON = (
    "training.num_workers=0",
    "training.progress_bar=false",
    "training.tensorboard=false",
    "training.log_every_steps=1000000",
)
# The metrics, up to the "(weights: ...)" note that ends the line.
TEST_LINE = re.compile(r"test: ([^(\n]*)")


def parse_args() -> argparse.Namespace:
    """Parse the command line.

    Returns:
        The options.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="forecast")
    parser.add_argument("--out", type=Path, default=None, help="project folder (default: temp)")
    parser.add_argument("--epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument("--validate", action="store_true", help="run dlgen's validation too")
    parser.add_argument("overrides", nargs="*", help="extra train.py key=value overrides")
    return parser.parse_args()


def train(project: Path, overrides: list[str]) -> tuple[dict[str, float], float]:
    """Run ``train.py`` in a project and read the final test metrics from its log.

    Args:
        project: The generated project.
        overrides: ``key=value`` settings.

    Returns:
        ``(test metrics, wall-clock seconds)``.

    Raises:
        RuntimeError: If training fails or prints no test metrics.
    """
    command = [sys.executable, "train.py", *overrides]
    print("$", " ".join(command), flush=True)
    # One thread per process: oversubscribed OpenMP threads make small RNNs crawl on CPU.
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    start = time.perf_counter()
    process = subprocess.run(
        command, cwd=project, capture_output=True, text=True, check=False, env=env
    )
    elapsed = time.perf_counter() - start
    log = process.stdout + process.stderr
    print(log[-3000:])
    match = TEST_LINE.search(log)
    if process.returncode != 0 or match is None:
        raise RuntimeError(f"train.py failed (exit {process.returncode})")
    metrics = dict(item.split("=", 1) for item in match.group(1).split())
    return {key: float(value) for key, value in metrics.items()}, elapsed


def main() -> int:
    """Generate, train, report.

    Returns:
        0 on success (the forecaster must beat the naive baseline), else 1.
    """
    args = parse_args()
    preset = PRESETS[args.preset]
    out = args.out or Path(tempfile.mkdtemp(prefix=f"rnn_{args.preset}_")) / "project"
    result = generate(preset.request, out, force=True, validate=args.validate)
    if not result.delivered or result.out_dir is None:
        print("generation failed validation; see the report", file=sys.stderr)
        return 1
    print(f"generated {len(result.files)} files in {result.out_dir} (spec: {result.spec.name})")
    epochs = args.epochs or preset.epochs
    overrides = [*preset.overrides, *COMMON, f"training.epochs={epochs}", *args.overrides]
    metrics, seconds = train(result.out_dir, overrides)
    shown = " ".join(f"{key}={value:.4g}" for key, value in sorted(metrics.items()))
    print(f"{args.preset}: test {shown} after {seconds / 60:.1f} min")
    if args.preset == "forecast":
        return 0 if metrics["mse"] < metrics["naive_mse"] else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
