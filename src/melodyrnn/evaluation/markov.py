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
END = -1  # the outcome "the melody ends here"
UNKNOWN = -2  # a note the chain never saw: no context holding it was counted


class MarkovChain:
    """Counts of what followed every context of up to ``order`` notes in the training melodies."""

    def __init__(self, order: int = ORDER) -> None:
        self.order = order
        self.notes: list[Note] = []  # the notes seen, by id
        self.ids: dict[Note, int] = {}
        self.counts: dict[tuple[int, ...], dict[int, int]] = {}

    @classmethod
    def fit(cls, melodies: Sequence[Melody], order: int = ORDER) -> MarkovChain:
        """A chain counted over the notes of melodies."""
        chain = cls(order)
        grams: Counter[tuple[tuple[int, ...], int]] = Counter()
        for melody in melodies:
            ids = [chain.ids.setdefault(n, len(chain.ids)) for n in melody.notes] + [END]
            for length in range(order + 1):
                grams.update((tuple(ids[i - length : i]), ids[i]) for i in range(length, len(ids)))
        chain.notes = list(chain.ids)
        for (context, outcome), count in grams.items():
            chain.counts.setdefault(context, {})[outcome] = count
        return chain

    def next_outcome(self, notes: Sequence[Note], rng: random.Random) -> Note | None:
        """A next note (or None: the end) drawn after notes, from the longest known context."""
        ids = [self.ids.get(n, UNKNOWN) for n in notes[len(notes) - self.order :]]
        for length in range(len(ids), -1, -1):
            counts = self.counts.get(tuple(ids[len(ids) - length :]))
            if counts:
                outcome = rng.choices(list(counts), weights=list(counts.values()))[0]
                return None if outcome == END else self.notes[outcome]
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
