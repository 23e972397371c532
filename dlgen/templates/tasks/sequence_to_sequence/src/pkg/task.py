"""Sequence to sequence (translation): teacher-forced training, BLEU from decoded outputs.

Batches are ``(src (B, S), tgt_in (B, T), tgt_out (B, T), reference (B,))`` of token ids
padded with ``<pad>`` = 0: ``tgt_in`` is ``<bos>`` + target and ``tgt_out`` the target +
``<eos>``. The model is called as ``model(src, tgt_in)`` and returns logits ``(B, T, V)``
for ``tgt_out`` (teacher forcing); ``model.generate(src, beam_size, max_new_tokens=...)``
decodes. Training minimises label-smoothed cross-entropy over the non-padded target
tokens. Evaluation reports the per-token ``loss``, ``perplexity`` and ``token_accuracy``
(teacher-forced), and the corpus ``bleu`` and ``chrf`` of greedy (or ``data.eval_beam_size``
beam) translations against the untokenized references (``metrics/translation.py``);
``bleu_sacrebleu`` is 1 when sacreBLEU computed the BLEU statistics, else 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torch import Tensor, nn

from .data.config import DataConfig
from .data.parallel import ParallelPairs, Prepared, encode_source, pad_to, prepare
from .data.tokenizer import PAD_ID, Tokenizer, Vocabulary
from .data.toy_translation import toy_pairs
from .metrics.translation import (
    bleu_from_statistics,
    bleu_statistics,
    chrf_from_statistics,
    chrf_statistics,
    sacrebleu_available,
)
from .prediction import InputError, Prediction, Scalar, expand_paths, is_glob, one_line, short_name
from .trainers.task_contract import (
    Batch,
    MetricSums,
    MonitorMode,
    PreparedDataTask,
    StepOutput,
    class_zero_cross_entropy,
)

# File name endings inference.py reads as source text (one sentence per line).
TEXT_SUFFIXES = (".txt",)
# Sentences translated per forward pass at inference.
INFERENCE_BATCH = 32
# Validation sentences translated when inference.py gets no input.
DEMO_SENTENCES = 3
# exp() of a mean NLL above this overflows a float; report infinity instead.
_MAX_EXPONENT = 700.0


def _generate(model: nn.Module, src: Tensor, beam_size: int, max_new_tokens: int | None) -> Tensor:
    """Decode with the model's own ``generate(src, beam_size, max_new_tokens=...)``."""
    generate = getattr(model, "generate", None)
    if not callable(generate):
        raise TypeError(
            f"{type(model).__name__} has no generate(src, beam_size, max_new_tokens=...) "
            "method; a sequence-to-sequence model must decode itself"
        )
    result = generate(src, beam_size=beam_size, max_new_tokens=max_new_tokens)
    if not isinstance(result, Tensor):
        raise TypeError(f"{type(model).__name__}.generate returned {type(result).__name__}")
    return result


