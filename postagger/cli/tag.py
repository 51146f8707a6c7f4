"""`postagger tag`: files or stdin in, tagged text out."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from postagger.cli._util import EngineOption, JointOption, ModelOption, app, cli_errors, stderr_console
from postagger.errors import PostaggerError
from postagger.formats import InputFormat, OutputFormat


@app.command("tag")
@cli_errors
def tag_cli(
    inputs: Annotated[
        Optional[list[str]], typer.Argument(help="Input files; '-' or none for stdin.", show_default=False)
    ] = None,
    model: ModelOption = None,
    input_format: Annotated[
        Optional[InputFormat],
        typer.Option(
            help="tokens: one pre-tokenized sentence per line [default: conllu for .conllu files, else text]."
        ),
    ] = None,
    output_format: Annotated[OutputFormat, typer.Option(help="Output format.")] = OutputFormat.conllu,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Sentences per batch.")] = 64,
    engine: EngineOption = "auto",
    jobs: Annotated[
        int,
        typer.Option(
            min=0,
            help="Worker processes for inputs of more than one block (2,048 sentences); smaller "
            "inputs are tagged in this process. 0: one per core (at most 8), but none for a pipe "
            "or terminal on stdin, whose lines are tagged as they come; 1: no workers.",
        ),
    ] = 0,
    with_confidence: Annotated[
        bool,
        typer.Option(help="Add each chosen tag's probability (MISC UPOSProb=, a tsv column, jsonl probs)."),
    ] = False,
    top_k: Annotated[
        int, typer.Option(min=0, help="Also give the N best tags with probabilities (implies confidence).")
    ] = 0,
    joint_decoding: JointOption = True,
) -> None:
    """Tag files or stdin; data to stdout (or -o), messages to stderr."""
    from postagger.workers import limit_threads

    limit_threads()  # before NumPy is imported
    from postagger.formats import guess_input_format
    from postagger.pipeline import Job

    inputs = inputs or ["-"]
    jobs = jobs or _default_jobs(inputs)
    top = max(top_k, 1 if with_confidence else 0)
    _check_request(inputs, top, output_format)
    plan = [
        (path, Job(input_format or guess_input_format(path), output_format, batch_size, top, joint_decoding))
        for path in inputs
    ]
    if output is None:
        _tag_to(sys.stdout, model, engine, plan, jobs)
        sys.stdout.flush()
    else:
        from postagger.atomic import atomic_output

        with atomic_output(output) as stream:
            _tag_to(stream, model, engine, plan, jobs)


def _check_request(inputs: list[str], top: int, output_format: OutputFormat) -> None:
    """Refuse missing inputs, and confidences where the output format has no room for them."""
    for path in inputs:
        if path != "-" and not Path(path).is_file():
            raise PostaggerError("no such file" if not Path(path).exists() else "is not a file", path)
    if top and output_format is OutputFormat.inline:
        raise PostaggerError("inline output has no room for confidences: use conllu, tsv or jsonl")


def _default_jobs(inputs: list[str]) -> int:
    """One worker per core, but none for a pipe or terminal on stdin: tagged as it comes."""
    from postagger.conllu_io import is_live
    from postagger.workers import usable_cores

    return 1 if "-" in inputs and is_live(sys.stdin.buffer) else usable_cores()


def _tag_to(stream, model, engine: str, plan, jobs: int) -> None:
    """`model`: the model directory (None: the shipped model), read where it is used."""
    from postagger.pipeline import tag_files

    if not _may_show_progress():  # in a pipeline: rich's progress display is not even imported
        tag_files(stream, model, engine, plan, jobs)
        return
    from postagger.cli.render import tagging_progress

    paths = [Path(path) for path, _ in plan]
    total = None if any(str(p) == "-" for p in paths) else sum(p.stat().st_size for p in paths)
    with tagging_progress(stderr_console(), sized=total is not None) as progress:
        task = progress.add_task("tag", total=total, sentences=0)
        sentences = 0

        def advance(items: int, size: int) -> None:
            nonlocal sentences
            sentences += items
            progress.update(task, advance=size, sentences=sentences)

        tag_files(stream, model, engine, plan, jobs, advance=advance)


def _may_show_progress() -> bool:
    """False where rich would certainly not show a progress display (`Console.is_terminal`):
    stderr is not a terminal and no environment variable says otherwise. Importing rich's
    console and progress display is 0.04 s of the start-up."""
    if os.environ.get("TTY_COMPATIBLE", "") != "" or os.environ.get("FORCE_COLOR") is not None:
        return True
    try:
        return sys.stderr.isatty()
    except ValueError:  # closed
        return False
