"""Models that know metre, phrase and key: derived inputs, factored heads, step-by-step feeds."""

from __future__ import annotations

import math

import pytest
import torch

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.models.checkpoint import Checkpoint
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.feeds import StreamFeed, feed_of, model_stream
from melodyrnn.models.network import SequenceModel
from melodyrnn.music.notation import parse_text

ALL = "token,position,bar,lookback,phrase,degree,interval"
SONGS = parse_text(r"""\time 3/4
\key g major
\partial 4
d4 g2 a4 b2. b4 a4 g4 fis2 r4 d4 g2 a4 b2. a4 fis4 d4 g2.

\time 2/4
\key f major
c'8 a8 a4 bes8 g8 g4 f8 g8 a8 bes8 c'8 c'8 c'4
""")


def model_for(codec: NoteCodec, inputs: str, head: str, copy: bool = False) -> Checkpoint:
    groups = tuple(inputs.split(",")[1:])
    factors = codec.factors()
    config = ModelConfig(vocab_size=codec.vocab_size, output_size=codec.vocab_size, hidden=16,
                         embedding_dim=8, inputs=inputs, head=head,
                         feature_sizes=codec.feature_sizes(groups),
                         pitch_classes=factors[2], duration_classes=factors[3],
                         ends=codec.end_id is not None, copy=copy)
    torch.manual_seed(0)
    model = SequenceModel(config, factors[:2] if head != "joint" else None)
    return Checkpoint(model.eval(), codec, {"batching": "stream"})


@pytest.mark.parametrize("copy", [False, True])
@pytest.mark.parametrize("head", ["joint", "pitch-duration", "duration-pitch"])
@pytest.mark.parametrize("frame", ["absolute", "key"])
def test_step_by_step_generation_sees_what_one_pass_over_the_melody_sees(head, frame, copy):
    codec = NoteCodec.fit(SONGS, end_token=True, frame=frame, grid=head != "joint")
    checkpoint = model_for(codec, ALL, head, copy)
    for song in SONGS:
        stream = model_stream(codec, song, tuple(ALL.split(",")[1:]))
        whole = checkpoint.model(stream[None, :-1])[0][0]
        feed = feed_of(checkpoint, like=song)
        ids = torch.as_tensor(codec.encode(song)[:-1])[None]
        logits, state = feed.start(checkpoint.model, ids[:, :3])
        steps = [logits]
        for end in range(4, ids.shape[1] + 1):
            logits, state = feed.step(checkpoint.model, ids[:, :end], state)
            steps.append(logits)
        assert torch.allclose(torch.stack(steps, 1)[0], whole[2:], atol=1e-5)


@pytest.mark.parametrize("head", ["pitch-duration", "duration-pitch"])
def test_a_factored_head_is_a_distribution_over_the_whole_grid(head):
    codec = NoteCodec.fit(SONGS, end_token=True, grid=True)
    checkpoint = model_for(codec, "token", head)
    log_probs = checkpoint.model(torch.as_tensor(codec.encode(SONGS[0])[:-1])[None])[0]
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(log_probs.shape[:2]), atol=1e-5)
    pitches = {n.pitch for n in codec.notes if n is not None}
    durations = {n.duration for n in codec.notes if n is not None}
    assert codec.vocab_size == len(pitches) * len(durations) + 1  # unseen pairs are tokens too


@pytest.mark.parametrize("copy", [False, True])
@pytest.mark.parametrize("head", ["joint", "pitch-duration", "duration-pitch"])
def test_the_training_loss_is_the_negative_log_probability_of_the_target(head, copy):
    codec = NoteCodec.fit(SONGS, end_token=True, grid=head != "joint")
    checkpoint = model_for(codec, "token,position", head, copy)
    stream = model_stream(codec, SONGS[1], ("position",))
    inputs, targets = stream[None, :-1], stream[None, 1:, 0]
    loss, _ = checkpoint.model(inputs, targets=targets)
    log_probs = checkpoint.model(inputs)[0].log_softmax(-1)
    expected = -log_probs.gather(-1, targets[..., None])[..., 0]
    assert torch.allclose(loss.nll, expected, atol=1e-5)