class SequenceToSequenceTask(PreparedDataTask[Prepared]):
    """Source ids ``(B, S)`` and shifted target ids ``(B, T)`` to logits ``(B, T, V)``.

    Corpus BLEU selects the best checkpoint.

    Args:
        cfg: The full config; reads ``data``, ``training.label_smoothing`` and
            ``model.share_embeddings`` (one vocabulary for both sides when true).
    """

    monitor = "bleu"
    monitor_mode: MonitorMode = "max"

    def __init__(self, cfg: DictConfig) -> None:
        self.data = DataConfig.from_mapping(cfg.data)
        self.label_smoothing = float(cfg.training.label_smoothing)
        self.shared_vocabulary = bool(cfg.model.get("share_embeddings", True))

    def prepare_data(self) -> Prepared:
        """Load the pairs and fit the tokenizer(s) on the training split.

        Returns:
            The datasets, tokenizers and references.
        """
        return prepare(self.data, self.shared_vocabulary)

    def model_inputs(self, batch: Batch) -> tuple[Tensor, ...]:
        """The model's positional inputs.

        Args:
            batch: ``(src, tgt_in, tgt_out, reference)``.

        Returns:
            ``(src, tgt_in)``.
        """
        return (batch[0], batch[1])

    def batch_tokens(self, batch: Batch) -> int | None:
        """Source and target positions of a batch (padding included), from shapes only.

        Args:
            batch: ``(src, tgt_in, ...)``.

        Returns:
            ``B * (S + T)``.
        """
        return batch[0].numel() + batch[1].numel()

    @staticmethod
    def _trimmed(batch: Batch) -> tuple[Tensor, Tensor, Tensor]:
        """Cut the padding columns every row has (one read of two lengths per batch)."""
        src, tgt_in, tgt_out = batch[0], batch[1], batch[2]
        longest = torch.stack([(src != PAD_ID).sum(1).max(), (tgt_out != PAD_ID).sum(1).max()])
        source_length, target_length = (max(int(value), 1) for value in longest.tolist())
        return src[:, :source_length], tgt_in[:, :target_length], tgt_out[:, :target_length]

    def training_step(self, model: nn.Module, batch: Batch) -> StepOutput:
        """Label-smoothed cross-entropy over the non-padded target tokens (teacher forcing).

        Args:
            model: Maps ``(src, tgt_in)`` to ``(B, T, V)`` logits.
            batch: A batch on the model's device.

        Returns:
            The mean loss per target token.
        """
        src, tgt_in, tgt_out = self._trimmed(batch)
        logits = model(src, tgt_in).float()
        loss = F.cross_entropy(
            logits.flatten(0, 1),
            tgt_out.flatten(),
            ignore_index=PAD_ID,
            label_smoothing=self.label_smoothing,
        )
        return StepOutput(loss)

    def translate(self, model: nn.Module, src: Tensor, beam_size: int, max_new_tokens: int | None = None) -> list[str]:
        """Decode a batch of sources into target text.

        Args:
            model: The model in eval mode.
            src: Source ids ``(B, S)``.
            beam_size: 1 for greedy search, else beam search.
            max_new_tokens: Optional cap on generated tokens per sentence.

        Returns:
            One translation per row.
        """
        ids = _generate(model, src, beam_size, max_new_tokens).tolist()
        target = self.prepared().target
        return [target.decode(row) for row in ids]

    def _references(self, references: Tensor, tgt_out: Tensor) -> list[str]:
        """Reference texts of a batch (decoded targets for synthetic example batches)."""
        prepared = self.prepared()
        texts = []
        for index, row in zip(references.tolist(), tgt_out.tolist(), strict=True):
            texts.append(prepared.references[index] if index >= 0 else prepared.target.decode(row))
        return texts

    def evaluation_step(self, model: nn.Module, batch: Batch) -> MetricSums:
        """Teacher-forced loss and accuracy sums, and BLEU/chrF statistics of translations.

        Args:
            model: The model in eval mode.
            batch: A batch on the model's device.

        Returns:
            ``loss`` (summed NLL), ``token_accuracy`` (correct next tokens), ``count``
            (target tokens), and the 1-D sums ``bleu_stats`` and ``chrf_stats``.
        """
        src, tgt_in, tgt_out = self._trimmed(batch)
        logits = model(src, tgt_in).float()
        real = tgt_out != PAD_ID
        nll = F.cross_entropy(
            logits.flatten(0, 1), tgt_out.flatten(), ignore_index=PAD_ID, reduction="sum"
        )
        correct = ((logits.argmax(dim=-1) == tgt_out) & real).sum()
        hypotheses = self.translate(model, src, self.data.eval_beam_size, self.data.max_length)
        references = self._references(batch[3], tgt_out)
        tokenize = self.prepared().bleu_tokenize
        device = logits.device
        return {
            "loss": nll,
            "token_accuracy": correct.float(),
            "count": real.sum().float(),
            "bleu_stats": torch.tensor(bleu_statistics(hypotheses, references, tokenize), device=device),
            "chrf_stats": torch.tensor(chrf_statistics(hypotheses, references), device=device),
        }

    def finalize_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        """Add the perplexity ``exp(loss)`` to the per-token averages.

        Args:
            metrics: Averages of :meth:`evaluation_step`'s scalar sums.

        Returns:
            ``loss``, ``token_accuracy`` and ``perplexity``.
        """
        loss = metrics.get("loss", 0.0)
        metrics["perplexity"] = math.exp(loss) if loss < _MAX_EXPONENT else math.inf
        return metrics

    def finalize_sums(self, sums: dict[str, Tensor]) -> dict[str, float]:
        """Corpus BLEU and chrF of the split.

        Args:
            sums: ``bleu_stats`` ``(10,)`` and ``chrf_stats`` ``(18,)``, summed over the
                split and every rank.

        Returns:
            ``bleu`` (0-100), ``chrf`` (0-100) and ``bleu_sacrebleu`` (1.0 when the BLEU
            statistics came from sacreBLEU's tokenizer, 0.0 for this project's splitter).
        """
        return {
            "bleu": bleu_from_statistics(sums["bleu_stats"].cpu().tolist()),
            "chrf": chrf_from_statistics(sums["chrf_stats"].cpu().tolist()),
            "bleu_sacrebleu": 1.0 if sacrebleu_available() else 0.0,
        }

    def example_batch(self, batch_size: int) -> Batch:
        """Toy-translation pairs at the configured length and vocabulary size.

        Args:
            batch_size: B.

        Returns:
            ``(src, tgt_in, tgt_out (B, max_length), reference (B,))`` on the CPU;
            ``reference`` is -1 (compare with the decoded target).
        """
        pairs = toy_pairs(max(batch_size, 64), self.data.split_seed)
        texts = [text for pair in pairs for text in pair]
        vocabulary = Vocabulary.build(texts, self.data.vocab_size, "word", self.data.lowercase)
        dataset = ParallelPairs(pairs[:batch_size], vocabulary, vocabulary, self.data.max_length, 0)
        samples = [dataset[index] for index in range(batch_size)]
        src, tgt_in, tgt_out = (torch.stack([s[i] for s in samples]) for i in range(3))
        return src, tgt_in, tgt_out, torch.full((batch_size,), -1, dtype=torch.long)

    def output_shape(self, batch_size: int) -> tuple[int, ...]:
        """Shape of the logits.

        Args:
            batch_size: B.

        Returns:
            ``(B, max_length, vocab_size)``.
        """
        return (batch_size, self.data.max_length, self.data.vocab_size)

    def smoke_loss(self, output: Tensor) -> Tensor:
        """Cross-entropy against token 0 everywhere: a scalar that depends on every logit.

        Args:
            output: ``(B, T, V)`` logits.

        Returns:
            A scalar loss.
        """
        return class_zero_cross_entropy(output)

    @torch.no_grad()
    def predictions(
        self, model: nn.Module, inputs: Sequence[str], top_k: int | None = None
    ) -> list[Prediction]:
        """Translate sentences: greedy search, or beam search with ``top_k`` beams.

        The tokenizer is rebuilt from the training data, which gives the same ids as during
        training. Each output may be up to its source length plus 50 tokens long.

        Args:
            model: The trained model in eval mode.
            inputs: Source sentences, ``.txt`` files (one sentence per line), folders of
                them or ``*.txt`` patterns; empty: the first validation sentences.
            top_k: Beam size (``inference.py --beam``; 4 in the paper); None: greedy.

        Returns:
            One prediction per sentence; records: ``input``, ``source``, ``translation``,
            ``beam_size`` (and ``reference`` for validation sentences).

        Raises:
            InputError: If a path is missing or unreadable, a folder holds no ``.txt``
                file, or a sentence is empty.
        """
        beam = top_k if top_k is not None else 1
        prepared = self.prepared()
        references: list[str | None]
        if inputs:
            names, sources = _read_sources(list(inputs))
            references = [None] * len(sources)
        else:
            demo = prepared.pairs["val"][:DEMO_SENTENCES]
            names = [f"val[{index}]" for index in range(len(demo))]
            sources = [src for src, _ in demo]
            references = [tgt for _, tgt in demo]
        device = next(model.parameters()).device
        results = []
        for start in range(0, len(sources), INFERENCE_BATCH):
            chunk = sources[start : start + INFERENCE_BATCH]
            src = _source_batch(prepared.source, chunk, self.data.max_length).to(device)
            translations = self.translate(model, src, beam)
            for offset, translation in enumerate(translations):
                index = start + offset
                record: dict[str, Scalar] = {
                    "input": names[index],
                    "source": sources[index],
                    "translation": translation,
                    "beam_size": beam,
                }
                named = names[index] != short_name(sources[index])
                first = f"{names[index]}: {sources[index]}" if named else sources[index]
                lines = [first, f"  -> {translation}"]
                if references[index] is not None:
                    record["reference"] = references[index]
                    lines.append(f"  reference: {references[index]}")
                results.append(Prediction(names[index], "\n".join(lines), [record]))
        return results


