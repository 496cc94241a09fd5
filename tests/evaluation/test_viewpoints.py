"""IDyOM-style viewpoints: pitch predicted through intervals and key-relative pitches."""

from __future__ import annotations

import numpy as np
import pytest

from melodyrnn.errors import MelodyError
from melodyrnn.evaluation.pitch import bits_of, pitch_alphabet, pitch_sequences
from melodyrnn.evaluation.viewpoints import ViewpointModels, parse_viewpoints, symbols
from melodyrnn.models.ppm import LTM, STM
from melodyrnn.music.notation import parse_text
from melodyrnn.music.transpose import transposed

TUNE = parse_text("\\key g major\ng4 a4 b4 g4 d'2 b4 a4 g2 d'4 c'4 b4 a4 g1")[0]


def test_symbols_of_each_viewpoint():
    assert symbols("cpitch", TUNE)[:3] == [67, 69, 71]
    assert symbols("cpintfref", TUNE)[:3] == [72, 74, 76]  # G major moved up to C: g4 -> c'4
    assert symbols("cpint", TUNE)[:3] == [2, 2, -4]


@pytest.mark.parametrize("viewpoint", ["cpintfref", "cpint"])
def test_relative_viewpoints_predict_a_tune_in_a_new_key_about_as_well_as_in_its_own(viewpoint):
    moved = transposed(TUNE, 5)  # C major: never seen by the model
    every = [TUNE, moved]
    alphabet = pitch_alphabet(every)
    column = {p: i for i, p in enumerate(alphabet)}

    def bits(melody, name):
        models = ViewpointModels.train([TUNE], every, alphabet, (name,), LTM, None)
        (probs,) = models.components(melody)
        assert np.allclose(probs.sum(1), 1.0)
        return bits_of(probs, [column[p] for p in pitch_sequences([melody])[0]])[1:].mean()

    # The escape mass of symbols that stand for no pitch of the alphabet differs by key, so
    # the two are close, not equal; the pitch viewpoint has never heard the new key at all.
    assert bits(moved, viewpoint) == pytest.approx(bits(TUNE, viewpoint), abs=0.15)
    assert bits(moved, viewpoint) < bits(moved, "cpitch") - 1.0


def test_the_pitch_viewpoint_is_the_plain_ppm():
    alphabet = pitch_alphabet([TUNE])
    models = ViewpointModels.train([TUNE], [TUNE], alphabet, ("cpitch",), LTM, STM)
    ltm, stm = models.components(TUNE)
    assert np.allclose(ltm, models.ltm.predict(pitch_sequences([TUNE])[0]))
    assert stm.shape == ltm.shape


def test_unknown_viewpoints_are_an_error():
    with pytest.raises(MelodyError, match="expected some of cpitch"):
        parse_viewpoints("cpitch,pitchclass")