def test_the_key_frame_reads_every_key_the_same_and_writes_back_the_melodys_key():
    song = SONGS[0]
    up = song.transposed(2)
    codec = NoteCodec.fit([song], frame="key")
    assert codec.encode(song) == codec.encode(type(song)(
        up.notes, song.tempo, song.time_signature, "A major", pickup=song.pickup))
    assert codec.decode(codec.encode(song), like=song) == song
    assert codec.decode(codec.encode(song), like=song).key == "G major"


def test_feeds_without_derived_inputs_are_unchanged():
    codec = NoteCodec.fit(SONGS)
    checkpoint = model_for(codec, "token", "joint")
    assert isinstance(feed_of(checkpoint), StreamFeed) and feed_of(checkpoint).features is None


def test_bits_are_finite_for_a_structure_model():
    from melodyrnn.evaluation.pitch import pitch_alphabet, score_checkpoint

    codec = NoteCodec.fit(SONGS, end_token=True, frame="key", grid=True)
    checkpoint = model_for(codec, ALL, "pitch-duration")
    result = score_checkpoint(checkpoint, SONGS, pitch_alphabet(SONGS))
    assert result.notes == sum(1 for s in SONGS for n in s.notes if n.pitch is not None)
    assert math.isfinite(result.pooled)


def test_a_copy_memory_carried_across_chunks_equals_one_pass():
    codec = NoteCodec.fit(SONGS, end_token=True)
    checkpoint = model_for(codec, "token,lookback", "joint", copy=True)
    stream = model_stream(codec, SONGS[0], ("lookback",))[None, :-1]
    whole = checkpoint.model(stream)[0]
    first, state = checkpoint.model(stream[:, :7])
    second, _ = checkpoint.model(stream[:, 7:], state)
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-5)
    assert torch.allclose(whole.exp().sum(-1), torch.ones(whole.shape[:2]), atol=1e-4)


def test_a_copy_memory_learns_to_repeat_a_melody_it_has_heard_once():
    from melodyrnn.models.config import ModelConfig
    from melodyrnn.pipeline import fit
    from melodyrnn.training.config import TrainConfig

    # Random tunes, each played twice: only copying can predict the second half well.
    generator = torch.Generator().manual_seed(0)
    tunes = []
    for _ in range(208):
        notes = " ".join(f"{'cdefgab'[int(i)]}8" for i in torch.randint(7, (8,), generator=generator))
        tunes.append(parse_text(f"{notes} {notes}")[0])
    config = TrainConfig(epochs=10, lr=0.01, batch_size=8, stop_accuracy=2.0)

    def second_half_bits(copy: bool) -> float:
        checkpoint = fit(tunes[:200], NoteCodec.fit(tunes), ModelConfig(hidden=32, copy=copy),
                         config, progress=False, log=lambda m: None).checkpoint
        total = 0.0
        with torch.no_grad():
            for tune in tunes[200:]:
                ids = torch.as_tensor(checkpoint.codec.encode(tune))[None]
                log_probs = checkpoint.model(ids[:, :-1])[0].log_softmax(-1)[0]
                total -= float(log_probs[7:].gather(-1, ids[0, 8:, None]).sum())
        return total / math.log(2) / (8 * 8)

    copying, plain = second_half_bits(True), second_half_bits(False)
    assert copying < 1.2 and copying < plain - 1.0  # chance is log2(7) = 2.8 bits


def test_the_phrase_input_sees_the_bar_four_bars_back_and_flags_a_repeated_phrase():
    phrase = "c4 d4 e4 f4 g4 a4 b4 c'4"
    song = parse_text(f"\\time 2/4\n{phrase} {phrase} c4 d4")[0]
    codec = NoteCodec.fit([song])
    tracker = codec.tracker(song, ("phrase",))
    ids = codec.encode(song)
    rows = [tracker.push(token) for token in ids]
    none = codec.vocab_size + 1
    # After bar 4 the next onset opens bar 5: four bars back is the tune's first note.
    assert rows[7] == [ids[0], none, 0]
    # Bar 5's first note repeats bar 1's (flag 1), and so does bar 5 so far (flag 4).
    assert rows[8] == [ids[1], none, 0b101]
    # Bar 9 opens eight bars after bar 1: both distances see the same opening note.
    assert rows[15][:2] == [ids[0], ids[0]]
    assert rows[16] == [ids[1], ids[1], 0b111]
