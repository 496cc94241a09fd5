"""Autoregressive generation: sampled or beam-searched continuations, state carried step by step.

``generate`` draws a batch of continuations with ``Sampling`` under ``Constraints``;
``beam_search`` finds the most probable ones. Both consume the model through a feed
(``models.feeds``), so the prefix is never recomputed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from melodyrnn.errors import MelodyError
from melodyrnn.generation.constraints import NO_CONSTRAINTS, Constraints
from melodyrnn.generation.echo import Echo
from melodyrnn.generation.form import FormPlan
from melodyrnn.generation.memory import ShortTermMemory
from melodyrnn.generation.sampling import Sampling
from melodyrnn.models.feeds import StreamFeed, WindowFeed
from melodyrnn.models.network import SequenceModel


def _trim(rows: list[list[int]], lengths: list[int], stop_id: int | None) -> list[list[int]]:
    """Rows cut to their generated length, without the end token."""
    cut = [row[:n] for row, n in zip(rows, lengths)]
    return [row[:-1] if stop_id is not None and row and row[-1] == stop_id else row
            for row in cut]


@torch.no_grad()
def generate(model: SequenceModel, primer: Sequence[int], length: int,
             sampling: Sampling = Sampling(), feed: StreamFeed | WindowFeed | None = None,
             num_outputs: int = 1, constraints: Constraints = NO_CONSTRAINTS,
             generator: torch.Generator | Sequence[torch.Generator] | None = None,
             memory: float = 0.0, echo: float = 0.0,
             plan: FormPlan | None = None) -> list[list[int]]:
    """``num_outputs`` continuations of ``primer`` of up to ``length`` new tokens, in one batch.

    With one ``generator`` per row, row i is what a batch of one with that generator gives.

    ``memory`` > 0 reweights every prediction by a short-term model of the row's own tokens,
    with that weight (see ``memory.ShortTermMemory``): it favours motifs the melody has
    already played. ``echo`` > 0 raises the note that would carry on a passage the row played
    before by that many nats (see ``echo.Echo``). A ``plan`` (one form per row) raises the
    notes that repeat the bars its forms repeat (see ``form.FormPlan``).
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
    echoes = Echo(echo) if echo else None
    steps = 0
    for step in range(length):
        if recall is not None:
            logits = recall.adjust(logits)
        if echoes is not None:
            logits = echoes.adjust(logits, history[:, : start + step])
        if plan is not None:
            logits = plan.adjust(logits, history[:, : start + step])
        masked = constraints.mask(logits, spent, history[:, : start + step])
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
        log_probs = constraints.mask(logits, spent, history).log_softmax(-1)
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
        state = feed.reorder(model, state, parent)
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
