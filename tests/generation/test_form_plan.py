"""Form plans while sampling (`generate --form`): bars repeat where a real tune's form says."""

from __future__ import annotations

import dataclasses
from fractions import Fraction as Fr

import pytest
import torch
from clitools import assert_repeatable_and_refused_with_beam, run
from standins import Uniform

from melodyrnn.errors import CheckpointError, MelodyError
from melodyrnn.generation.decoding import generate
from melodyrnn.generation.form import FormPlan
from melodyrnn.generation.sampling import Sampling
from melodyrnn.generation.steering import Steering
from melodyrnn.models import checkpoint as ckpt
from melodyrnn.music.form import NO_REPEAT, FormBook, bar_contents, repeated_bars
from melodyrnn.music.notation import parse_tokens
from melodyrnn.pipeline import continue_items, form_plan, planned_bars

VOCAB = 10
END = 9
QUARTERS = [Fr(1)] * END + [None]  # every token a quarter note but the end token
_ = NO_REPEAT


def plan(*forms, weight: float = 1.5, pickup: Fr = Fr(0)) -> FormPlan:
    return FormPlan(weight, forms, QUARTERS, pickup, bar=Fr(2))


def raised(plan: FormPlan, history: list[list[int]]) -> list[int | None]:
    """For each row, the token the plan raises after ``history`` (None: it raises none)."""
    logits = torch.randn(len(history), VOCAB, generator=torch.Generator().manual_seed(0))
    gain = plan.adjust(logits, torch.tensor(history)) - logits.log_softmax(-1)
    return [int(row.argmax()) if float(row.max()) > 1e-5 else None for row in gain]


def test_the_note_the_repeated_bar_has_here_gets_the_weight_in_nats():
    logits = torch.randn(1, VOCAB, generator=torch.Generator().manual_seed(0))
    # bars of two quarters: (1 2) (3 4), and the form says bar 2 repeats bar 0
    adjusted = plan((_, _, 0), weight=1.5).adjust(logits, torch.tensor([[1, 2, 3, 4]]))
    gain = adjusted - logits.log_softmax(-1)
    assert float(gain[0, 1]) == pytest.approx(1.5, abs=1e-5)
    assert torch.allclose(gain[0, [i for i in range(VOCAB) if i != 1]], torch.zeros(VOCAB - 1))


def test_the_plan_is_followed_only_while_the_bar_follows_its_model():
    assert raised(plan((_, _, 0)), [[1, 2, 3, 4, 1]]) == [2]
    assert raised(plan((_, _, 0)), [[1, 2, 3, 4, 5]]) == [None]  # the bar went its own way


def test_free_bars_bars_past_the_plan_and_rows_without_a_plan_are_left_alone():
    assert raised(plan((_, _, 0)), [[1, 2, 3, 4, 1, 2]]) == [None]  # bar 3: past the plan
    assert raised(plan((_, _, _)), [[1, 2, 3, 4]]) == [None]
    assert raised(plan((_, _, 0), None), [[1, 2, 3, 4], [1, 2, 3, 4]]) == [1, None]


def test_bar_lines_fall_after_the_pickup():
    # a pickup of one quarter: 7 | 1 2 | 3 4 | ...
    assert raised(plan((_, _, 0), pickup=Fr(1)), [[7, 1, 2, 3, 4]]) == [1]


def test_a_finished_row_gets_nothing_more():
    assert raised(plan((_, _, 0)), [[1, 2, 3, 4, END]]) == [None]


def test_following_step_by_step_is_the_same_as_reading_the_whole_history_at_once():
    history = [1, 2, 3, 4, 1, 2, 5, 6, 3]
    stepwise = plan((_, _, 0, _, 1))  # bar 4 repeats bar 1 (3 4)
    for t in range(1, len(history) + 1):
        steps = raised(stepwise, [history[:t]])
    assert steps == raised(plan((_, _, 0, _, 1)), [history]) == [4]


def test_negative_weight_is_an_error():
    with pytest.raises(MelodyError, match="--form"):
        plan((_, 0), weight=-1.0)


def test_a_strong_plan_makes_uniform_noise_repeat_the_bars_it_names():
    form = (_, _, 0, 1, _, 4, 2, 3)
    rows = generate(Uniform(VOCAB), [1, 2], 14, Sampling(temperature=1.0), num_outputs=8,
                    generator=torch.Generator().manual_seed(0),
                    plan=FormPlan(30.0, [form] * 8, [Fr(1)] * VOCAB, Fr(0), Fr(2)))
    for row in rows:
        tokens = [1, 2, *row]
        bars = [tuple(tokens[2 * k:2 * k + 2]) for k in range(8)]
        assert all(bars[k] == bars[j] for k, j in enumerate(form) if j != NO_REPEAT), bars


