"""Graph attention (Velickovic et al., ICLR 2018), equal to PyG's ``GATConv``.

Each head ``k`` projects the nodes, ``z_i = W^k h_i``, scores every edge ``j -> i`` with
``e_ij = LeakyReLU(a_src . z_j + a_dst . z_i)`` (Eq. 1-3 of the paper, slope 0.2), turns
the scores into weights by a softmax over the edges into ``i`` and sums the weighted
messages. Hidden layers concatenate the ``H`` heads (Eq. 5); the output layer averages
them (Eq. 6). As in PyG, existing self-loops are removed and one added per node, so every
node attends to itself.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .gcn_conv import glorot_
from .graph_ops import add_self_loops, check_graph, remove_self_loops, scatter_softmax, scatter_sum


class GATConv(nn.Module):
    """Multi-head graph attention: message, attention softmax per target node, aggregation.

    Parameters and their names are PyG's (``lin.weight`` ``(H*F_out, F_in)``, ``att_src``
    and ``att_dst`` ``(1, H, F_out)``, ``bias``), so a ``GATConv`` state dict loads as it is.
    Shapes: ``(N, F_in), (2, E) -> (N, H * F_out)`` with ``concat``, else ``(N, F_out)``;
    cost ``O(N F_in H F_out + (E + N) H F_out)``.

    Args:
        in_features: ``F_in``.
        out_features: ``F_out`` per head.
        heads: ``H`` attention heads.
        concat: Concatenate the heads (hidden layers); False averages them (output layer).
        negative_slope: Slope of the LeakyReLU on the scores (0.2 in the paper).
        dropout: Dropout on the attention weights while training (0.6 in the paper).
        bias: Add a learned bias after aggregating.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        heads: int = 1,
        concat: bool = True,
        negative_slope: float = 0.2,
        dropout: float = 0.0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.heads = heads
        self.concat = concat
        self.negative_slope = negative_slope
        self.dropout = dropout
        self.lin = nn.Linear(in_features, heads * out_features, bias=False)
        self.att_src = nn.Parameter(torch.empty(1, heads, out_features))
        self.att_dst = nn.Parameter(torch.empty(1, heads, out_features))
        width = heads * out_features if concat else out_features
        self.bias = nn.Parameter(torch.zeros(width)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot weights and attention vectors, a zero bias, as PyG initialises them."""
        glorot_(self.lin.weight)
        glorot_(self.att_src)
        glorot_(self.att_dst)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    @property
    def out_width(self) -> int:
        """Features per node of the output: ``H * F_out`` with ``concat``, else ``F_out``."""
        return self.heads * self.out_features if self.concat else self.out_features

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Attend over every node's incoming edges and its self-loop.

        Args:
            x: Node features ``(N, F_in)``.
            edge_index: Edges ``(2, E)``.

        Returns:
            ``(N, H * F_out)`` with ``concat``, else ``(N, F_out)``.
        """
        check_graph(x, edge_index, self.in_features)
        num_nodes = x.shape[0]
        edges = add_self_loops(remove_self_loops(edge_index), num_nodes)
        source, target = edges[0], edges[1]
        z = self.lin(x).view(num_nodes, self.heads, self.out_features)  # (N, H, F_out)
        score_src = (z * self.att_src).sum(-1)  # (N, H)
        score_dst = (z * self.att_dst).sum(-1)  # (N, H)
        # Edge scores e_ij and their softmax over the edges into each target i (Eq. 3).
        scores = F.leaky_relu(score_src[source] + score_dst[target], self.negative_slope)
        alpha = scatter_softmax(scores, target, num_nodes)  # (E + N, H)
        alpha = F.dropout(alpha, self.dropout, self.training)
        messages = z[source] * alpha.unsqueeze(-1)  # message: (E + N, H, F_out)
        out = scatter_sum(messages, target, num_nodes)  # aggregate: (N, H, F_out)
        if self.concat:  # update
            out = out.reshape(num_nodes, self.heads * self.out_features)  # (N, H * F_out)
        else:
            out = out.mean(dim=1)  # (N, F_out)
        if self.bias is not None:
            out = out + self.bias
        return out
