"""Time a training step of dlgen's GPT against Hugging Face's ``GPT2LMHeadModel``.

Our model comes from a project rendered by dlgen (``dlgen.render``), exactly as users get it.
One step is forward, next-token cross-entropy, backward and an AdamW update, on a random batch
of token ids. Ours and Hugging Face's model (SDPA attention, exact GELU, biases, tied
embeddings, no dropout) get identical weights (Hugging Face's, renamed by
``from_hf_gpt2_state_dict``), batch, precision and compile setting; their steps alternate
(ours, hf, hf, ours, ...) so machine-load drift hits both alike. Reported: the median over
``--steps`` after ``--warmup`` steps, and ``hf / ours`` (>= 1.0 means ours is at least as
fast), plus each side's fastest step.

    python benchmarks/gpt_step.py --device cpu --batch-size 8
    python benchmarks/gpt_step.py --device cuda --batch-size 64 --precision bf16 --compile
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


@dataclass
class Result:
    """Median and fastest step times of ours and Hugging Face's."""

    setting: str
    ours_ms: float
    hf_ms: float
    ours_min_ms: float
    hf_min_ms: float

    @property
    def ratio(self) -> float:
        """Hugging Face's time over ours: >= 1.0 means ours is at least as fast."""
        return self.hf_ms / self.ours_ms


def _autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[Any]:
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class LogitsOnly(nn.Module):
    """Hugging Face's model returning the logits tensor alone, as ours does."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Token ids ``(B, T)`` to logits ``(B, T, V)``."""
        logits: torch.Tensor = self.model(input_ids=x).logits
        return logits


class Stepper:
    """One model, its optimizer and a compiled-or-not training step."""

    def __init__(self, model: nn.Module, args: argparse.Namespace, device: torch.device) -> None:
        self.model = model.to(device).train()
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=6e-4, betas=(0.9, 0.95), weight_decay=0.1
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
            logits = self.forward(x)  # (B, T, V)
        loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
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
    """Ours and Hugging Face's GPT with the same weights."""
    import transformers

    config = transformers.GPT2Config(
        vocab_size=args.vocab_size,
        n_positions=args.block_size,
        n_embd=args.hidden_dim,
        n_layer=args.num_layers,
        n_head=args.num_heads,
        activation_function="gelu",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=None,
        eos_token_id=None,
    )
    config._attn_implementation = "sdpa"
    reference = transformers.GPT2LMHeadModel(config)
    ours = module.GPT(
        module.GPTConfig(
            vocab_size=args.vocab_size,
            block_size=args.block_size,
            hidden_dim=args.hidden_dim,
            num_layers=args.num_layers,
            num_heads=args.num_heads,
            dropout=0.0,
            bias=True,
        )
    )
    ours.load_state_dict(module.from_hf_gpt2_state_dict(reference.state_dict()))
    return ours, reference


def benchmark(module: Any, args: argparse.Namespace) -> Result:
    """Time ours and Hugging Face's training steps.

    Args:
        module: The rendered ``models/gpt.py``.
        args: The parsed command line.

    Returns:
        The medians and minima.
    """
    device = torch.device(args.device)
    torch.manual_seed(0)
    ours_model, reference_model = _pair(module, args)
    ours = Stepper(ours_model, args, device)
    reference = Stepper(LogitsOnly(reference_model), args, device)
    shape = (args.batch_size, args.block_size + 1)
    tokens = torch.randint(0, args.vocab_size, shape, device=device)
    x, y = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()  # (B, T) each
    for _ in range(args.warmup):
        ours.step(x, y)
        reference.step(x, y)
    times: dict[str, list[float]] = {"ours": [], "hf": []}
    for ours_first in _alternating(args.steps):
        order = (("ours", ours), ("hf", reference))
        for label, stepper in order if ours_first else order[::-1]:
            times[label].append(stepper.step(x, y))
    setting = (
        f"device={args.device} batch={args.batch_size} block={args.block_size} "
        f"layers={args.num_layers} dim={args.hidden_dim} heads={args.num_heads} "
        f"vocab={args.vocab_size} precision={args.precision} compile={args.compile} "
        f"threads={torch.get_num_threads()} steps={args.steps} (median) torch={torch.__version__}"
    )
    return Result(
        setting,
        statistics.median(times["ours"]),
        statistics.median(times["hf"]),
        min(times["ours"]),
        min(times["hf"]),
    )


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_device = "cuda" if torch.cuda.is_available() else "cpu"
    parser.add_argument("--device", default=default_device, help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--block-size", type=int, default=256)
    parser.add_argument("--num-layers", type=int, default=6)
    parser.add_argument("--hidden-dim", type=int, default=384)
    parser.add_argument("--num-heads", type=int, default=6)
    parser.add_argument("--vocab-size", type=int, default=65)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--compile", action="store_true", help="torch.compile both models")
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
        module = import_rendered_models(Path(scratch), ("gpt",))["gpt"]
        result = benchmark(module, args)
    print(result.setting)
    print(
        f"{'model':<8} {'ours ms/step':>13} {'hf ms/step':>11} {'hf/ours':>8} "
        f"{'min ours':>9} {'min hf':>9}"
    )
    print(
        f"{'gpt':<8} {result.ours_ms:>13.1f} {result.hf_ms:>11.1f} "
        f"{result.ratio:>8.3f} {result.ours_min_ms:>9.1f} {result.hf_min_ms:>9.1f}"
    )
    if args.json:
        row = {**asdict(result), "ratio": result.ratio}
        args.json.write_text(json.dumps(row, indent=2))
    return result


if __name__ == "__main__":
    main()
