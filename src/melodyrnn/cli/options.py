"""Command-line options made from config dataclasses, so each default and limit lives in one place.

``config_options(TrainConfig)`` adds one click option per ``settings.setting`` field of the
class (help, default, choices and bounds from the field); ``build(TrainConfig, values)``
makes the config from a command's keyword arguments. Numbers are checked with the same
``settings.problem`` as the dataclasses themselves, so a bad value reads the same either way
(``--hidden -1: expected 1 or more``) and NaN or infinity is never accepted.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import Field, fields
from typing import Any, TypeVar

import click

from melodyrnn.settings import Setting, flag_of, problem, setting_of

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C")


class CheckedNumber(click.ParamType):
    """An int or float option checked with its setting's rules (bounds, finite)."""

    def __init__(self, kind: type, described: Setting) -> None:
        self.kind, self.described = kind, described
        self.name = "integer" if kind is int else "float"
        self.base = click.INT if kind is int else click.FLOAT

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = self.base.convert(value, param, ctx)
        wrong = problem(self.described, number)
        if wrong:
            self.fail(f"{value}: {wrong}", param, ctx)
        return number


def bounded(kind: type, low: float | None = None, high: float | None = None,
           low_open: bool = False) -> CheckedNumber:
    """A bounded int or float option type outside a config class: the same checks and
    messages as generated options (NaN and infinity refused), e.g. ``bounded(float, 0, 100)``."""
    return CheckedNumber(kind, Setting("", low=low, high=high, low_open=low_open))


def number_option(*decls: str, kind: type, low: float | None = None,
                  high: float | None = None, low_open: bool = False, help: str,
                  **options: Any) -> Callable[[F], F]:
    """A bounded int or float option outside a config class, with its limits in --help as
    generated options state them, e.g. ``number_option("--memory", kind=float, low=0, high=100,
    help=...)``."""
    checked = bounded(kind, low, high, low_open)
    bounds = limits(checked.described)
    return click.option(*decls, type=checked, help=f"{help} Limits: {bounds}." if bounds else help,
                        **options)


def limits(described: Setting) -> str:
    """The bounds of a number setting for --help, e.g. '1 to 2048'; '' if unbounded."""
    low, high = described.low, described.high
    low_text = None if low is None else (f"above {_plain(low)}" if described.low_open
                                         else _plain(low))
    if low_text is not None and high is not None:
        return (f"{low_text}, at most {_plain(high)}" if described.low_open
                else f"{low_text} to {_plain(high)}")
    if low_text is not None:
        return low_text if described.low_open else f"at least {low_text}"
    return f"at most {_plain(high)}" if high is not None else ""


def _plain(value: float) -> str:
    """A bound as people write it: 100000, 0.9, 2^63-1."""
    if value == 2**63 - 1:
        return "2^63-1"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _base_type(hint: Any) -> Any:
    """int for ``int | None``, and so on."""
    options = [t for t in typing.get_args(hint) if t is not type(None)]
    return options[0] if options and typing.get_origin(hint) is not tuple else hint


def declarations(item: Field) -> list[str]:
    """The option names of a field, e.g. ['-o', '--out'], ending with the parameter name."""
    described = setting_of(item)
    names = described.flag.split() if described is not None and described.flag else \
        [flag_of(item)]
    return [*names, item.name]


def option_for(item: Field, hint: Any, default: Any = None) -> Callable[[F], F]:
    """The click option of one config field."""
    described = setting_of(item)
    assert described is not None, f"{item.name} is not a setting"
    kind = _base_type(hint)
    names = declarations(item)
    common: dict[str, Any] = {"help": described.help, "default": default, "show_default": True}
    if described.metavar:
        common["metavar"] = described.metavar
    if described.switch:
        return click.option(described.switch, item.name, **common)
    if kind is bool:  # an on/off pair: a default (or a preset) of True can be turned off
        *flags, name = names
        long = flags[-1]
        return click.option(*flags[:-1], f"{long}/--no-{long[2:]}", name, **common)
    if described.multiple:
        return click.option(*names, multiple=True, **{**common, "default": (),
                                                      "show_default": False})
    if described.choices:
        choices = click.Choice(described.offered or described.choices, case_sensitive=False)
        return click.option(*names, type=choices, **common)
    if kind not in (int, float):
        return click.option(*names, type=str, **common)
    bounds = limits(described)
    if bounds:
        common["help"] = f"{described.help} Limits: {bounds}."
    return click.option(*names, type=CheckedNumber(kind, described), **common)


def config_options(config_class: type, *, skip: tuple[str, ...] = (),
                   only: tuple[str, ...] | None = None,
                   defaults: dict[str, Any] | None = None) -> Callable[[F], F]:
    """Add a click option for every setting of ``config_class`` (or those in ``only``)."""
    hints = typing.get_type_hints(config_class)
    chosen = [item for item in fields(config_class)
              if setting_of(item) is not None and item.name not in skip
              and (only is None or item.name in only)]

    def decorate(command: F) -> F:
        for item in reversed(chosen):
            default = (defaults or {}).get(item.name, item.default)
            command = option_for(item, hints[item.name], default)(command)
        return command

    return decorate


def build(config_class: type[C], values: dict[str, Any], **overrides: Any) -> C:
    """A config from a command's keyword arguments (the keys that are its fields)."""
    names = {item.name for item in fields(config_class)}  # type: ignore[arg-type]
    given = {name: value for name, value in values.items() if name in names}
    return config_class(**{**given, **overrides})
