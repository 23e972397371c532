"""Recurrent networks (vanilla RNN, LSTM, GRU) for classification, forecasting and language.

One recurrent encoder (:class:`~..layers.recurrent.RecurrentEncoder`) serves three kinds of
model, chosen by the ``kind`` config value:

- ``classifier``: a sequence to class logits, ``(B, L) -> (B, num_classes)`` for tokens,
  ``(B, L, F)`` or ``(B, C, L)`` for feature sequences and signals. Variable-length batches
  are packed, so the last state is read at each sample's real end.
- ``forecaster``: a multivariate window to the next ``horizon`` steps,
  ``(B, L, F) -> (B, horizon, F)``, either in one shot from the last state (``direct``,
  many-to-one) or step by step, feeding each prediction back (``autoregressive``,
  many-to-many).
- ``language_model``: next-token logits at every step, ``(B, L) -> (B, L, V)``; the output
  layer can share the embedding matrix (Press & Wolf, 2017), and the recurrent state can be
  carried across truncated-BPTT windows with :meth:`RNNLanguageModel.forward_with_state`.

Every kind costs ``O(L * H^2)`` per sample and layer (``O(L * G * H * (I + H))`` exactly,
``G`` = 1/3/4 gate blocks for RNN/GRU/LSTM); the steps of a sequence run sequentially.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..layers.recurrent import CELLS, RecurrentEncoder, RecurrentState
from ..layers.sampling import sample_next_token
from ..layers.sequence_pooling import masked_max, masked_mean
from .registry import register_model

KINDS = ("classifier", "forecaster", "language_model")
INPUT_LAYOUTS = ("tokens", "features", "channels_first")
POOLINGS = ("last", "mean", "max")  # the values of ``head``
FORECAST_MODES = ("direct", "autoregressive")
# Uniform initialisation range of the embedding (and of a tied output layer).
EMBEDDING_INIT_RANGE = 0.1


@dataclass
class RNNConfig:
    """Hyperparameters of a recurrent model (field names as in the project config).

    Attributes:
        kind: ``"classifier"``, ``"forecaster"`` or ``"language_model"`` (set by the task).
        cell: ``"rnn"`` (tanh), ``"lstm"`` or ``"gru"``.
        hidden_dim: Hidden units per layer and direction ``H``.
        num_layers: Stacked recurrent layers.
        bidirectional: Also read right to left (classifier, direct forecaster only: a
            language model or an autoregressive forecaster must not see the future).
        dropout: Dropout on the embeddings, between recurrent layers and before the head.
        input_layout: ``"tokens"`` (``(B, L)`` integer ids, embedded), ``"features"``
            (``(B, L, F)``) or ``"channels_first"`` (``(B, C, L)`` signals, e.g. ECG).
        vocab_size: Token vocabulary size ``V`` (``tokens`` layout and language models).
        embedding_dim: Embedding width ``E`` for token inputs.
        padding_idx: Token id of the padding symbol (its embedding stays zero).
        input_dim: Features per step ``F`` (or channels ``C``) for non-token inputs.
        num_classes: Classes of the classifier.
        head: How the classifier summarises the sequence: ``"last"`` (the final forward
            state and the backward state at step 0), ``"mean"`` or ``"max"`` over the real
            steps.
        horizon: Future steps the forecaster predicts (unused by the other kinds).
        forecast_mode: ``"direct"`` (one linear map from the last state to all steps) or
            ``"autoregressive"`` (roll the recurrence forward, one step per prediction).
        tie_weights: Language model only: reuse the embedding matrix as the output layer
            (needs ``embedding_dim == hidden_dim``).
        variant: Name of the catalog variant the values come from, for reference only.
    """

    kind: str = "classifier"
    cell: str = "lstm"
    hidden_dim: int = 256
    num_layers: int = 2
    bidirectional: bool = False
    dropout: float = 0.0
    input_layout: str = "tokens"
    vocab_size: int | None = None
    embedding_dim: int = 128
    padding_idx: int | None = 0
    input_dim: int | None = None
    num_classes: int | None = None
    head: str = "last"
    horizon: int | None = None
    forecast_mode: str = "direct"
    tie_weights: bool = False
    variant: str | None = None

    def __post_init__(self) -> None:
        """Check the values against each other.

        Raises:
            ValueError: Listing every inconsistent value and what would be accepted.
        """
        problems = _choice_problems(self) + _size_problems(self) + _head_problems(self)
        if problems:
            raise ValueError("invalid RNN config: " + "; ".join(problems))

    @property
    def num_directions(self) -> int:
        """2 for a bidirectional encoder, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def uses_tokens(self) -> bool:
        """Whether the inputs are token ids that go through an embedding."""
        return self.input_layout == "tokens"

    @property
    def step_features(self) -> int:
        """Features per step entering the recurrent encoder (``E`` or ``F``)."""
        if self.uses_tokens:
            return self.embedding_dim
        return int(self.input_dim or 0)


