"""Settings: config-dataclass fields that carry their own help text, bounds and choices.

A field made with ``setting(default, help, ...)`` holds its default in one place and
describes a command-line option at the same time: ``cli.options`` turns the settings of
``ModelConfig``, ``TrainConfig``, ``Sampling`` and ``IngestOptions`` into click options, and
``check`` validates an instance however it was made (command line or Python), with a
one-line error naming the option. Bounds are documented limits that keep a run within
the memory and time of an ordinary machine. The lowest layer: no imports but ``errors``.
"""

from __future__ import annotations

import math
from dataclasses import Field, dataclass, field, fields
from typing import Any

from melodyrnn.errors import MelodyError

SETTING = "melodyrnn.setting"


@dataclass(frozen=True)
class Setting:
    """How a config field appears on the command line and which values it accepts."""

    help: str
    flag: str | None = None  # the option's names, e.g. "--model" for ModelConfig.arch, "-o --out"
    choices: tuple[str, ...] | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: the value must be above ``low``, not equal to it
    switch: str | None = None  # a boolean's on/off pair, e.g. "--cache/--no-cache"
    multiple: bool = False  # a repeatable option collected into a tuple
    offered: tuple[str, ...] | None = None  # choices the command line offers, if fewer
    metavar: str | None = None


def setting(default: Any, help: str, **how: Any) -> Any:
    """A dataclass field with a default and the ``Setting`` that describes it (see module doc)."""
    return field(default=default, metadata={SETTING: Setting(help, **how)})


def setting_like(owner: type, name: str, default: Any) -> Any:
    """A field described as ``owner``'s field ``name`` is (help, bounds, choices), with its
    own default: one description for the same option of two commands."""
    item = next(f for f in fields(owner) if f.name == name)
    return field(default=default, metadata=item.metadata)


def setting_of(item: Field) -> Setting | None:
    """The ``Setting`` of a dataclass field, or None for an internal field."""
    return item.metadata.get(SETTING)


def flag_of(item: Field) -> str:
    """The command-line name of a field, e.g. ``--embedding-dim``."""
    described = setting_of(item)
    if described is not None and described.flag:
        return described.flag.split()[-1]  # "-o --out": the long name
    if described is not None and described.switch:
        return described.switch.split("/")[0]
    return "--" + item.name.replace("_", "-")


def problem(described: Setting, value: Any) -> str | None:
    """What is wrong with ``value`` for a setting, e.g. 'expected 1 or more'; None if nothing."""
    if described.choices:
        return None if value in described.choices else \
            "expected one of " + ", ".join(described.choices)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "expected a finite number"
    low, high = described.low, described.high
    if low is not None and (value < low or (described.low_open and value == low)):
        return f"expected more than {_number(low)}" if described.low_open else \
            f"expected {_number(low)} or more"
    if high is not None and value > high:
        return f"expected at most {_number(high)}"
    return None


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def check_value(item: Field, value: Any) -> None:
    """Raise MelodyError naming the option if ``value`` is not acceptable for ``item``."""
    described = setting_of(item)
    wrong = problem(described, value) if described is not None and value is not None else None
    if wrong and described is not None and described.choices:
        raise MelodyError(f"unknown {flag_of(item).lstrip('-')} '{value}': {wrong}")
    if wrong:
        raise MelodyError(f"{flag_of(item)} {value!r}: {wrong}")


def check(config: Any) -> None:
    """Validate every setting of a config dataclass instance (call from ``__post_init__``)."""
    for item in fields(config):
        check_value(item, getattr(config, item.name))
