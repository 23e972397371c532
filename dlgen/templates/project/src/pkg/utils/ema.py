"""Exponential moving average of model weights (evaluated instead of the raw weights)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEma:
    """Keeps ``ema = decay * ema + (1 - decay) * weights`` after every optimizer step.

    Buffers (e.g. BatchNorm running statistics) are copied, not averaged.

    Args:
        model: The (unwrapped) model to track; a frozen copy is made.
        decay: Weight of the running average, in (0, 1).
        warmup: Use ``min(decay, (1 + n) / (10 + n))`` after n updates so early
            averages are not dominated by the random initialisation.
    """

    def __init__(self, model: nn.Module, decay: float, warmup: bool = True) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema decay must be in (0, 1), got {decay}")
        self.module = copy.deepcopy(model).eval()
        self.module.requires_grad_(False)
        self._parameter_names = {name for name, _ in self.module.named_parameters()}
        self.decay = decay
        self.warmup = warmup
        self.updates = 0

    def current_decay(self) -> float:
        """The decay applied at the next update.

        Returns:
            The effective decay.
        """
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards the model's current weights.

        Args:
            model: The model being trained (unwrapped, same architecture).
        """
        decay = self.current_decay()
        self.updates += 1
        ema_state = self.module.state_dict()
        for name, value in model.state_dict().items():
            target = ema_state[name]
            if target.dtype.is_floating_point and name in self._parameter_names:
                target.lerp_(value.detach().to(target.dtype), 1.0 - decay)
            else:
                target.copy_(value)

    def state_dict(self) -> dict[str, object]:
        """The averaged weights and the update count.

        Returns:
            A mapping of tensors and ints.
        """
        return {"module": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Restore from :meth:`state_dict`.

        Args:
            state: A mapping with ``module`` and ``updates``.

        Raises:
            TypeError: If the mapping is malformed.
        """
        module_state = state["module"]
        updates = state["updates"]
        if not isinstance(module_state, dict) or not isinstance(updates, int):
            raise TypeError("ema state must hold 'module' (a state dict) and 'updates' (int)")
        self.module.load_state_dict(module_state)
        self.updates = updates

    def to(self, device: torch.device) -> ModelEma:
        """Move the averaged model to a device.

        Args:
            device: Target device.

        Returns:
            Self.
        """
        self.module.to(device)
        return self
