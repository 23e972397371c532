"""Language modeling: predict every next token of a chunk.

Batches are ``(inputs (B, T), targets (B, T))`` of token ids with
``targets[:, t] = inputs[:, t + 1]``; the model is called as ``model(inputs)`` and must
return logits ``(B, T, V)``. ``data.tokenizer`` says what a token is (characters, words,
byte-level BPE, GPT-2's BPE: :mod:`.data.tokenizers`). Evaluation reports the mean negative
log-likelihood per token (``loss``, nats), the perplexity ``exp(loss)`` and bits per token
(``bits_per_char``: per character for the character tokenizer).

The tokenizer the datasets were built with is written into ``data.tokenizer_state`` (a
packed string), so every checkpoint carries it and ``inference.py`` encodes prompts and
decodes samples with the same one, without the training data.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf
from torch import nn

from .data.config import DataConfig
from .data.corpus import synthetic_corpus
from .data.datasets import Prepared
from .data.prepare import prepare
from .data.tokenizers import Tokenizer, decode_state, encode_state
from .data.vocabulary import CharVocabulary
from .layers.sampling import sample_next_token
from .metrics.language_modeling import bits_per_token, perplexity
from .prediction import InputError, Prediction, Scalar, short_name
from .utils.logger import LOGGER_NAME
from .trainers.task_contract import (
    Batch,
    MetricSums,
    MonitorMode,
    PreparedDataTask,
    StepOutput,
    class_zero_cross_entropy,
)

LOGGER = logging.getLogger(LOGGER_NAME)
# Characters of the synthetic corpus behind example batches.
_EXAMPLE_CHARACTERS = 4000
# Characters of the synthetic corpus that prompt a synthetic-data model without a prompt.
PROMPT_CHARACTERS = 32


@dataclass
class SamplingOptions:
    """How ``inference.py`` continues a prompt (its ``--max-new-tokens`` ... options).

    Attributes:
        max_new_tokens: Tokens to add to each prompt.
        temperature: Softmax temperature (> 0); lower is more conservative.
        top_k: Sample among the k most likely tokens (None: all).
        top_p: Then among the smallest set holding this probability mass (nucleus
            sampling; None: off).
    """

    max_new_tokens: int = 200
    temperature: float = 0.8
    top_k: int | None = 20
    top_p: float | None = None

    def __post_init__(self) -> None:
        """Check the values.

        Raises:
            ValueError: Naming the option and what it accepts.
        """
        if self.max_new_tokens < 0:
            raise ValueError(f"--max-new-tokens must be >= 0, got {self.max_new_tokens}")
        if self.temperature <= 0:
            raise ValueError(f"--temperature must be > 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"--top-k must be >= 1, got {self.top_k}")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"--top-p must be in (0, 1], got {self.top_p}")


class LanguageModelingTask(PreparedDataTask[Prepared]):
    """Token chunks ``(B, T)`` to next-token logits ``(B, T, V)``.

    Args:
        cfg: The full config; reads ``data`` (and writes ``data.tokenizer_state``),
            ``training.label_smoothing`` and ``training.seed`` (for sampling).
    """

    monitor = "loss"
    monitor_mode: MonitorMode = "min"

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg
        self.data = DataConfig.from_mapping(cfg.data)
        self.label_smoothing = float(cfg.training.label_smoothing)
        self.seed = int(cfg.training.seed)
        self.sampling = SamplingOptions()

    def prepare_data(self) -> Prepared:
        """Load the token files or the corpus, build the tokenizer and chunk every split.

        The tokenizer is then stored in ``cfg.data.tokenizer_state``.

        Returns:
            The chunk datasets with their tokenizer.
        """
        prepared = prepare(self.data)
        tokenizer = prepared.tokenizer
        LOGGER.info("data: %s tokenizer of %d tokens, %s", tokenizer.kind, tokenizer.size, prepared.origin)
        state = encode_state(prepared.tokenizer)
        OmegaConf.update(self.cfg, "data.tokenizer_state", state, merge=False, force_add=True)
        self.data = DataConfig.from_mapping(self.cfg.data)
        return prepared

    def tokenizer(self) -> Tokenizer:
        """The tokenizer: the config's stored one, else the one the data is prepared with.

        Returns:
            The tokenizer.
        """
        if self.data.tokenizer_state is not None:
            return decode_state(self.data.tokenizer_state)
        return self.prepared().tokenizer

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
        """Summed negative log-likelihood and the number of predicted tokens.

        Args:
            model: The model in eval mode.
            batch: ``(inputs, targets)`` on the model's device.

        Returns:
            ``loss`` (summed NLL in nats) and ``count`` (tokens).
        """
        inputs, targets = batch[0], batch[1]
        logits = model(inputs).float()
        nll = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum")
        return {"loss": nll, "count": torch.tensor(float(targets.numel()), device=nll.device)}

    def finalize_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        """Add perplexity and bits per token to the mean NLL.

        Args:
            metrics: Averages of :meth:`evaluation_step`'s sums.

        Returns:
            ``loss``, ``perplexity`` and ``bits_per_char`` (bits per token).
        """
        loss = metrics.get("loss", 0.0)
        metrics["perplexity"] = perplexity(loss)
        metrics["bits_per_char"] = bits_per_token(loss)
        return metrics

    def example_batch(self, batch_size: int) -> Batch:
        """Chunks of the synthetic corpus (ids folded into ``vocab_size`` if it is smaller).

        Character ids whatever the tokenizer: the batch has the real shapes and needs no
        tokenizer training.

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

    def default_prompt(self) -> str:
        """The prompt when none is given: the synthetic corpus's start, else a line break.

        Returns:
            The prompt text.
        """
        if self.data.source == "synthetic":
            return synthetic_corpus(PROMPT_CHARACTERS, self.data.split_seed)[:PROMPT_CHARACTERS]
        return "\n"

    @torch.no_grad()
    def predictions(
        self, model: nn.Module, inputs: Sequence[str], top_k: int | None = None
    ) -> list[Prediction]:
        """Continue each prompt with ``sampling.max_new_tokens`` sampled tokens.

        Args:
            model: The trained model in eval mode.
            inputs: Prompts (texts); none: :meth:`default_prompt`.
            top_k: Sample among the k most likely tokens (default ``sampling.top_k``).

        Returns:
            One prediction per prompt: the prompt and its continuation (record keys
            ``input``, ``continuation``).

        Raises:
            InputError: If a prompt is empty or holds symbols the tokenizer cannot encode.
        """
        tokenizer = self.tokenizer()
        options = self.sampling
        if top_k is not None:
            options = SamplingOptions(options.max_new_tokens, options.temperature, top_k, options.top_p)
        prompts = list(inputs) or [self.default_prompt()]
        device = next(model.parameters()).device
        generator = torch.Generator(device=device).manual_seed(self.seed)
        results = []
        for prompt in prompts:
            ids = encode_prompt(tokenizer, prompt)
            tokens = sample(
                model,
                torch.tensor([ids], dtype=torch.long, device=device),  # (1, P)
                options,
                self.data.block_size,
                generator,
            )
            text, continuation = decode_sample(tokenizer, tokens[0].tolist(), len(ids))
            record: dict[str, Scalar] = {"input": prompt, "continuation": continuation}
            results.append(Prediction(short_name(prompt), f"--- {prompt!r}\n{text}", [record]))
        return results


