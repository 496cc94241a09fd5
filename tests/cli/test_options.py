"""Options made from config dataclasses: one default, one limit, one message, CLI or Python."""

from __future__ import annotations

from dataclasses import fields

import click
import pytest
from click.testing import CliRunner

from melodyrnn.cli.options import build, config_options
from melodyrnn.errors import MelodyError
from melodyrnn.generation.sampling import Sampling
from melodyrnn.models.config import ModelConfig
from melodyrnn.music.sources import IngestOptions
from melodyrnn.settings import setting_of
from melodyrnn.training.config import TrainConfig

CONFIGS = (ModelConfig, TrainConfig, Sampling, IngestOptions)


def command_for(config_class):
    @click.command()
    @config_options(config_class)
    def show(**values):
        click.echo(repr(build(config_class, values)))

    return show


@pytest.mark.parametrize("config_class", CONFIGS)
def test_the_defaults_of_the_options_are_the_dataclass_defaults(config_class):
    result = CliRunner().invoke(command_for(config_class), [])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == repr(config_class())


@pytest.mark.parametrize("config_class", CONFIGS)
def test_every_setting_appears_in_help_with_its_default(config_class):
    text = CliRunner().invoke(command_for(config_class), ["--help"]).output
    for item in fields(config_class):
        described = setting_of(item)
        if described is None:
            continue
        name = (described.flag or described.switch or "--" + item.name.replace("_", "-"))
        assert name.split()[-1].split("/")[0] in text, item.name


@pytest.mark.parametrize(("args", "message"), [
    (["--hidden", "-1"], "--hidden': -1: expected 1 or more"),
    (["--hidden", "100000"], "expected at most 2048"),
    (["--dropout", "nan"], "expected a finite number"),
    (["--dropout", "2"], "expected at most 0.9"),
])
def test_bad_numbers_are_refused_naming_the_option(args, message):
    result = CliRunner().invoke(command_for(ModelConfig), args)
    assert result.exit_code == 2 and message in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--lr", "nan"], "expected a finite number"), (["--lr", "0"], "expected more than 0"),
    (["--lr", "-1"], "expected more than 0"), (["--weight-decay", "inf"], "finite"),
    (["--rng-seed", "99999999999999999999"], "expected at most 9223372036854775807"),
    (["--epochs", "0"], "expected 1 or more"),
])
def test_training_numbers_are_bounded_and_finite(args, message):
    result = CliRunner().invoke(command_for(TrainConfig), args)
    assert result.exit_code == 2 and message in result.output


def test_the_dataclasses_refuse_the_same_values_from_python():
    with pytest.raises(MelodyError, match=r"--temperature nan: expected a finite number"):
        Sampling(temperature=float("nan"))
    with pytest.raises(MelodyError, match=r"--lr -1\.0: expected more than 0"):
        TrainConfig(lr=-1.0)
    with pytest.raises(MelodyError, match="--jobs 1000: expected at most 256"):
        IngestOptions(jobs=1000)


def test_help_states_the_limits():
    text = CliRunner().invoke(command_for(ModelConfig), ["--help"]).output
    assert "Limits: 1 to 2048." in " ".join(text.split())


@pytest.mark.parametrize(("command", "option", "limits"), [
    ("generate", "--memory", "Limits: 0 to 100."), ("generate", "--echo", "Limits: 0 to 100."),
    ("generate", "--bars", "Limits: 1 to 1000."), ("render", "--bpm", "Limits: 4 to 1000."),
    ("evaluate", "--lr", "Limits: above 0, at most 10."),
])
def test_the_commands_numbers_state_their_limits_in_help(command, option, limits):
    from melodyrnn.cli import main

    lines = CliRunner().invoke(main, [command, "--help"]).output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"  {option} "))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("  -"))
    assert limits in " ".join(" ".join(lines[start:end]).split())


def test_every_on_off_setting_can_be_turned_off_as_well_as_on():
    """A preset or a default of True must not leave a switch stuck on (evaluate --folds' copy
    memory is on by default; the folk preset turns the end token on)."""
    from melodyrnn.evaluation.config import CrossValConfig

    @click.command()
    @config_options(CrossValConfig)
    def show(**values):
        click.echo(repr(values["copy"]))

    assert CliRunner().invoke(show, []).output.strip() == "True"
    assert CliRunner().invoke(show, ["--no-copy"]).output.strip() == "False"
    assert CliRunner().invoke(show, ["--copy"]).output.strip() == "True"
    for config_class in CONFIGS:
        text = CliRunner().invoke(command_for(config_class), ["--help"]).output
        for item in fields(config_class):
            described = setting_of(item)
            if described is not None and item.type in (bool, "bool") and not described.switch:
                long = "--" + item.name.replace("_", "-")
                assert f"{long} / --no-{long[2:]}" in text, item.name


@pytest.mark.parametrize("args", [
    ["play", "song.txt", "--virtual", "x", "--wait", "nan"],
    ["generate", "--play", "--virtual", "x", "--wait", "inf"],
    ["jam", "--bpm", "nan"], ["jam", "--wait", "inf"],
])
def test_no_command_takes_nan_or_infinity_for_a_number(args):
    from melodyrnn.cli import main

    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "expected a finite number" in result.output