def _choice_problems(config: RNNConfig) -> list[str]:
    choices: dict[str, tuple[str, tuple[str, ...]]] = {
        "kind": (config.kind, KINDS),
        "cell": (config.cell, tuple(CELLS)),
        "input_layout": (config.input_layout, INPUT_LAYOUTS),
        "head": (config.head, POOLINGS),
        "forecast_mode": (config.forecast_mode, FORECAST_MODES),
    }
    return [
        f"{name} must be one of {allowed}, got {value!r}"
        for name, (value, allowed) in choices.items()
        if value not in allowed
    ]


def _size_problems(config: RNNConfig) -> list[str]:
    problems = [
        f"{name} must be a positive integer, got {getattr(config, name)}"
        for name in ("hidden_dim", "num_layers", "embedding_dim")
        if getattr(config, name) < 1
    ]
    if not 0.0 <= config.dropout < 1.0:
        problems.append(f"dropout must be in [0, 1), got {config.dropout}")
    if config.uses_tokens and (config.vocab_size is None or config.vocab_size < 1):
        problems.append(f"input_layout='tokens' needs vocab_size >= 1, got {config.vocab_size}")
    if not config.uses_tokens and (config.input_dim is None or config.input_dim < 1):
        problems.append(
            f"input_layout={config.input_layout!r} needs input_dim >= 1 (features or "
            f"channels per step), got {config.input_dim}"
        )
    vocab = config.vocab_size or 0
    if config.uses_tokens and config.padding_idx is not None:
        if not 0 <= config.padding_idx < max(vocab, 1):
            problems.append(
                f"padding_idx must be in [0, {vocab}) or null, got {config.padding_idx}"
            )
    return problems


def _head_problems(config: RNNConfig) -> list[str]:
    problems = []
    if config.kind == "classifier" and (config.num_classes is None or config.num_classes < 1):
        problems.append(f"kind='classifier' needs num_classes >= 1, got {config.num_classes}")
    if config.kind == "forecaster" and (config.horizon is None or config.horizon < 1):
        problems.append(f"kind='forecaster' needs horizon >= 1, got {config.horizon}")
    if config.kind == "forecaster" and config.input_layout != "features":
        problems.append(
            f"kind='forecaster' reads (B, L, F) windows: input_layout must be 'features', "
            f"got {config.input_layout!r}"
        )
    if config.kind == "language_model":
        if not config.uses_tokens:
            problems.append("kind='language_model' needs input_layout='tokens'")
        if config.bidirectional:
            problems.append("a language model must not see future tokens: set bidirectional=false")
    if config.kind == "forecaster" and config.forecast_mode == "autoregressive":
        if config.bidirectional:
            problems.append(
                "forecast_mode='autoregressive' continues the forward recurrence: set "
                "bidirectional=false or use forecast_mode='direct'"
            )
    if config.tie_weights and config.kind != "language_model":
        problems.append("tie_weights applies to kind='language_model' only; set it to false")
    if config.tie_weights and config.embedding_dim != config.hidden_dim:
        problems.append(
            f"tie_weights needs embedding_dim == hidden_dim, got {config.embedding_dim} and "
            f"{config.hidden_dim}; make them equal or set tie_weights=false"
        )
    return problems


