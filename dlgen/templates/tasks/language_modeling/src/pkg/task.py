"""Character-level language modeling: predict every next character of a chunk.

Batches are ``(inputs (B, T), targets (B, T))`` of character ids with
``targets[:, t] = inputs[:, t + 1]``; the model is called as ``model(inputs)`` and must
return logits ``(B, T, V)``. Evaluation reports the mean negative log-likelihood per
character (``loss``, nats), the perplexity ``exp(loss)`` and bits per character.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torch import nn

from .data.config import DataConfig
from .data.corpus import synthetic_corpus
from .data.datasets import Prepared, prepare
from .data.vocabulary import CharVocabulary
from .metrics.language_modeling import bits_per_token, perplexity
from .prediction import InputError, Prediction, Scalar, short_name
from .trainers.task_contract import (
    Batch,
    MetricSums,
    MonitorMode,
    PreparedDataTask,
    StepOutput,
    class_zero_cross_entropy,
)

# Characters of the synthetic corpus behind example batches.
_EXAMPLE_CHARACTERS = 4000
# Sampling settings of ``inference.py``.
GENERATE_CHARACTERS = 200
TEMPERATURE = 0.8
TOP_K = 20
PROMPT_CHARACTERS = 32


class LanguageModelingTask(PreparedDataTask[Prepared]):
    """Character chunks ``(B, T)`` to next-character logits ``(B, T, V)``.

    Args:
        cfg: The full config; reads ``data``, ``training.label_smoothing`` and
            ``training.seed`` (for sampling).
    """

    monitor = "loss"
    monitor_mode: MonitorMode = "min"

    def __init__(self, cfg: DictConfig) -> None:
        self.data = DataConfig.from_mapping(cfg.data)
        self.label_smoothing = float(cfg.training.label_smoothing)
        self.seed = int(cfg.training.seed)

    def prepare_data(self) -> Prepared:
        """Load the corpus, build the vocabulary and chunk every split.

        Returns:
            The chunk datasets with their vocabulary.
        """
        return prepare(self.data)

    def training_step(self, model: nn.Module, batch: Batch) -> StepOutput:
        """Mean cross-entropy over every position of one batch.

        Args:
            model: Maps ``(B, T)`` ids to ``(B, T, V)`` logits.
            batch: ``(inputs, targets)`` on the model's device.

        Returns:
            The loss.
        """
        inputs, targets = batch[0], batch[1]
        logits = model(inputs).float()
        loss = F.cross_entropy(
            logits.flatten(0, 1), targets.flatten(), label_smoothing=self.label_smoothing
        )
        return StepOutput(loss)

    def evaluation_step(self, model: nn.Module, batch: Batch) -> MetricSums:
        """Summed negative log-likelihood and the number of predicted characters.

        Args:
            model: The model in eval mode.
            batch: ``(inputs, targets)`` on the model's device.

        Returns:
            ``loss`` (summed NLL in nats) and ``count`` (characters).
        """
        inputs, targets = batch[0], batch[1]
        logits = model(inputs).float()
        nll = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum")
        return {"loss": nll, "count": torch.tensor(float(targets.numel()), device=nll.device)}

    def finalize_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        """Add perplexity and bits per character to the mean NLL.

        Args:
            metrics: Averages of :meth:`evaluation_step`'s sums.

        Returns:
            ``loss``, ``perplexity`` and ``bits_per_char``.
        """
        loss = metrics.get("loss", 0.0)
        metrics["perplexity"] = perplexity(loss)
        metrics["bits_per_char"] = bits_per_token(loss)
        return metrics

    def example_batch(self, batch_size: int) -> Batch:
        """Chunks of the synthetic corpus (ids folded into ``vocab_size`` if it is smaller).

        Args:
            batch_size: B.

        Returns:
            ``(inputs (B, T), targets (B, T))`` on the CPU.
        """
        block = self.data.block_size
        length = max(_EXAMPLE_CHARACTERS, batch_size * (block + 1))
        text = synthetic_corpus(length, self.data.split_seed)
        ids = CharVocabulary.from_text(text).encode(text) % self.data.vocab_size
        windows = [ids[i * (block + 1) : (i + 1) * (block + 1)] for i in range(batch_size)]
        stacked = torch.stack(windows)  # (B, T + 1)
        return stacked[:, :-1], stacked[:, 1:]

    def output_shape(self, batch_size: int) -> tuple[int, ...]:
        """Shape of the logits.

        Args:
            batch_size: B.

        Returns:
            ``(B, block_size, vocab_size)``.
        """
        return (batch_size, self.data.block_size, self.data.vocab_size)

    def smoke_loss(self, output: torch.Tensor) -> torch.Tensor:
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
        """Continue each prompt with ``GENERATE_CHARACTERS`` sampled characters.

        Args:
            model: The trained model in eval mode.
            inputs: Prompts made of characters of the corpus; empty: the start of the
                validation text.
            top_k: Sample among the k most likely characters (default 20).

        Returns:
            One prediction per prompt: the prompt and its continuation (record keys
            ``input``, ``continuation``).

        Raises:
            InputError: If a prompt is empty or holds characters the vocabulary lacks.
        """
        prepared = self.prepared()
        vocabulary = prepared.vocabulary
        prompts = list(inputs) or [prepared.texts["val"][:PROMPT_CHARACTERS]]
        device = next(model.parameters()).device
        generator = torch.Generator(device=device).manual_seed(self.seed)
        results = []
        for prompt in prompts:
            if not prompt:
                raise InputError("an empty prompt: give at least one character")
            try:
                ids = vocabulary.encode(prompt).unsqueeze(0).to(device)  # (1, P)
            except ValueError as exc:
                raise InputError(f"prompt {short_name(prompt)!r}: {exc}") from exc
            tokens = sample(
                model,
                ids,
                GENERATE_CHARACTERS,
                self.data.block_size,
                generator,
                top_k if top_k is not None else TOP_K,
            )
            text = vocabulary.decode(tokens[0].tolist())
            record: dict[str, Scalar] = {"input": prompt, "continuation": text[len(prompt) :]}
            results.append(Prediction(short_name(prompt), f"--- {prompt!r}\n{text}", [record]))
        return results


def sample(
    model: nn.Module,
    prompt: torch.Tensor,
    max_new_tokens: int,
    block_size: int,
    generator: torch.Generator | None = None,
    top_k: int = TOP_K,
) -> torch.Tensor:
    """Sample a continuation with temperature and top-k.

    Uses the model's own ``generate(prompt, max_new_tokens, temperature, top_k, generator)``
    when it has one (a recurrent model carries its state and costs O(1) per token);
    otherwise re-runs the model on the last ``block_size`` tokens for every new token.

    Args:
        model: A language model in eval mode.
        prompt: Token ids of shape ``(B, P)``, ``P >= 1``.
        max_new_tokens: Tokens to add.
        block_size: Longest context the model accepts.
        generator: Random generator, for reproducible samples.
        top_k: Sample among the k most likely tokens.

    Returns:
        Shape ``(B, P + max_new_tokens)``.
    """
    generate = getattr(model, "generate", None)
    if callable(generate):
        result = generate(prompt, max_new_tokens, TEMPERATURE, top_k, generator)
        if isinstance(result, torch.Tensor):
            return result
    tokens = prompt
    for _ in range(max_new_tokens):
        logits = model(tokens[:, -block_size:])[:, -1].float() / TEMPERATURE  # (B, V)
        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
        choice = torch.multinomial(logits.softmax(dim=-1), 1, generator=generator)  # (B, 1)
        tokens = torch.cat([tokens, choice], dim=1)
    return tokens


def build_task(cfg: DictConfig) -> LanguageModelingTask:
    """Create the task from the full config.

    Args:
        cfg: The composed config.

    Returns:
        The task.
    """
    return LanguageModelingTask(cfg)
