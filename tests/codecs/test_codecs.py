"""Codecs: deterministic vocabularies, paired encode/decode, plain-dict form, clear unknowns."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from melodyrnn.codecs.notes import NoteCodec, duration_of
from melodyrnn.codecs.registry import codec_from_dict
from melodyrnn.codecs.text import CharCodec
from melodyrnn.codecs.tokens import END
from melodyrnn.errors import MelodyError, VocabularyError
from melodyrnn.music.melody import Melody, Note
from melodyrnn.music.notation import note_text, parse_text


def test_nabiya_uses_nine_distinct_tokens(nabiya):
    codec = NoteCodec.fit([nabiya])
    assert codec.vocab_size == 9
    assert set(codec.tokens) == {note_text(n) for n in nabiya.notes}
    assert set(codec.tokens) == {"c8", "d8", "e8", "f8", "g8", "d4", "e4", "f4", "g4"}


def test_fitted_order_is_longest_first_then_by_pitch(nabiya):
    codec = NoteCodec.fit([nabiya])
    fitted = [parse_text(token)[0].notes[0] for token in codec.tokens]
    keys = [(-n.duration, n.pitch) for n in fitted]
    assert keys == sorted(keys)


def test_fitted_order_does_not_depend_on_song_order_or_repetition(nabiya):
    shuffled = nabiya.with_notes(tuple(reversed(nabiya.notes)) + nabiya.notes[:5])
    assert NoteCodec.fit([nabiya]).tokens == NoteCodec.fit([shuffled]).tokens
    assert NoteCodec.fit([nabiya, shuffled]).tokens == NoteCodec.fit([shuffled, nabiya]).tokens


def test_rests_sort_after_pitches_of_the_same_duration():
    (melody,) = parse_text("r4 c'4 c,4")
    assert NoteCodec.fit([melody]).tokens == ["c,4", "c'4", "r4"]


def test_classic_table_is_the_tutorials_code2idx():
    codec = NoteCodec.classic()
    expected = ["c4", "d4", "e4", "f4", "g4", "a4", "b4", "c8", "d8", "e8", "f8", "g8", "a8", "b8"]
    assert codec.vocab_size == 14
    assert codec.code2idx == {token: i for i, token in enumerate(expected)}
    assert codec.idx2code == dict(enumerate(expected))


def test_classic_table_covers_nabiya(nabiya):
    codec = NoteCodec.classic()
    ids = codec.encode(nabiya)
    assert len(ids) == 54
    assert set(NoteCodec.fit([nabiya]).tokens) < set(codec.tokens)
    assert codec.decode(ids, like=nabiya) == nabiya


def test_encode_then_decode_gives_the_melody_back(nabiya):
    codec = NoteCodec.fit([nabiya])
    ids = codec.encode(nabiya)
    assert len(ids) == len(nabiya)
    assert all(0 <= i < codec.vocab_size for i in ids)
    assert codec.decode(ids, like=nabiya) == nabiya


def test_decode_takes_tempo_metre_and_key_from_like(nabiya):
    codec = NoteCodec.fit([nabiya])
    bare = codec.decode(codec.encode(nabiya))
    assert bare.notes == nabiya.notes
    assert (bare.tempo, bare.time_signature, bare.key) == (120, (4, 4), None)


note_strategy = st.builds(Note, st.one_of(st.none(), st.integers(0, 127)),
                          st.fractions(min_value=Fraction(1, 48), max_value=Fraction(12),
                                       max_denominator=48))


@given(st.lists(note_strategy, min_size=1, max_size=30))
def test_any_melody_encodes_and_decodes_exactly(notes):
    melody = Melody(tuple(notes))
    codec = NoteCodec.fit([melody])
    assert codec.vocab_size == len(set(notes))
    assert codec.decode(codec.encode(melody)) == melody


def test_end_token_is_appended_and_decoding_stops_at_it(nabiya):
    codec = NoteCodec.fit([nabiya], end_token=True)
    assert codec.tokens[-1] == END and codec.vocab_size == 10
    ids = codec.encode(nabiya)
    assert ids[-1] == codec.end_id and len(ids) == 55
    assert codec.decode([*ids, 0, 1, 2]).notes == nabiya.notes


def test_codec_without_end_token_has_no_end_id(nabiya):
    assert NoteCodec.fit([nabiya]).end_id is None


@pytest.mark.parametrize("codec", [NoteCodec.classic(), NoteCodec(["g8", "e4"], end_token=True),
                                   CharCodec.fit(["나비야 나비야"])])
def test_plain_dict_form_rebuilds_the_same_codec(codec):
    data = codec.to_dict()
    assert all(isinstance(t, str) for t in data["tokens"])
    rebuilt = codec_from_dict(data)
    assert type(rebuilt) is type(codec)
    assert rebuilt.tokens == codec.tokens and rebuilt.end_id == codec.end_id


def test_unknown_codec_kind_is_an_error():
    with pytest.raises(MelodyError, match="unknown codec kind 'pictures'"):
        codec_from_dict({"kind": "pictures", "tokens": []})


def test_unknown_token_is_an_error_listing_the_known_tokens(nabiya):
    codec = NoteCodec.fit([nabiya])
    with pytest.raises(VocabularyError) as info:
        codec.encode(parse_text("g8 a8 e4 b4")[0], source="seed")
    message = str(info.value)
    assert message.startswith("seed: 'a8' 'b4' never seen in training")
    assert message.endswith("the model knows: " + " ".join(codec.tokens))


def test_end_token_is_not_listed_as_a_known_token():
    codec = NoteCodec(["g8"], end_token=True)
    with pytest.raises(VocabularyError) as info:
        codec.ids(["a8"])
    assert END not in str(info.value)


def test_duplicate_tokens_are_refused():
    with pytest.raises(MelodyError, match="distinct"):
        NoteCodec(["c4", "c4"])


def test_fitting_nothing_is_an_error():
    with pytest.raises(MelodyError):
        NoteCodec.fit([])
    with pytest.raises(MelodyError):
        CharCodec.fit([""])


def test_duration_of_reads_a_token():
    assert duration_of("g8.") == Fraction(3, 4)


# --- characters -------------------------------------------------------------------------------

LYRICS = "나비야 나비야 이리 날아오너라"


def test_char_codec_orders_by_frequency_then_code_point():
    codec = CharCodec.fit([LYRICS])
    assert codec.tokens[:4] == [" ", "나", "비", "야"]  # 3 spaces; 나, 비, 야 twice each
    counts = [LYRICS.count(t) for t in codec.tokens]
    assert counts == sorted(counts, reverse=True)
    assert set(codec.tokens) == set(LYRICS)


def test_char_codec_round_trips_korean_text():
    codec = CharCodec.fit([LYRICS], end_token=True)
    ids = codec.encode(LYRICS)
    assert ids[-1] == codec.end_id and len(ids) == len(LYRICS) + 1
    assert codec.decode(ids) == LYRICS


def test_char_codec_refuses_unseen_characters():
    codec = CharCodec.fit([LYRICS])
    with pytest.raises(VocabularyError, match="'꽃' never seen"):
        codec.encode("나비 꽃")


def test_covers_says_whether_every_note_is_in_the_vocabulary():
    from melodyrnn.music.notation import parse_tokens

    codec = NoteCodec.classic()
    assert codec.covers(parse_tokens("c4 d8 b8"))
    assert not codec.covers(parse_tokens("c4 d16"))
