"""Limits on what may be generated, as masks and costs over token ids (see ``steering``)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from melodyrnn.errors import MelodyError

_TOLERANCE = 1e-6
MAX_FINAL_LEAP = 7  # semitones: a final note at most a fifth from the note before it


@dataclass(frozen=True)
class Cadence:
    """How the last bar of a melody of a given length must close.

    The final note starts on a strong beat of the last bar (``strong``: offsets in quarter
    notes from its bar line), lasts to the end, and is one of the ``final`` tokens (a stable
    degree of the key) within ``MAX_FINAL_LEAP`` semitones of the note before it, so the
    melody closes in its own register; notes before it in the last bar end on a strong beat,
    and no note crosses into the last bar. Where the vocabulary cannot do that, the register
    rule is dropped first, then the others, for that row rather than leaving it nothing to
    play.
    """

    bar: float
    strong: tuple[float, ...]
    final: torch.Tensor  # (V,) bool
    rest: torch.Tensor  # (V,) bool

    def allowed(self, costs: torch.Tensor, remaining: torch.Tensor,
                last_pitch: torch.Tensor | None = None, pitch_of: torch.Tensor | None = None
                ) -> torch.Tensor:
        """(B, V): tokens that keep each row on course for the cadence, given each row's
        last pitch (B,; -1 for none) and each token's pitch (V,; -1 for none)."""
        cost, left = costs[None, :], remaining[:, None]
        before = left > self.bar + _TOLERANCE  # not yet in the last bar: do not cross into it
        stay_out = cost <= left - self.bar + _TOLERANCE
        offset = self.bar - left  # where the row is in the last bar
        strong = torch.tensor(self.strong)
        on_strong = (offset[..., None] - strong).abs().min(-1).values < _TOLERANCE  # (B, 1)
        ends_strong = ((offset + cost)[..., None] - strong).abs().min(-1).values < _TOLERANCE
        fills = (cost - left).abs() < _TOLERANCE
        final = fills & on_strong & self.final[None, :]
        if last_pitch is not None and pitch_of is not None:
            leap = (pitch_of[None, :] - last_pitch[:, None]).abs()
            close = final & ((leap <= MAX_FINAL_LEAP) | (last_pitch[:, None] < 0))
            final = torch.where(close.any(-1, keepdim=True), close, final)
        lead_in = (cost < left - _TOLERANCE) & ends_strong & ~self.rest[None, :]
        return torch.where(before, stay_out, final | lead_in)


@dataclass(frozen=True)
class Constraints:
    """Limits on what may be generated, over token ids.

    ``allowed`` masks tokens out (probabilities of the rest are renormalised). With
    ``costs`` and ``budget`` each row stops once its tokens' costs add up to the budget
    (e.g. note durations up to a bar line), and a token that would overshoot is masked;
    with a ``cadence`` the last bar closes as it says. A row also stops at ``stop_id``
    (the end token). ``pitch_of`` (a token's pitch, -1 for rests and the end) with
    ``max_repeats`` forbids a pitch once it has sounded that many times in a row.
    """

    allowed: torch.Tensor | None = None
    costs: torch.Tensor | None = None
    budget: float | None = None
    stop_id: int | None = None
    cadence: Cadence | None = None
    pitch_of: torch.Tensor | None = None
    max_repeats: int = 0

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

    def mask(self, logits: torch.Tensor, spent: torch.Tensor,
             history: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, V) with forbidden tokens at -inf, given each row's spent budget (B,) and
        the tokens so far (B, t)."""
        if self.allowed is not None:
            logits = logits.masked_fill(~self.allowed, float("-inf"))
        if history is not None and self.max_repeats and self.pitch_of is not None:
            guarded = logits.masked_fill(self._repeated(history), float("-inf"))
            keep = torch.isfinite(guarded).any(-1, keepdim=True)  # never leave a row nothing
            logits = torch.where(keep, guarded, logits)
        if self.budget is not None and self.costs is not None:
            remaining = self.budget - spent
            too_long = self.costs[None, :] > remaining[:, None] + _TOLERANCE
            logits = logits.masked_fill(too_long, float("-inf"))
            if self.cadence is not None:
                last = self._last_pitch(history) if history is not None else None
                on_course = self.cadence.allowed(self.costs, remaining, last, self.pitch_of)
                strict = logits.masked_fill(~on_course, float("-inf"))
                keep = torch.isfinite(strict).any(-1, keepdim=True)  # else drop the rules
                logits = torch.where(keep, strict, logits)
        return logits

    def _last_pitch(self, history: torch.Tensor) -> torch.Tensor | None:
        """(B,): the pitch of each row's last pitched token (-1 if none); None without
        ``pitch_of``."""
        if self.pitch_of is None or history.shape[1] == 0:
            return None
        pitches = self.pitch_of[history]
        where = torch.where(pitches >= 0, torch.arange(history.shape[1]), -1).amax(-1)
        last = pitches.gather(1, where.clamp_min(0)[:, None]).squeeze(1)
        return torch.where(where >= 0, last, torch.full_like(last, -1))

    def _repeated(self, history: torch.Tensor) -> torch.Tensor:
        """(B, V): tokens of a pitch that each row's last ``max_repeats`` tokens all have."""
        if history.shape[1] < self.max_repeats:
            return torch.zeros(history.shape[0], len(self.pitch_of), dtype=torch.bool)
        recent = self.pitch_of[history[:, -self.max_repeats:]]
        same = (recent == recent[:, :1]).all(-1) & (recent[:, 0] >= 0)
        return same[:, None] & (self.pitch_of[None, :] == recent[:, :1])

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


NO_CONSTRAINTS = Constraints()