def _check_tokens(tokens: Tensor, vocab_size: int) -> None:
    """Raise a clear error for token batches of the wrong rank or dtype."""
    if tokens.ndim != 2:
        raise ValueError(f"expected token ids shaped (B, L), got {tuple(tokens.shape)}")
    if tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
        raise ValueError(f"token ids must be an integer tensor, got dtype {tokens.dtype}")
    if tokens.numel() == 0:
        raise ValueError(f"expected a non-empty (B, L) batch, got {tuple(tokens.shape)}")
    if torch.compiler.is_compiling():
        return  # the value range is data-dependent: not checked under torch.compile/export
    if int(tokens.min()) < 0 or int(tokens.max()) >= vocab_size:
        raise ValueError(
            f"token ids must lie in [0, {vocab_size}), got min {int(tokens.min())}, max "
            f"{int(tokens.max())}; rebuild the vocabulary or raise vocab_size"
        )


def _check_features(x: Tensor, layout: str, features: int) -> None:
    """Raise a clear error for feature batches of the wrong rank or width."""
    axis = 1 if layout == "(B, C, L)" else 2
    if x.ndim != 3 or x.shape[axis] != features:
        raise ValueError(
            f"expected inputs shaped {layout} with {features} at dim {axis}, got {tuple(x.shape)}"
        )
    if not x.dtype.is_floating_point:
        raise ValueError(f"expected floating-point inputs, got dtype {x.dtype}")
    if x.numel() == 0:
        raise ValueError(f"expected a non-empty batch shaped {layout}, got {tuple(x.shape)}")


class SequenceInput(nn.Module):
    """Turns raw inputs into ``(B, L, I)`` steps: embeds token ids or reorders signals.

    Shapes: ``(B, L) -> (B, L, E)`` for tokens, ``(B, L, F) -> (B, L, F)`` for features,
    ``(B, C, L) -> (B, L, C)`` for channels-first signals.
    """

    def __init__(self, config: RNNConfig) -> None:
        """Build the embedding when the inputs are tokens.

        Args:
            config: The model hyperparameters.
        """
        super().__init__()
        self.layout = config.input_layout
        self.features = config.step_features
        self.vocab_size = int(config.vocab_size or 0)
        self.embedding = (
            nn.Embedding(self.vocab_size, config.embedding_dim, padding_idx=config.padding_idx)
            if config.uses_tokens
            else None
        )
        self.dropout = nn.Dropout(config.dropout)
        if self.embedding is not None:
            nn.init.uniform_(self.embedding.weight, -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE)
            if config.padding_idx is not None:
                with torch.no_grad():
                    self.embedding.weight[config.padding_idx].zero_()

    def forward(self, x: Tensor) -> Tensor:
        """Embed or reorder a batch.

        Args:
            x: ``(B, L)`` token ids, ``(B, L, F)`` features or ``(B, C, L)`` signals.

        Returns:
            Steps of shape ``(B, L, I)``.

        Raises:
            ValueError: If the rank, dtype, width or a token id is wrong.
        """
        if self.embedding is not None:
            _check_tokens(x, self.vocab_size)
            return self.dropout(self.embedding(x))  # (B, L, E)
        if self.layout == "channels_first":
            _check_features(x, "(B, C, L)", self.features)
            return x.transpose(1, 2)  # (B, L, C)
        _check_features(x, "(B, L, F)", self.features)
        return x


