"""Generate a character-level GPT project and train it on CPU on a Shakespeare excerpt.

The request is the one a user types ("nanoGPT on tiny shakespeare, character level"); the
corpus is `examples/data/shakespeare_excerpt.txt` (two public-domain plays, 281 kB), copied
where the project expects tiny shakespeare, so nothing is downloaded. The run uses
nanoGPT's CPU-sized "baby GPT" settings (4 layers, 4 heads, 128 wide, 64-character
context) and stops after a fixed number of optimizer steps; it prints the final validation
loss and the time taken. Target: validation loss below 2.0 within 10 minutes on
two CPU cores.

Usage:
    python examples/shakespeare_char_gpt.py                  # about 2,000 steps
    python examples/shakespeare_char_gpt.py --steps 4000 --out /tmp/shakespeare
    python examples/shakespeare_char_gpt.py model.num_layers=6   # extra train.py overrides

The same run by hand, inside the generated project:
    cp examples/data/shakespeare_excerpt.txt PROJECT/data/tiny_shakespeare/input.txt
    python train.py model.num_layers=4 model.num_heads=4 model.hidden_dim=128 ...
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlgen import generate  # noqa: E402

REQUEST = "nanoGPT on tiny shakespeare, character level"
CORPUS = ROOT / "examples" / "data" / "shakespeare_excerpt.txt"
# nanoGPT's config/train_shakespeare_char.py scaled down as its README suggests for CPUs.
BABY_GPT = (
    "model.num_layers=4",
    "model.num_heads=4",
    "model.hidden_dim=128",
    "model.block_size=64",
    "model.dropout=0.0",
    "data.block_size=64",
    "data.train_stride=16",
    "training.batch_size=12",
    "training.lr=1e-3",
    "training.warmup_epochs=0",
    "training.num_workers=0",
    "training.progress_bar=false",
    "training.tensorboard=false",
    "training.log_every_steps=250",
)
RUN_NAME = "shakespeare_excerpt"


def parse_args() -> argparse.Namespace:
    """Parse the command line.

    Returns:
        The options.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="project folder (default: temp)")
    parser.add_argument("--steps", type=int, default=2000, help="optimizer steps to train")
    parser.add_argument("--validate", action="store_true", help="run dlgen's validation too")
    parser.add_argument("overrides", nargs="*", help="extra train.py key=value overrides")
    return parser.parse_args()


def main() -> int:
    """Generate, copy the corpus in, train, report.

    Returns:
        0 when the validation loss ends below 2.0, else 1.
    """
    args = parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="shakespeare_gpt_")) / "project"
    result = generate(REQUEST, out, force=True, validate=args.validate)
    if not result.delivered or result.out_dir is None:
        print("generation failed validation; see the report", file=sys.stderr)
        return 1
    project = result.out_dir
    target = project / "data" / "tiny_shakespeare" / "input.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CORPUS, target)
    vocabulary = len(set(CORPUS.read_text(encoding="utf-8")))
    # One epoch is (characters / stride / batch) steps; train for --steps of them.
    steps_per_epoch = len(CORPUS.read_text(encoding="utf-8")) * 0.9 / 16 / 12
    epochs = max(1, round(args.steps / steps_per_epoch + 0.5))
    overrides = [
        *BABY_GPT,
        f"data.vocab_size={vocabulary}",
        f"training.epochs={epochs}",
        f"training.max_steps={args.steps}",
        f"training.run_name={RUN_NAME}",
        *args.overrides,
    ]
    command = [sys.executable, "train.py", *overrides]
    print("$ cd", project, "&&", " ".join(command), flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    start = time.perf_counter()
    process = subprocess.run(
        command, cwd=project, capture_output=True, text=True, check=False, env=env
    )
    minutes = (time.perf_counter() - start) / 60
    log = process.stdout + process.stderr
    print(log[-4000:])
    # The run folder's metrics.json holds the last evaluation (after the final step).
    found = sorted(project.glob(f"outputs/*/{RUN_NAME}/metrics.json"))
    if process.returncode != 0 or not found:
        print(f"train.py failed (exit {process.returncode})", file=sys.stderr)
        return 1
    metrics = json.loads(found[-1].read_text(encoding="utf-8"))
    val = metrics["val"]
    print(
        f"char GPT on {CORPUS.name}: val loss {val['loss']:.3f} (perplexity "
        f"{val['perplexity']:.2f}) after {metrics['global_step']} steps in {minutes:.1f} min "
        "of training"
    )
    return 0 if val["loss"] < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
