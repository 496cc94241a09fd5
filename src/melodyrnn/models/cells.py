"""LSTM variants from the classic literature, written out gate by gate.

- ``peephole`` (Gers & Schmidhuber 2000): the input and forget gates see the previous cell
  state, the output gate the new one.
- ``cifg`` (coupled input and forget gate, Greff et al. 2017): one gate decides both how
  much to write and how much to keep, f = 1 - i.

Both keep torch's LSTM state layout, ``(h, c)`` each (layers, batch, hidden), so they drop
into ``SequenceModel`` like ``nn.LSTM``. Input projections are computed for the whole
sequence at once; only the recurrent part loops over time.
"""

from __future__ import annotations

import torch
from torch import nn


class GateLayer(nn.Module):
    """One layer of a peephole or coupled-gate LSTM."""

    def __init__(self, input_size: int, hidden: int, variant: str) -> None:
        super().__init__()
        self.variant, self.hidden = variant, hidden
        gates = 3 if variant == "cifg" else 4  # cifg has no separate forget gate
        self.input_weights = nn.Linear(input_size, gates * hidden)
        self.recurrent_weights = nn.Linear(hidden, gates * hidden, bias=False)
        if variant == "peephole":
            self.peep_input = nn.Parameter(torch.zeros(hidden))
            self.peep_forget = nn.Parameter(torch.zeros(hidden))
            self.peep_output = nn.Parameter(torch.zeros(hidden))

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Outputs (B, T, H) for inputs (B, T, E), and the last h and c (B, H)."""
        projected = self.input_weights(x)
        outputs = []
        for t in range(x.shape[1]):
            z = projected[:, t] + self.recurrent_weights(h)
            if self.variant == "peephole":
                i, f, g, o = z.chunk(4, dim=-1)
                i = torch.sigmoid(i + self.peep_input * c)
                f = torch.sigmoid(f + self.peep_forget * c)
                c = f * c + i * torch.tanh(g)
                o = torch.sigmoid(o + self.peep_output * c)
            else:
                i, g, o = z.chunk(3, dim=-1)
                i = torch.sigmoid(i)
                c = (1 - i) * c + i * torch.tanh(g)
                o = torch.sigmoid(o)
            h = o * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h, c


class GateLSTMCore(nn.Module):
    """Stacked peephole or coupled-gate LSTM layers with torch's (h, c) state layout."""

    batch_dim = 1

    def __init__(self, input_size: int, config, variant: str) -> None:
        super().__init__()
        sizes = [input_size] + [config.hidden] * (config.layers - 1)
        self.layers = nn.ModuleList(GateLayer(size, config.hidden, variant) for size in sizes)
        self.dropout = nn.Dropout(config.dropout if config.layers > 1 else 0.0)
        self.hidden = config.hidden

    def forward(self, x: torch.Tensor, state=None):
        if state is None:
            zeros = x.new_zeros(len(self.layers), x.shape[0], self.hidden)
            state = (zeros, zeros)
        h_all, c_all = state
        hs, cs = [], []
        for index, layer in enumerate(self.layers):
            if index > 0:
                x = self.dropout(x)
            x, h, c = layer(x, h_all[index], c_all[index])
            hs.append(h)
            cs.append(c)
        return x, (torch.stack(hs), torch.stack(cs))