class RNNClassifier(nn.Module):
    """Sequence classifier: embedding or raw features, a recurrent encoder, a linear head.

    Shapes: ``(B, L) -> (B, num_classes)`` for tokens; ``(B, L, F)`` or ``(B, C, L)``
    inputs for feature sequences and signals. With ``lengths`` the padded batch is packed.
    Complexity: ``O(num_layers * D * L * H^2)`` per sample (``D`` directions).
    """

    # Classifier module: its layers of another shape (a new class count) are re-initialised
    # when pretrained weights are loaded.
    pretrained_head = ("head",)

    def __init__(self, config: RNNConfig) -> None:
        """Build the model.

        Args:
            config: The hyperparameters; see :class:`RNNConfig`.
        """
        super().__init__()
        self.config = config
        self.inputs = SequenceInput(config)
        self.encoder = RecurrentEncoder(
            config.step_features,
            config.hidden_dim,
            num_layers=config.num_layers,
            cell=config.cell,
            bidirectional=config.bidirectional,
            dropout=config.dropout,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(self.encoder.output_size, int(config.num_classes or 0))

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Classify a batch of sequences.

        Args:
            x: ``(B, L)`` token ids, ``(B, L, F)`` features or ``(B, C, L)`` signals, padded
                at the end.
            lengths: Real steps per sample, shape ``(B,)``; ``None`` if none is padded.

        Returns:
            Logits of shape ``(B, num_classes)``.

        Raises:
            ValueError: If the inputs or lengths are malformed.
        """
        steps = self.inputs(x)  # (B, L, I)
        outputs, state = self.encoder(steps, lengths)  # (B, L, D * H)
        pooled = self.pool(outputs, state, lengths)  # (B, D * H)
        return self.head(self.dropout(pooled))

    def pool(self, outputs: Tensor, state: RecurrentState, lengths: Tensor | None) -> Tensor:
        """Summarise the encoder's outputs into one vector per sample.

        Args:
            outputs: Per-step outputs ``(B, L, D * H)``.
            state: The encoder's final state.
            lengths: Real steps per sample, or ``None``.

        Returns:
            Shape ``(B, D * H)``.
        """
        poolers: dict[str, Callable[[], Tensor]] = {
            "last": lambda: self.encoder.last_hidden(state),
            "mean": lambda: masked_mean(outputs, lengths),
            "max": lambda: masked_max(outputs, lengths),
        }
        return poolers[self.config.head]()


class RNNForecaster(nn.Module):
    """Multivariate forecaster: a window of ``L`` steps to the next ``horizon`` steps.

    ``direct`` (many-to-one): the final hidden state is mapped by one linear layer to all
    ``horizon * F`` values. ``autoregressive`` (many-to-many): a linear readout predicts the
    next step from the current hidden state, and that prediction is fed back as the next
    input, ``horizon`` times.

    Shapes: ``(B, L, F) -> (B, horizon, F)``.
    Complexity: ``O(num_layers * D * (L + horizon') * H^2)`` per sample, with
    ``horizon' = horizon`` for autoregressive decoding and 0 for direct.
    """

    def __init__(self, config: RNNConfig) -> None:
        """Build the model.

        Args:
            config: The hyperparameters; see :class:`RNNConfig`.
        """
        super().__init__()
        self.config = config
        self.features = int(config.input_dim or 0)
        self.horizon = int(config.horizon or 1)
        self.inputs = SequenceInput(config)
        self.encoder = RecurrentEncoder(
            self.features,
            config.hidden_dim,
            num_layers=config.num_layers,
            cell=config.cell,
            bidirectional=config.bidirectional,
            dropout=config.dropout,
        )
        self.dropout = nn.Dropout(config.dropout)
        steps_out = self.horizon if config.forecast_mode == "direct" else 1
        self.head = nn.Linear(self.encoder.output_size, steps_out * self.features)

    def forward(self, x: Tensor) -> Tensor:
        """Forecast the steps after each window.

        Args:
            x: Past values of shape ``(B, L, F)`` (normalised as in training).

        Returns:
            Predictions of shape ``(B, horizon, F)``.

        Raises:
            ValueError: If the window has the wrong rank, width or dtype.
        """
        steps = self.inputs(x)  # (B, L, F)
        outputs, state = self.encoder(steps)  # (B, L, D * H)
        if self.config.forecast_mode == "direct":
            summary = self.dropout(self.encoder.last_hidden(state))  # (B, D * H)
            return self.head(summary).view(x.shape[0], self.horizon, self.features)
        return self._roll_out(outputs[:, -1], state)

    def _roll_out(self, last_output: Tensor, state: RecurrentState) -> Tensor:
        """Predict one step at a time, feeding each prediction back as the next input."""
        predictions = []
        current = last_output  # (B, H)
        for _ in range(self.horizon):
            step = self.head(self.dropout(current))  # (B, F)
            predictions.append(step)
            output, state = self.encoder(step.unsqueeze(1), state=state)  # (B, 1, H)
            current = output[:, 0]
        return torch.stack(predictions, dim=1)  # (B, horizon, F)


class RNNLanguageModel(nn.Module):
    """Token-level (e.g. character-level) recurrent language model.

    Embedding, a unidirectional recurrent encoder, dropout and a linear decoder to the
    vocabulary; with ``tie_weights`` the decoder reuses the embedding matrix.

    Shapes: ``(B, L) -> (B, L, V)``.
    Complexity: ``O(num_layers * L * H^2 + L * H * V)`` per sample.
    """

    def __init__(self, config: RNNConfig) -> None:
        """Build the model.

        Args:
            config: The hyperparameters; see :class:`RNNConfig`.
        """
        super().__init__()
        self.config = config
        self.inputs = SequenceInput(config)
        self.encoder = RecurrentEncoder(
            config.embedding_dim,
            config.hidden_dim,
            num_layers=config.num_layers,
            cell=config.cell,
            dropout=config.dropout,
        )
        self.dropout = nn.Dropout(config.dropout)
        vocab = int(config.vocab_size or 0)
        self.decoder = nn.Linear(config.hidden_dim, vocab)
        if config.tie_weights and self.inputs.embedding is not None:
            self.decoder.weight = self.inputs.embedding.weight
        else:
            nn.init.uniform_(self.decoder.weight, -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, tokens: Tensor) -> Tensor:
        """Next-token logits at every position, starting from a zero state.

        Args:
            tokens: Token ids of shape ``(B, L)``.

        Returns:
            Logits of shape ``(B, L, V)``; position ``t`` predicts token ``t + 1``.
        """
        logits, _ = self.forward_with_state(tokens)
        return logits

    def forward_with_state(
        self, tokens: Tensor, state: RecurrentState | None = None
    ) -> tuple[Tensor, RecurrentState]:
        """Logits and the final state, continuing from ``state`` (truncated BPTT).

        Pass the returned state, detached with :func:`detach_state`, to the next window of
        the same text streams: the model then sees context beyond one window while the
        gradient still stops at the window boundary.

        Args:
            tokens: Token ids of shape ``(B, L)``.
            state: The final state of the previous window, or ``None`` for zeros.

        Returns:
            ``(logits, state)``: logits ``(B, L, V)`` and the state after the last step.
        """
        steps = self.inputs(tokens)  # (B, L, E)
        outputs, final = self.encoder(steps, state=state)  # (B, L, H)
        return self.decoder(self.dropout(outputs)), final  # (B, L, V)

    @torch.no_grad()
    def generate(
        self,
        prompt: Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Sample a continuation of each prompt, one token at a time.

        Args:
            prompt: Token ids of shape ``(B, P)``, ``P >= 1``.
            max_new_tokens: Tokens to append.
            temperature: Softmax temperature (> 0); lower is more conservative.
            top_k: Sample only among the ``k`` most likely tokens; ``None`` for all.
            generator: Random generator, for reproducible samples.

        Returns:
            Shape ``(B, P + max_new_tokens)``: the prompt followed by the samples.

        Raises:
            ValueError: If the temperature is not positive or ``max_new_tokens`` negative.
        """
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
        tokens = prompt
        logits, state = self.forward_with_state(prompt)
        for _ in range(max_new_tokens):
            sample = sample_next_token(logits[:, -1], temperature, top_k, generator)  # (B, 1)
            tokens = torch.cat([tokens, sample], dim=1)
            logits, state = self.forward_with_state(sample, state)
        return tokens


def detach_state(state: RecurrentState | None) -> RecurrentState | None:
    """Cut the gradient history of a recurrent state (truncated BPTT).

    Args:
        state: A state from :meth:`RNNLanguageModel.forward_with_state`, or ``None``.

    Returns:
        The same values, detached from the graph.
    """
    if state is None:
        return None
    if isinstance(state, tuple):
        return (state[0].detach(), state[1].detach())
    return state.detach()


MODELS: dict[str, type[nn.Module]] = {
    "classifier": RNNClassifier,
    "forecaster": RNNForecaster,
    "language_model": RNNLanguageModel,
}


@register_model("rnn")
def build_rnn(cfg: dict[str, Any]) -> nn.Module:
    """Build a recurrent model from the resolved ``model`` config section.

    Args:
        cfg: The config mapping; its keys are :class:`RNNConfig` fields plus ``name``.

    Returns:
        The model for ``cfg["kind"]``, in train mode, on the CPU.
    """
    fields = {key: value for key, value in cfg.items() if key != "name"}
    config = RNNConfig(**fields)
    return MODELS[config.kind](config)
