"""A baseline generator for the two-sample test: an order-2 Markov chain over notes.

Its states are the last two notes (pitch and duration, rests included, as the note codec's
tokens are), counted over the training melodies, with the end of a melody as one more
outcome. A context never seen backs off to the last note alone, then to the notes' overall
frequencies. It knows nothing of metre or key: what it gets right comes from the notes.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from melodyrnn.music.melody import Melody, Note

ORDER = 2

Outcome = Note | None  # None: the melody ends


class MarkovChain:
    """Counts of what followed every context of up to ``order`` notes in the training melodies."""

    def __init__(self, order: int = ORDER) -> None:
        self.order = order
        self.counts: dict[tuple[Note, ...], Counter[Outcome]] = {}

    @classmethod
    def fit(cls, melodies: Sequence[Melody], order: int = ORDER) -> MarkovChain:
        """A chain counted over the notes of melodies."""
        chain = cls(order)
        for melody in melodies:
            notes: list[Outcome] = [*melody.notes, None]
            for i, outcome in enumerate(notes):
                for length in range(min(order, i) + 1):
                    context = tuple(melody.notes[i - length : i])
                    chain.counts.setdefault(context, Counter())[outcome] += 1
        return chain

    def next_outcome(self, notes: Sequence[Note], rng: random.Random) -> Outcome:
        """A next note (or None: the end) drawn after notes, from the longest known context."""
        for length in range(min(self.order, len(notes)), -1, -1):
            counts = self.counts.get(tuple(notes[len(notes) - length :]))
            if counts:
                return rng.choices(list(counts), weights=list(counts.values()))[0]
        return None

    def continue_melody(self, opening: Melody, length: int, rng: random.Random) -> Melody:
        """The opening continued by up to ``length`` notes, until the chain ends the melody."""
        notes = list(opening.notes)
        for _ in range(length):
            outcome = self.next_outcome(notes, rng)
            if outcome is None:
                break
            notes.append(outcome)
        return opening.with_notes(notes)
