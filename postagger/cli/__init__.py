"""The `postagger` command line: a Typer app, one module per command (group).

Each command parses options, calls a library function and renders its result
(`postagger.cli.render`); nothing here imports TensorFlow or NumPy at module level, so
`postagger --help` and argument errors stay fast, and `tag` can set its thread limits
before NumPy is loaded.
"""

from __future__ import annotations

import sys
from importlib.machinery import ModuleSpec
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
    _run_as_package_main()
    app(prog_name="postagger")


def _run_as_package_main() -> None:
    """Let worker processes (`tag --jobs`) start as under `python -m postagger`. They are
    spawned, and a spawned process first re-runs its parent's main script unless that is a
    package's `__main__` module: the console script is a plain file, so each worker would
    import the whole command line (Typer, Rich, every command) before loading the model.
    Marked as `postagger.__main__`, the script is skipped there (two workers start about
    0.03 s sooner: most of those imports a worker needs anyway); nothing else reads the mark."""
    script = sys.modules.get("__main__")
    if script is not None and getattr(script, "__spec__", None) is None:
        script.__spec__ = ModuleSpec("postagger.__main__", None)
