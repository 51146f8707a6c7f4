"""The `postagger` command line: a Typer app, one module per command (group).

Each command parses options, calls a library function and renders its result
(`postagger.cli.render`); nothing here imports TensorFlow or NumPy at module level, so
`postagger --help` and argument errors stay fast, and `tag` can set its thread limits
before NumPy is loaded.
"""

from __future__ import annotations

from typing import Annotated

import typer

from postagger.cli import evaluate, info, tag, train, train_tokenizer, vectors, vocab  # noqa: F401
from postagger.cli._util import app, print_version

__all__ = ["app", "main"]


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Part-of-speech tagging with a BiLSTM: train on Universal Dependencies, tag text in pipelines."""


def main() -> None:
    """Console-script entry point."""
    app(prog_name="postagger")
