"""Time a training step of dlgen's BERT classifier against Hugging Face's.

Our model comes from a project rendered by dlgen (``dlgen.render``), exactly as users get it.
One step is forward, cross-entropy over the class logits, backward and an AdamW update, on a
random batch of token ids padded with 0 to ``--seq-len`` (real lengths from the full length
down to half of it, as the sequence-classification task's example batches). Ours and Hugging
Face's ``BertForSequenceClassification`` (SDPA attention, exact GELU, no dropout) get
identical weights (Hugging Face's, renamed by ``from_hf_bert_state_dict``), batch, padding
mask, precision and compile setting; their steps alternate so machine-load drift hits both
alike. Reported: the median over ``--steps`` after ``--warmup`` steps, and ``hf / ours``
(>= 1.0 means ours is at least as fast), plus each side's fastest step.

    python benchmarks/bert_step.py --device cpu --batch-size 8
    python benchmarks/bert_step.py --device cuda --batch-size 64 --precision bf16 --compile
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.step_timing import Result, Stepper, report, time_pair  # noqa: E402
from dlgen import catalog  # noqa: E402
from dlgen.render import render  # noqa: E402
from dlgen.spec import Spec  # noqa: E402

PAD_ID = 0


def render_transformer_module(root: Path) -> Any:
    """Render a BERT-Mini IMDB project's ``src/`` under ``root`` and import its model file."""
    family = catalog.family("transformer")
    variant = family.variant("bert_mini")
    entry = catalog.dataset("imdb")
    fields = {**entry.spec_fields(), **variant.dataset_overrides}
    spec = Spec.model_validate(
        {
            "name": f"bench_transformer_{uuid.uuid4().hex[:8]}",
            "task": entry.task,
            "modality": fields["modality"],
            "dataset": fields,
            "model": {"family": "transformer", "variant": variant.key, **variant.hparams},
        }
    )
    prefix = f"src/{spec.name}/"
    for path, text in render(spec).items():
        if path.startswith(prefix):
            target = root / path.removeprefix("src/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(root))
    return importlib.import_module(f"{spec.name}.models.transformer")


class HFLogits(nn.Module):
    """Hugging Face's classifier on padded ids ``(B, L)``, its mask from the pad id."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Token ids ``(B, L)`` to logits ``(B, C)``."""
        logits: torch.Tensor = self.model(input_ids=x, attention_mask=(x != PAD_ID).long()).logits
        return logits


def _pair(module: Any, args: argparse.Namespace) -> tuple[nn.Module, nn.Module]:
    """Ours and Hugging Face's BERT classifier with the same weights."""
    import transformers

    config = transformers.BertConfig(
        vocab_size=args.vocab_size,
        hidden_size=args.hidden_dim,
        num_hidden_layers=args.num_layers,
        num_attention_heads=args.num_heads,
        intermediate_size=4 * args.hidden_dim,
        max_position_embeddings=args.seq_len,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    config.num_labels = 2
    config._attn_implementation = "sdpa"
    reference = transformers.BertForSequenceClassification(config)
    ours = module.build_transformer(
        {
            "name": "transformer",
            "vocab_size": args.vocab_size,
            "num_classes": 2,
            "max_len": args.seq_len,
            "hidden_dim": args.hidden_dim,
            "num_layers": args.num_layers,
            "num_heads": args.num_heads,
            "dropout": 0.0,
        }
    )
    ours.load_state_dict(module.from_hf_bert_state_dict(reference.state_dict()))
    return ours, reference


def padded_tokens(args: argparse.Namespace, device: torch.device) -> torch.Tensor:
    """Random ids ``(B, L)``, padded with 0 after lengths from ``L`` down to ``L / 2``."""
    tokens = torch.randint(1, args.vocab_size, (args.batch_size, args.seq_len))
    lengths = torch.linspace(args.seq_len, args.seq_len // 2, args.batch_size).round().long()
    tokens[torch.arange(args.seq_len)[None, :] >= lengths[:, None]] = PAD_ID
    return tokens.to(device)


def benchmark(module: Any, args: argparse.Namespace) -> Result:
    """Time ours and Hugging Face's training steps.

    Args:
        module: The rendered ``models/transformer.py``.
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
            lambda parameters: torch.optim.AdamW(parameters, lr=5e-4, weight_decay=0.01),
            F.cross_entropy,
            device,
            args.precision,
            args.compile,
        )
        for model in (ours_model, HFLogits(reference_model))
    )
    x = padded_tokens(args, device)
    y = torch.randint(0, 2, (args.batch_size,), device=device)
    return time_pair("bert", ours, reference, (x, y), args.warmup, args.steps)


def setting_line(args: argparse.Namespace) -> str:
    """The run's settings in one line."""
    return (
        f"device={args.device} batch={args.batch_size} seq_len={args.seq_len} "
        f"layers={args.num_layers} dim={args.hidden_dim} heads={args.num_heads} "
        f"vocab={args.vocab_size} precision={args.precision} compile={args.compile} "
        f"threads={torch.get_num_threads()} steps={args.steps} (median) torch={torch.__version__}"
    )


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_device = "cuda" if torch.cuda.is_available() else "cpu"
    parser.add_argument("--device", default=default_device, help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--num-layers", type=int, default=4)
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--num-heads", type=int, default=4)
    parser.add_argument("--vocab-size", type=int, default=30_522)
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
        module = render_transformer_module(Path(scratch))
        result = benchmark(module, args)
    report(setting_line(args), [result], "hf", args.json)
    return result


if __name__ == "__main__":
    main()