def _source_batch(tokenizer: Tokenizer, sources: list[str], max_length: int) -> Tensor:
    """Encode sources (``<eos>`` appended, cut to ``max_length``) into a padded batch."""
    rows = [encode_source(tokenizer, text, max_length) for text in sources]
    longest = max(len(row) for row in rows)
    return torch.stack([pad_to(row, longest) for row in rows])  # (N, longest)


def _names_a_path(item: str) -> bool:
    """Whether an argument names files (a path, a ``.txt`` name or pattern), not a sentence."""
    path = Path(item)
    if path.is_dir() or path.is_file():
        return True
    return item.lower().endswith(TEXT_SUFFIXES) and (is_glob(item) or " " not in item)


def _read_sources(inputs: list[str]) -> tuple[list[str], list[str]]:
    """Names and sentences of inference arguments: sentences, or files of one per line.

    Args:
        inputs: Sentences, ``.txt`` files, folders of them or ``*.txt`` patterns.

    Returns:
        ``(names, sentences)``: ``<file>:<line>`` or the shortened sentence, and the text.

    Raises:
        InputError: If a path is missing or unreadable, a file holds no sentence, or a
            sentence is empty.
    """
    names: list[str] = []
    sentences: list[str] = []
    for item in inputs:
        if not _names_a_path(item):
            if not item.strip():
                raise InputError("an empty sentence: give some text to translate")
            names.append(short_name(item))
            sentences.append(item.strip())
            continue
        for path in expand_paths([item], TEXT_SUFFIXES, "text"):
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"{path}: not a readable UTF-8 text file ({one_line(exc)})") from exc
            kept = [(number, line.strip()) for number, line in enumerate(lines, 1) if line.strip()]
            if not kept:
                raise InputError(f"{path}: no sentence to translate (the file is empty)")
            names.extend(f"{path}:{number}" for number, _ in kept)
            sentences.extend(line for _, line in kept)
    return names, sentences


def build_task(cfg: DictConfig) -> SequenceToSequenceTask:
    """Create the task from the full config.

    Args:
        cfg: The composed config.

    Returns:
        The task.
    """
    return SequenceToSequenceTask(cfg)
