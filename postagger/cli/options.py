"""Command-line options built from the settings dataclasses (`postagger.config`): each
option's name, type, default, allowed values, help and panel come from its field, so the
`train` command and `ModelConfig` cannot drift apart."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from typing import Annotated, Any, Literal

import typer

from postagger.config import PANELS, Option, options_of


def parameters(*classes, only: tuple[str, ...] | None = None) -> list[inspect.Parameter]:
    """Keyword parameters for a Typer command, one per option of the settings dataclasses
    (or per option named in `only`), in the order of their help panels."""
    params = []
    for cls in classes:
        params.extend(_parameters(cls, only))
    panel = {name: option.panel for cls in classes for name, option in options_of(cls).items()}
    return sorted(params, key=lambda p: PANELS.index(panel[p.name]))


def _parameters(cls, only: tuple[str, ...] | None) -> list[inspect.Parameter]:
    hints = typing.get_type_hints(cls)
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    params = []
    for name, option in options_of(cls).items():
        if only is not None and name not in only:
            continue
        kind, default = hints[name], defaults[name]
        listed = typing.get_origin(kind) is tuple  # names: comma-separated on the command line
        if listed:
            kind, default = str, ",".join(default)
        if option.choices:
            kind = Literal[option.choices]
        info = typer.Option(
            *option.names,
            help=option.help + _range_text(option),
            rich_help_panel=option.panel.title(),
            callback=_checker(name, option, listed),
        )
        keyword = inspect.Parameter.KEYWORD_ONLY
        params.append(inspect.Parameter(name, keyword, default=default, annotation=Annotated[kind, info]))
    return params


def values(cls, given: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of `cls` among a command's parsed options (comma-separated
    lists become tuples)."""
    hints = typing.get_type_hints(cls)
    out = {}
    for name in options_of(cls):
        if name in given:
            value = given[name]
            out[name] = tuple(value.split(",")) if typing.get_origin(hints[name]) is tuple else value
    return out


def with_signature(function, params: list[inspect.Parameter]):
    """`function` (taking **options) presented to Typer with the given parameters; each
    parameter is an `inspect.Parameter` with an `Annotated[type, typer.Option(...)]`."""
    function.__signature__ = inspect.Signature(params)
    function.__annotations__ = {p.name: p.annotation for p in params}
    return function


def _range_text(option: Option) -> str:
    if not option.limits:
        return ""
    return " [" + ", ".join(f"{sign} {bound:g}" for bound, sign in option.limits) + "]"


def _checker(name: str, option: Option, listed: bool):
    """An option callback: a value the setting does not allow is a usage error, given
    before anything runs. A list of names is checked as a list and kept as text."""
    if option.check is None and not option.limits:
        return None

    def check(value):
        if value is None:
            return value
        if listed:
            items = [v.strip().lower() for v in value.split(",")]
            problem, value = option.problem(name, items), ",".join(items)
        else:
            problem = option.problem(name, value)
        if problem:
            raise typer.BadParameter(problem)
        return value

    return check
