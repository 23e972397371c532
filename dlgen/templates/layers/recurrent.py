"""A stack of RNN, LSTM or GRU layers over padded batches, packed when lengths are given."""

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

# The recurrent cells, by config name, and the number of gate blocks each computes per step.
CELLS: dict[str, Callable[..., nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
GATES: dict[str, int] = {"rnn": 1, "lstm": 4, "gru": 3}


def _is_exporting() -> bool:
    """Whether torch.export (or the ONNX exporter) is tracing (False before PyTorch 2.5)."""
    is_exporting = getattr(torch.compiler, "is_exporting", None)
    return bool(is_exporting()) if is_exporting is not None else False


# nn.RNN/nn.GRU carry one tensor ``h``; nn.LSTM carries ``(h, c)``. Each is
# ``(num_layers * num_directions, B, H)``.
RecurrentState = Tensor | tuple[Tensor, Tensor]


class RecurrentEncoder(nn.Module):
    """``num_layers`` stacked RNN/LSTM/GRU layers, uni- or bidirectional.

    Given per-sample lengths, the batch is packed (``pack_padded_sequence``) so the
    recurrence stops at each sample's last real step: the final forward state is the one
    at position ``length - 1`` and the backward direction starts there, not in the padding.
    Outputs at padded positions are zero.

    Shapes: ``(B, L, I) -> (B, L, D * H)`` with ``D = 2`` if bidirectional else ``1``.
    Complexity: ``O(B * L * G * (I * H + H^2))`` time per layer and direction, i.e.
    ``O(L * H^2)`` per sample and layer, with ``G`` = 1 (RNN), 3 (GRU) or 4 (LSTM) gate
    blocks; the ``L`` steps run one after another (no parallelism over time).

    Args:
        input_size: Features per step ``I``.
        hidden_size: Hidden units per direction ``H``.
        num_layers: Stacked layers.
        cell: ``"rnn"`` (tanh), ``"lstm"`` or ``"gru"``.
        bidirectional: Run a second layer stack right to left and concatenate.
        dropout: Dropout on the outputs of every layer except the last (PyTorch's rule).

    Raises:
        ValueError: If the cell is unknown or a size or rate is out of range.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        cell: str = "lstm",
        bidirectional: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"unknown recurrent cell {cell!r}; choose one of {sorted(CELLS)}")
        if min(input_size, hidden_size, num_layers) < 1:
            raise ValueError(
                "input_size, hidden_size and num_layers must be positive, got "
                f"{input_size}, {hidden_size}, {num_layers}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.cell = cell
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.num_directions = 2 if bidirectional else 1
        # PyTorch warns when dropout is set on a single layer: it would never apply.
        self.rnn = CELLS[cell](
            input_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise for stable training of deep or long recurrences.

        Input weights: Xavier uniform. Recurrent weights: orthogonal per gate block, so
        repeated multiplication neither explodes nor vanishes at the start. Biases: zero,
        except the LSTM forget gate at 1 so it remembers by default (Jozefowicz et al., 2015).
        """
        hidden = self.hidden_size
        for name, parameter in self.rnn.named_parameters():
            if name.startswith("weight_ih"):
                nn.init.xavier_uniform_(parameter)
            elif name.startswith("weight_hh"):
                for block in parameter.data.split(hidden, dim=0):  # one (H, H) block per gate
                    nn.init.orthogonal_(block)
            elif name.startswith("bias"):
                nn.init.zeros_(parameter)
                if self.cell == "lstm" and name.startswith("bias_ih"):
                    # PyTorch orders the LSTM gates (input, forget, cell, output).
                    nn.init.ones_(parameter.data[hidden : 2 * hidden])

    @property
    def output_size(self) -> int:
        """Features per step of the output, ``D * H``."""
        return self.num_directions * self.hidden_size

    def forward(
        self, x: Tensor, lengths: Tensor | None = None, state: RecurrentState | None = None
    ) -> tuple[Tensor, RecurrentState]:
        """Run the recurrence over a padded batch.

        Args:
            x: Inputs of shape ``(B, L, I)``, real steps first, padding after.
            lengths: Real steps per sample, shape ``(B,)``, each in ``[1, L]``; ``None``
                when every sample has ``L`` real steps.
            state: Initial state, ``(num_layers * D, B, H)`` (a pair for LSTM); zeros
                when ``None``.

        Returns:
            ``(outputs, state)``: outputs ``(B, L, D * H)`` (zero at padded positions) and
            the final state in the input's batch order.

        Raises:
            ValueError: If ``x`` or ``lengths`` has the wrong shape or a length is out of
                range.
        """
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ValueError(
                f"expected inputs shaped (B, L, {self.input_size}), got {tuple(x.shape)}"
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"expected a non-empty batch shaped (B, L, I), got {tuple(x.shape)}")
        if lengths is None or (not _is_exporting() and bool((lengths == x.shape[1]).all())):
            if lengths is not None:
                check_lengths(lengths, batch=x.shape[0], max_length=x.shape[1])
            outputs, final = self.rnn(x, state)  # (B, L, D * H)
            return outputs, final
        if _is_exporting():
            # Packing depends on the lengths' values, which torch.export cannot trace.
            return self.masked_forward(x, lengths, state)
        check_lengths(lengths, batch=x.shape[0], max_length=x.shape[1])
        # pack_padded_sequence wants int64 lengths on the CPU; enforce_sorted=False sorts
        # internally and returns the final state in the input's order.
        cpu_lengths = lengths.detach().to("cpu", dtype=torch.int64)
        packed = pack_padded_sequence(x, cpu_lengths, batch_first=True, enforce_sorted=False)
        packed_outputs, final = self.rnn(packed, state)
        outputs, _ = pad_packed_sequence(
            packed_outputs, batch_first=True, total_length=x.shape[1]
        )  # (B, L, D * H)
        return outputs, final

    def masked_forward(
        self, x: Tensor, lengths: Tensor, state: RecurrentState | None = None
    ) -> tuple[Tensor, RecurrentState]:
        """The packed recurrence written out step by step with masks (for torch.export).

        Gives what packing gives: each sample's forward recurrence stops after its length,
        its reverse recurrence starts at its last real step, padded outputs are zero. The
        loop over steps is unrolled when traced, so it is used only while exporting.

        Args:
            x: Inputs of shape ``(B, L, I)``, real steps first, padding after.
            lengths: Real steps per sample, shape ``(B,)``, each in ``[1, L]``.
            state: Initial state, ``(num_layers * D, B, H)`` (a pair for LSTM); zeros
                when ``None``.

        Returns:
            ``(outputs, state)``: outputs ``(B, L, D * H)`` and the final state.
        """
        batch, steps, _ = x.shape
        if state is None:
            h0 = c0 = x.new_zeros(self.num_layers * self.num_directions, batch, self.hidden_size)
        elif isinstance(state, tuple):
            h0, c0 = state
        else:
            h0 = c0 = state
        positions = torch.arange(steps, device=x.device)
        valid = positions[None, :] < lengths.to(x.device)[:, None]  # (B, L)
        layer_input = x
        finals_h: list[Tensor] = []
        finals_c: list[Tensor] = []
        for layer in range(self.num_layers):
            if layer > 0:
                layer_input = nn.functional.dropout(layer_input, self.rnn.dropout, self.training)
            directions = []
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                weight_ih, weight_hh = (
                    getattr(self.rnn, f"weight_{k}{suffix}") for k in ("ih", "hh")
                )
                bias_ih, bias_hh = (getattr(self.rnn, f"bias_{k}{suffix}") for k in ("ih", "hh"))
                index = layer * self.num_directions + direction
                h, c = h0[index], c0[index]  # (B, H)
                projected = nn.functional.linear(layer_input, weight_ih, bias_ih)  # (B, L, G * H)
                outputs: list[Tensor] = [h] * steps
                for step in range(steps - 1, -1, -1) if direction else range(steps):
                    new_h, new_c = self._cell_step(
                        projected[:, step], nn.functional.linear(h, weight_hh, bias_hh), h, c
                    )
                    keep = valid[:, step, None]  # (B, 1)
                    h, c = torch.where(keep, new_h, h), torch.where(keep, new_c, c)
                    outputs[step] = torch.where(keep, new_h, torch.zeros_like(new_h))
                directions.append(torch.stack(outputs, dim=1))  # (B, L, H)
                finals_h.append(h)
                finals_c.append(c)
            layer_input = torch.cat(directions, dim=-1)  # (B, L, D * H)
        final_h = torch.stack(finals_h)  # (num_layers * D, B, H)
        if self.cell == "lstm":
            return layer_input, (final_h, torch.stack(finals_c))
        return layer_input, final_h

    def _cell_step(
        self, input_gates: Tensor, hidden_gates: Tensor, h: Tensor, c: Tensor
    ) -> tuple[Tensor, Tensor]:
        """One step of the cell from its projected input and state, each ``(B, G * H)``."""
        if self.cell == "lstm":
            i, f, g, o = (input_gates + hidden_gates).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            return torch.sigmoid(o) * torch.tanh(c), c
        if self.cell == "gru":
            input_r, input_z, input_n = input_gates.chunk(3, dim=-1)
            hidden_r, hidden_z, hidden_n = hidden_gates.chunk(3, dim=-1)
            r = torch.sigmoid(input_r + hidden_r)
            z = torch.sigmoid(input_z + hidden_z)
            n = torch.tanh(input_n + r * hidden_n)
            return (1 - z) * n + z * h, c
        return torch.tanh(input_gates + hidden_gates), c

    def last_hidden(self, state: RecurrentState) -> Tensor:
        """The last layer's final hidden state, both directions concatenated.

        For the forward direction that is the state after the last real step; for the
        backward direction the state after reading back to the first step.

        Args:
            state: The final state returned by :meth:`forward`.

        Returns:
            Shape ``(B, D * H)``: ``[h_forward(L_b - 1), h_backward(0)]``.
        """
        hidden = state[0] if isinstance(state, tuple) else state  # (num_layers * D, B, H)
        batch = hidden.shape[1]
        per_layer = hidden.view(self.num_layers, self.num_directions, batch, self.hidden_size)
        last = per_layer[-1]  # (D, B, H)
        return last.transpose(0, 1).reshape(batch, self.output_size)  # (B, D * H)


def check_lengths(lengths: Tensor, *, batch: int, max_length: int) -> None:
    """Check per-sample lengths against the padded batch they describe.

    Args:
        lengths: Real steps per sample, shape ``(B,)``, integer dtype.
        batch: The batch size ``B``.
        max_length: The padded length ``L``.

    Raises:
        ValueError: If the shape or dtype is wrong or a length is outside ``[1, L]``.
    """
    if lengths.ndim != 1 or lengths.shape[0] != batch:
        raise ValueError(f"expected lengths shaped ({batch},), got {tuple(lengths.shape)}")
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise ValueError(f"lengths must be an integer tensor, got dtype {lengths.dtype}")
    low, high = int(lengths.min()), int(lengths.max())
    if low < 1 or high > max_length:
        raise ValueError(
            f"lengths must lie in [1, {max_length}] (the padded length), got min {low}, "
            f"max {high}; drop empty sequences or pad to the longest one"
        )
