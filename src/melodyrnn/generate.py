"""Autoregressive generation: sampling as small functions over logits, state carried step by step.

A *feed* says how a model consumes its own history: ``StreamFeed`` gives each new token
once (recurrent state holds the past); ``WindowFeed`` gives the last W tokens every step,
as the classic window-trained stateful models were trained. Neither recomputes the prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from melodyrnn.errors import MelodyError
from melodyrnn.memory import ShortTermMemory
from melodyrnn.models import SequenceModel, State

# --- sampling: pure functions over logits (B, V) ------------------------------------------

def scale_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Logits divided by a positive temperature (higher = more random)."""
    return logits / temperature


def keep_top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Logits with all but the ``k`` largest per row set to -inf (k <= 0 keeps all)."""
    if k <= 0 or k >= logits.shape[-1]:
        return logits
    threshold = logits.topk(k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < threshold, float("-inf"))


def keep_top_p(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Logits outside the smallest set whose probability reaches ``p`` set to -inf (p >= 1 keeps all)."""
    if p >= 1.0:
        return logits
    ordered, order = logits.sort(dim=-1, descending=True)
    cumulative = ordered.softmax(-1).cumsum(-1)
    drop_sorted = cumulative - ordered.softmax(-1) >= p  # keep the token that crosses p
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen: temperature 0 means always the most likely."""

    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise MelodyError(f"--temperature {self.temperature}: expected 0 or more")
        if not 0 < self.top_p <= 1:
            raise MelodyError(f"--top-p {self.top_p}: expected a value in (0, 1]")
        if self.top_k < 0:
            raise MelodyError(f"--top-k {self.top_k}: expected 0 (off) or more")

    def choose(self, logits: torch.Tensor, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        """Next token ids (B,) from logits (B, V)."""
        if self.temperature == 0:
            return logits.argmax(-1)
        logits = keep_top_p(keep_top_k(scale_temperature(logits, self.temperature), self.top_k),
                            self.top_p)
        return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(-1)


# --- feeds: how history goes into the model --------------------------------------------------

class StreamFeed:
    """Each token is given once; the model's state remembers the rest."""

    min_primer = 1

    def start(self, model: SequenceModel, primer: torch.Tensor) -> tuple[torch.Tensor, State]:
        """Logits after the primer (B, P) and the state to continue from."""
        output, state = model(primer)
        return output[:, -1], state

    def step(self, model: SequenceModel, history: torch.Tensor, state: State
             ) -> tuple[torch.Tensor, State]:
        """Logits after the newest token of ``history`` (B, t)."""
        output, state = model(history[:, -1:], state)
        return output[:, -1], state

    def all_logits(self, model: SequenceModel, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits after every prefix of ``tokens`` (B, T): one forward pass."""
        return model(tokens)[0]


@dataclass(frozen=True)
class WindowFeed:
    """The last ``width`` tokens are given every step, with state carried between windows."""

    width: int

    @property
    def min_primer(self) -> int:
        return self.width

    def start(self, model: SequenceModel, primer: torch.Tensor) -> tuple[torch.Tensor, State]:
        state, logits = None, None
        for begin in range(primer.shape[1] - self.width + 1):
            output, state = model(primer[:, begin : begin + self.width], state)
            logits = output[:, -1]
        return logits, state

    def step(self, model: SequenceModel, history: torch.Tensor, state: State
             ) -> tuple[torch.Tensor, State]:
        output, state = model(history[:, -self.width :], state)
        return output[:, -1], state

    def all_logits(self, model: SequenceModel, tokens: torch.Tensor) -> torch.Tensor:
        """Logits after each full window of ``tokens``; earlier positions are NaN."""
        logits, state = self.start(model, tokens[:, : self.width])
        rows = [torch.full_like(logits, float("nan"))] * (self.width - 1) + [logits]
        for end in range(self.width + 1, tokens.shape[1] + 1):
            logits, state = self.step(model, tokens[:, :end], state)
            rows.append(logits)
        return torch.stack(rows, dim=1)


FEEDS = {"stream": lambda width: StreamFeed(), "windows": WindowFeed}


def feed_for(batching: str, width: int) -> StreamFeed | WindowFeed:
    """The feed that matches how a model was trained."""
    return FEEDS[batching](width)


@dataclass(frozen=True)
class Constraints:
    """Limits on what may be generated, over token ids.

    ``allowed`` masks tokens out (probabilities of the rest are renormalised). With
    ``costs`` and ``budget`` each row stops once its tokens' costs add up to the budget
    (e.g. note durations up to a bar line), and a token that would overshoot is masked.
    A row also stops at ``stop_id`` (the end token).
    """

    allowed: torch.Tensor | None = None
    costs: torch.Tensor | None = None
    budget: float | None = None
    stop_id: int | None = None

    def check(self) -> None:
        """Raise MelodyError if the constraints leave no token to generate."""
        if self.allowed is not None and not bool(self.allowed.any()):
            raise MelodyError("the constraints leave no allowed token: widen --key/--range or "
                              "check the model's vocabulary")
        if self.budget is not None and self.costs is not None:
            usable = self.costs <= self.budget + _TOLERANCE
            if self.allowed is not None:
                usable &= self.allowed
            if not bool(usable.any()):
                raise MelodyError("no allowed token fits in the requested length")

    def mask(self, logits: torch.Tensor, spent: torch.Tensor) -> torch.Tensor:
        """Logits (B, V) with forbidden tokens at -inf, given each row's spent budget (B,)."""
        if self.allowed is not None:
            logits = logits.masked_fill(~self.allowed, float("-inf"))
        if self.budget is not None and self.costs is not None:
            too_long = self.costs[None, :] > (self.budget - spent)[:, None] + _TOLERANCE
            logits = logits.masked_fill(too_long, float("-inf"))
        return logits

    def finished(self, chosen: torch.Tensor, spent: torch.Tensor) -> torch.Tensor:
        """Rows (B,) that are complete after choosing ``chosen``."""
        done = torch.zeros_like(chosen, dtype=torch.bool)
        if self.stop_id is not None:
            done |= chosen == self.stop_id
        if self.budget is not None:
            done |= spent >= self.budget - _TOLERANCE
        return done

    def spend(self, chosen: torch.Tensor) -> torch.Tensor:
        """Cost (B,) of the chosen tokens."""
        return self.costs[chosen] if self.costs is not None else torch.zeros(len(chosen))


_TOLERANCE = 1e-6
NO_CONSTRAINTS = Constraints()


def _trim(rows: list[list[int]], lengths: list[int], stop_id: int | None) -> list[list[int]]:
    """Rows cut to their generated length, without the end token."""
    cut = [row[:n] for row, n in zip(rows, lengths)]
    return [row[:-1] if stop_id is not None and row and row[-1] == stop_id else row
            for row in cut]


@torch.no_grad()
def generate(model: SequenceModel, primer: Sequence[int], length: int,
             sampling: Sampling = Sampling(), feed: StreamFeed | WindowFeed | None = None,
             num_outputs: int = 1, constraints: Constraints = NO_CONSTRAINTS,
             generator: torch.Generator | None = None, memory: float = 0.0) -> list[list[int]]:
    """``num_outputs`` continuations of ``primer`` of up to ``length`` new tokens, in one batch.

    ``memory`` > 0 reweights every prediction by a short-term model of the row's own tokens,
    with that weight (see ``memory.ShortTermMemory``): it favours motifs the melody has
    already played.
    """
    feed = feed or StreamFeed()
    _check_primer(primer, feed)
    constraints.check()
    model.eval()
    start = len(primer)
    # The history is filled in place and feeds see a growing view of it: no copy per step.
    history = torch.empty(num_outputs, start + length, dtype=torch.long)
    history[:, :start] = torch.as_tensor(list(primer), dtype=torch.long)
    # Without a budget or an end token no row can finish early: skip that bookkeeping.
    budgeted = constraints.budget is not None and constraints.costs is not None
    stops = constraints.budget is not None or constraints.stop_id is not None
    finished = torch.zeros(num_outputs, dtype=torch.bool)
    spent = torch.zeros(num_outputs)
    lengths = torch.full((num_outputs,), length)  # kept as a tensor: no sync per step
    logits, state = feed.start(model, history[:, :start])
    recall = ShortTermMemory(logits.shape[-1], num_outputs, primer, memory) if memory else None
    steps = 0
    for step in range(length):
        if recall is not None:
            logits = recall.adjust(logits)
        masked = constraints.mask(logits, spent)
        if budgeted:  # only a budget can leave a row nothing that fits: the row ends here
            dead_end = ~torch.isfinite(masked).any(-1) & ~finished
            lengths = lengths.masked_fill(dead_end, step)
            finished |= dead_end
        if stops:
            masked = masked.masked_fill(finished[:, None], 0.0)  # finished rows emit a filler
        chosen = sampling.choose(masked, generator)
        if stops:
            if budgeted:
                spent = spent + constraints.spend(chosen).masked_fill(finished, 0.0)
            done_now = constraints.finished(chosen, spent) & ~finished
            lengths = lengths.masked_fill(done_now, step + 1)
            finished |= done_now
        history[:, start + step] = chosen
        if recall is not None:
            recall.observe(chosen)
        steps = step + 1
        if step == length - 1 or (stops and bool(finished.all())):
            break
        logits, state = feed.step(model, history[:, : start + steps], state)
    if steps == 0:
        return [[] for _ in range(num_outputs)]
    return _trim(history[:, start : start + steps].tolist(), lengths.tolist(),
                 constraints.stop_id)


@torch.no_grad()
def beam_search(model: SequenceModel, primer: Sequence[int], length: int, beams: int,
                feed: StreamFeed | WindowFeed | None = None, num_outputs: int = 1,
                constraints: Constraints = NO_CONSTRAINTS) -> list[list[int]]:
    """The ``num_outputs`` most probable continuations found by a beam of width ``beams``.

    Every beam is scored by the sum of its tokens' log-probabilities (after constraints);
    finished beams keep their score while the others grow.
    """
    if num_outputs > beams:
        raise MelodyError(f"--num-outputs {num_outputs} exceeds --beam {beams}")
    feed = feed or StreamFeed()
    _check_primer(primer, feed)
    constraints.check()
    model.eval()
    history = torch.as_tensor([list(primer)], dtype=torch.long)
    logits, state = feed.start(model, history)
    scores = torch.zeros(1)
    finished = torch.zeros(1, dtype=torch.bool)
    spent = torch.zeros(1)
    lengths = torch.zeros(1, dtype=torch.long)
    for step in range(length):
        log_probs = constraints.mask(logits, spent).log_softmax(-1)
        log_probs = torch.nan_to_num(log_probs, nan=float("-inf"))
        # A finished beam has one way on: a filler token (id 0) at no cost.
        log_probs[finished] = float("-inf")
        log_probs[finished, 0] = 0.0
        candidates = (scores[:, None] + log_probs).flatten()
        top = candidates.topk(min(beams, int(torch.isfinite(candidates).sum()))).indices
        if len(top) == 0:
            break
        vocab = log_probs.shape[-1]
        parent, chosen = top // vocab, top % vocab
        scores, history = candidates[top], torch.cat([history[parent], chosen[:, None]], dim=1)
        was_finished = finished[parent]
        spent = spent[parent] + constraints.spend(chosen).masked_fill(was_finished, 0.0)
        lengths = lengths[parent] + (~was_finished).long()
        finished = was_finished | constraints.finished(chosen, spent)
        state = model.reorder_state(state, parent)
        if bool(finished.all()) or step == length - 1:
            break
        logits, state = feed.step(model, history, state)
    best = scores.argsort(descending=True)[:num_outputs]
    rows = history[best, len(primer):].tolist()
    return _trim(rows, lengths[best].tolist(), constraints.stop_id)


def _check_primer(primer: Sequence[int], feed: StreamFeed | WindowFeed) -> None:
    if len(primer) < feed.min_primer:
        raise MelodyError(f"the seed has {len(primer)} tokens; this model needs at least "
                          f"{feed.min_primer}")
