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


def next_token_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of logits ``(B, T, V)`` against the next tokens ``(B, T)``."""
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


class LogitsOnly(nn.Module):
    """Hugging Face's model returning the logits tensor alone, as ours does."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Token ids ``(B, T)`` to logits ``(B, T, V)``."""
        logits: torch.Tensor = self.model(input_ids=x).logits
        return logits


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
    ours, reference = (
        Stepper(
            model,
            lambda parameters: torch.optim.AdamW(
                parameters, lr=6e-4, betas=(0.9, 0.95), weight_decay=0.1
            ),
            next_token_loss,
            device,
            args.precision,
            args.compile,
        )
        for model in (ours_model, LogitsOnly(reference_model))
    )
    shape = (args.batch_size, args.block_size + 1)
    tokens = torch.randint(0, args.vocab_size, shape, device=device)
    x, y = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()  # (B, T) each
    return time_pair("gpt", ours, reference, (x, y), args.warmup, args.steps)


def setting_line(args: argparse.Namespace) -> str:
    """The run's settings in one line."""
    return (
        f"device={args.device} batch={args.batch_size} block={args.block_size} "
        f"layers={args.num_layers} dim={args.hidden_dim} heads={args.num_heads} "
        f"vocab={args.vocab_size} precision={args.precision} compile={args.compile} "
        f"threads={torch.get_num_threads()} steps={args.steps} (median) torch={torch.__version__}"
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
    report(setting_line(args), [result], "hf", args.json)
    return result


if __name__ == "__main__":
    main()
