"""A melody's form: which bars repeat which earlier bars, and the book of forms a model keeps."""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction as Fr

import pytest

from melodyrnn.errors import MelodyError
from melodyrnn.music.form import MAX_FORMS, NO_REPEAT, FormBook, describe_form, repeated_bars
from melodyrnn.music.melody import Melody, Note

Q = Fr(1)


def bars_of(*bars: tuple[int, ...], metre=(2, 4), pickup: tuple[int, ...] = ()) -> Melody:
    """A melody of quarter notes, given bar by bar as pitches (None: a rest)."""
    notes = [Note(p, Q) for p in pickup] + [Note(p, Q) for bar in bars for p in bar]
    return Melody(tuple(notes), time_signature=metre, pickup=Fr(len(pickup)))


def test_each_bar_points_to_the_nearest_earlier_bar_it_repeats_exactly():
    a, b, c = (60, 62), (64, 65), (67, 60)
    assert repeated_bars(bars_of(a, b, a, c, a, b)) == (NO_REPEAT, NO_REPEAT, 0, NO_REPEAT, 2, 1)


def test_a_bar_with_the_same_pitches_in_another_rhythm_is_no_repeat():
    melody = Melody((Note(60, Q), Note(62, Q), Note(60, Fr(3, 2)), Note(62, Fr(1, 2))),
                    time_signature=(2, 4))
    assert repeated_bars(melody) == (NO_REPEAT, NO_REPEAT)


def test_bars_are_counted_from_the_first_bar_line_after_the_pickup():
    melody = bars_of((60, 62), (64, 65), (60, 62), pickup=(55,))
    assert repeated_bars(melody) == (NO_REPEAT, NO_REPEAT, 0)


def test_a_bar_in_which_no_note_starts_repeats_nothing():
    held = Melody((Note(60, Fr(2)), Note(62, Fr(4)), Note(60, Fr(2))), time_signature=(2, 4))
    # bar 2 is the second half of the held d: nothing starts there, so nothing repeats it
    assert repeated_bars(held) == (NO_REPEAT, NO_REPEAT, NO_REPEAT, 0)


def test_the_book_files_distinct_forms_by_metre_with_their_counts():
    aaba = bars_of((60, 62), (60, 62), (64, 65), (60, 62))
    waltz = bars_of((60, 62, 64), (60, 62, 64), metre=(3, 4))
    book = FormBook.of([aaba, aaba, waltz, bars_of((60, 62))])  # one bar: no form
    assert book.to_plain() == {"2/4": [[2, -1, 0, -1, 1]], "3/4": [[1, -1, 0]]}
    assert FormBook.from_plain(book.to_plain()).to_plain() == book.to_plain()


def test_forms_are_drawn_as_often_as_they_occurred_and_only_in_their_metre():
    book = FormBook({"2/4": [[3, -1, 0], [1, -1, -1]], "3/4": [[1, -1, -1, 0]]})
    rng = random.Random(0)
    drawn = Counter(book.draw((2, 4), rng) for _ in range(4000))
    assert set(drawn) == {(-1, 0), (-1, -1)}
    assert 2.6 < drawn[(-1, 0)] / drawn[(-1, -1)] < 3.4
    assert book.draw((6, 8), rng) is None


@pytest.mark.parametrize("plain", [
    [[1, -1, 0]],                      # not a table of metres
    {"2/4": [[1, -1, 1]]},             # bar 1 cannot repeat itself
    {"2/4": [[1, -1, 5]]},             # nor a later bar
    {"2/4": [[0, -1, 0]]},             # a form that never occurred
    {"2/4": [[1, -1, 0.5]]},           # not a bar number
    {"2/4": [[1]]},                    # no bars
    {"2/4": [[1, -1, 0]] * (MAX_FORMS + 1)},
])
def test_a_malformed_book_is_refused_by_name(plain):
    with pytest.raises(MelodyError, match="forms"):
        FormBook.from_plain(plain)


def test_a_length_in_bars_draws_from_tunes_of_that_length_first():
    book = FormBook({"2/4": [[5, -1, 0], [1, -1, -1, 0, 1], [1, -1, -1, -1, 0, 1, 2]]})
    rng = random.Random(0)
    assert {book.draw((2, 4), rng, bars=4) for _ in range(50)} == {(-1, -1, 0, 1)}
    # no tune of 5 bars: the longer one, cut to 5
    assert {book.draw((2, 4), rng, bars=5) for _ in range(50)} == {(-1, -1, -1, 0, 1)}
    # none as long as 9: any of them, as often as they occurred
    assert len({book.draw((2, 4), rng, bars=9) for _ in range(200)}) == 3


def test_forms_are_described_in_bars_as_musicians_count_them():
    assert describe_form((NO_REPEAT, NO_REPEAT, 0, NO_REPEAT, 2)) == \
        "bar 3 repeats bar 1, bar 5 repeats bar 3"
    assert describe_form((NO_REPEAT, NO_REPEAT, 0, NO_REPEAT, 2), first_bar=3) == \
        "bar 5 repeats bar 3"
    assert describe_form((NO_REPEAT, NO_REPEAT)) == ""
    long = (NO_REPEAT, *range(11))  # every bar repeats the one before
    assert describe_form(long, most=2) == "bar 2 repeats bar 1, bar 3 repeats bar 2 and 9 more"