def test_without_a_plan_sampling_is_exactly_the_network():
    def draw(**options):
        return generate(Uniform(VOCAB), [1, 2, 3], 20, Sampling(temperature=1.0),
                        num_outputs=4, generator=torch.Generator().manual_seed(5), **options)

    assert draw(plan=None) == draw()


# --- with trained models -----------------------------------------------------------------


def test_training_keeps_the_forms_of_the_training_tunes(nabiya_fit, nabiya):
    assert nabiya_fit.checkpoint.metadata["forms"] == FormBook.of([nabiya]).to_plain()


def on_the_bar_line(contents, bar: int) -> bool:
    return bool(contents.get(bar)) and contents[bar][0][0] == 0


def test_the_bundled_model_keeps_forms_and_a_heavy_plan_is_followed():
    model = ckpt.load(ckpt.BUNDLED_PATH)
    assert sum(len(forms) for forms in model.metadata["forms"].values()) > 1000
    seed = parse_tokens("d'8 g'8 g'8 a'8 b'8 a'8 g'8 b'8")
    primer = dataclasses.replace(seed, time_signature=(2, 4), key="G major")
    checked = 0
    for rng_seed in range(4):
        (form,) = [row.form for row in form_plan(model, primer, 50.0, 1, rng_seed).rows]
        melody = continue_items(model, primer, 60, Sampling(temperature=1.0, top_p=0.95),
                                rng_seed=rng_seed, form=50.0)[0]
        contents = bar_contents(melody)
        complete = range(int((melody.total_duration - melody.pickup) // melody.bar_length))
        for k in complete:  # (a bar the note before runs into cannot start as its model)
            if k < len(form) and form[k] != NO_REPEAT and on_the_bar_line(contents, k) \
                    and on_the_bar_line(contents, form[k]):
                assert contents[k] == contents[form[k]], (rng_seed, k, repeated_bars(melody))
                checked += 1
    assert checked >= 4


def test_a_checkpoint_with_a_malformed_form_book_is_refused(nabiya_fit, tmp_path):
    broken = dataclasses.replace(nabiya_fit.checkpoint,
                                 metadata={**nabiya_fit.checkpoint.metadata,
                                           "forms": {"2/4": [[1, -1, 3]]}})
    path = ckpt.save(broken, tmp_path / "broken.pt")
    with pytest.raises(CheckpointError, match="forms"):
        ckpt.load(path)


def test_cli_form_is_repeatable_and_refused_with_beam(nabiya_model):
    args = ["generate", "--model", nabiya_model, "--seed", "g8 e8 e4 f8", "--form", "3",
            "--rng-seed", "3"]
    assert_repeatable_and_refused_with_beam(args, "--form")
    assert run("generate", "--model", nabiya_model, "--seed", "g8 e8 e4 f8", "--beam", "2")


def test_cli_form_asked_of_a_model_without_forms_says_so(nabiya_fit, tmp_path):
    metadata = {k: v for k, v in nabiya_fit.checkpoint.metadata.items() if k != "forms"}
    path = ckpt.save(dataclasses.replace(nabiya_fit.checkpoint, metadata=metadata),
                     tmp_path / "old.pt")
    base = ["generate", "--model", path, "--seed", "g8 e8 e4 f8"]
    assert run(*base)  # the default weight: samples without a plan
    refused = run(*base, "--form", "2", ok=False)
    assert "--form" in refused.output and "keeps no forms" in refused.output


def test_with_bars_the_plan_counts_the_bars_the_melody_will_have():
    primer = dataclasses.replace(parse_tokens("g8 e8 e4 f8"), time_signature=(2, 4))
    model = ckpt.load(ckpt.BUNDLED_PATH)
    constraints = Steering(bars=8).constraints(model.codec, primer)
    # the seed's bar, the bar its f8 opens, and eight more
    assert planned_bars(primer, constraints) == 10
    assert planned_bars(primer, Steering().constraints(model.codec, primer)) is None
    (row,) = form_plan(model, primer, 2.0, 1, rng_seed=0, bars=10).rows
    assert len(row.form) == 10


def test_cli_generate_says_which_bars_the_borrowed_form_repeats():
    args = ["generate", "--model", ckpt.BUNDLED_PATH, "--seed", "g8 e8 e4 f8", "--rng-seed", "7"]
    said = run(*args).stderr
    assert "borrowed form" in said and "bar 5 repeats bar 1" in said
    assert "borrowed form" not in run(*args, "--form", "0").stderr
