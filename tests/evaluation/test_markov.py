"""The order-2 Markov chain baseline of the two-sample test."""

from __future__ import annotations

import random

from melodyrnn.evaluation.markov import MarkovChain
from melodyrnn.music.notation import parse_text, parse_tokens


def test_a_chain_of_one_melody_replays_it_where_every_context_is_unique():
    (song,) = parse_text("\\time 3/4\nc4 d4 e4 f4 g4 a4 b4 c'2.")
    chain = MarkovChain.fit([song])
    continued = chain.continue_melody(song.with_notes(song.notes[:2]), 20, random.Random(0))
    assert continued == song  # stops at the end, as the melody did, and keeps its metre


def test_continuations_follow_two_notes_of_context():
    # After "c d" comes e or f; after "d e" always c, after "d f" always g.
    songs = [parse_tokens("c4 d4 e4 c4"), parse_tokens("c4 d4 f4 g4")]
    chain = MarkovChain.fit(songs)
    rng = random.Random(1)
    outcomes = {chain.next_outcome(songs[0].notes[:2], rng) for _ in range(50)}
    assert outcomes == {songs[0].notes[2], songs[1].notes[2]}
    assert chain.next_outcome(songs[0].notes[1:3], rng) == songs[0].notes[3]


def test_an_unseen_context_backs_off_to_shorter_ones():
    chain = MarkovChain.fit([parse_tokens("c4 d4 e4")])
    rng = random.Random(0)
    # "g a" was never seen, nor "a": the chain falls back to the notes' frequencies.
    assert chain.next_outcome(parse_tokens("g4 a4").notes, rng) in (*parse_tokens("c4 d4 e4").notes, None)


def test_length_caps_the_continuation():
    song = parse_tokens("c4 c4 c4 c4 c4 c4 c4 c4")
    chain = MarkovChain.fit([song])
    assert len(chain.continue_melody(song.with_notes(song.notes[:2]), 3, random.Random(0))) <= 5
