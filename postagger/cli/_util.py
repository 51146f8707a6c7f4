"""What the commands share: the Typer app, the error boundary, the model option, consoles."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from postagger import __version__
from postagger.config import ENGINES
from postagger.errors import EXIT_INTERRUPTED, PostaggerError

app = typer.Typer(
    name="postagger",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ModelOption = Annotated[
    Optional[Path],
    typer.Option(
        "--model", "-m", help="Model directory [default: the shipped models/en_ewt].", show_default=False
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")]
EngineOption = Annotated[
    Literal[ENGINES],
    typer.Option(
        help="auto: onnx (ONNX Runtime), numpy without onnxruntime, keras for a directory without "
        "weights.npz; all three give the same tags. onnx-int8: int8 LSTM weights, faster, about one "
        "word in 1,000 tagged otherwise."
    ),
]
JointOption = Annotated[
    bool,
    typer.Option(
        help="A joint model (several columns) gives each word the most probable combination of tags seen "
        "in training; --no-joint-decoding: each column's own best tag."
    ),
]


def stderr_console():
    """A rich console for messages (data goes to stdout)."""
    from rich.console import Console

    return Console(stderr=True)


def stdout_console():
    from rich.console import Console

    return Console()


def cli_errors(command):
    """Turn user-facing errors into one line on stderr and a non-zero exit, no traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except PostaggerError as err:
            sys.stderr.write(f"postagger: error: {err}\n")
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:
            sys.stderr.write("postagger: interrupted\n")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            # the reader went away (`postagger tag big.txt | head`): stop quietly
            with contextlib.suppress(OSError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(141) from None

    return wrapper


def parse_columns(value: str | None) -> str | None:
    """Check a comma-separated list of columns (the option keeps the text)."""
    from postagger.config import columns_problem

    if value is None:
        return None
    names = [c.strip().lower() for c in value.split(",")]
    problem = columns_problem(names)
    if problem:
        raise typer.BadParameter(problem)
    return ",".join(names)


def require_plotting(plot: Path | None) -> None:
    """Refuse --plot at once when matplotlib is missing, before any work."""
    if plot is not None:
        from postagger.plots import require_matplotlib

        require_matplotlib()


@contextlib.contextmanager
def status(console, message: str):
    """A spinner with `message` on a terminal; nothing otherwise."""
    if not console.is_terminal:
        yield
        return
    from rich.status import Status

    with Status(message, console=console):
        yield


def print_version(value: bool) -> None:
    if value:
        print(f"postagger {__version__}")
        raise typer.Exit()