def encode_prompt(tokenizer: Tokenizer, prompt: str) -> list[int]:
    """The ids of a prompt.

    Args:
        tokenizer: The tokenizer.
        prompt: The prompt text.

    Returns:
        At least one id.

    Raises:
        InputError: If the prompt is empty or cannot be encoded.
    """
    if not prompt:
        raise InputError("an empty prompt: give at least one character")
    try:
        ids = tokenizer.encode(prompt)
    except ValueError as exc:
        raise InputError(f"prompt {short_name(prompt)!r}: {exc}") from exc
    if not ids:
        raise InputError(f"prompt {short_name(prompt)!r} encodes to no token")
    return ids


def decode_sample(tokenizer: Tokenizer, ids: list[int], prompt_length: int) -> tuple[str, str]:
    """The text of a sample and the part of it after the prompt.

    Args:
        tokenizer: The tokenizer.
        ids: Prompt and sampled ids.
        prompt_length: Ids of the prompt.

    Returns:
        ``(text, continuation)``.
    """
    text = tokenizer.decode(ids)
    head = tokenizer.decode(ids[:prompt_length])
    if text.startswith(head):
        return text, text[len(head) :]
    return text, tokenizer.decode(ids[prompt_length:])


def read_prompt_file(path: Path) -> str:
    """The text of a prompt file (``inference.py --prompt-file``).

    Args:
        path: A UTF-8 text file; its whole text is one prompt.

    Returns:
        The prompt.

    Raises:
        InputError: If the file is missing or not UTF-8 text.
    """
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"prompt file {path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"prompt file {path} cannot be read as UTF-8 text: {exc}") from exc


def sample(
    model: nn.Module,
    prompt: torch.Tensor,
    options: SamplingOptions,
    block_size: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Sample a continuation with temperature, top-k and top-p.

    Without top-p it uses the model's own ``generate(prompt, max_new_tokens, temperature,
    top_k, generator)`` when it has one (a recurrent model carries its state and costs O(1)
    per token); otherwise it re-runs the model on the last ``block_size`` tokens for every
    new token.

    Args:
        model: A language model in eval mode.
        prompt: Token ids of shape ``(B, P)``, ``P >= 1``.
        options: The sampling options.
        block_size: Longest context the model accepts.
        generator: Random generator, for reproducible samples.

    Returns:
        Shape ``(B, P + max_new_tokens)``.
    """
    generate = getattr(model, "generate", None)
    if options.top_p is None and callable(generate):
        result = generate(
            prompt, options.max_new_tokens, options.temperature, options.top_k, generator
        )
        if isinstance(result, torch.Tensor):
            return result
    tokens = prompt
    for _ in range(options.max_new_tokens):
        logits = model(tokens[:, -block_size:])[:, -1]  # (B, V)
        choice = sample_next_token(
            logits, options.temperature, options.top_k, generator, top_p=options.top_p
        )  # (B, 1)
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
