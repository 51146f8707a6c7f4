"""`postagger evaluate`: scores of a model, or of another tool's output, against gold files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from postagger.cli._util import (
    EngineOption,
    JointOption,
    JsonOption,
    ModelOption,
    app,
    cli_errors,
    parse_columns,
    require_plotting,
    stderr_console,
    stdout_console,
)


@app.command("evaluate")
@cli_errors
def evaluate_cli(
    gold: Annotated[list[Path], typer.Argument(help="Gold CoNLL-U files.", show_default=False)],
    model: ModelOption = None,
    pred: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--pred",
            help="Score these predicted CoNLL-U files instead of tagging (tokenized otherwise: "
            "CoNLL 2018 F1 scores).",
        ),
    ] = None,
    raw: Annotated[
        bool,
        typer.Option(
            "--raw",
            help="Tag the gold files' own raw text (tokenizer included) and score it as CoNLL 2018 does.",
        ),
    ] = False,
    as_json: JsonOption = False,
    confusion: Annotated[bool, typer.Option("--confusion", help="Show the whole confusion matrix.")] = False,
    columns: Annotated[
        Optional[str],
        typer.Option(
            callback=parse_columns,
            help="Columns to score, comma-separated (default: the model's; UPOS without a model).",
        ),
    ] = None,
    plot: Annotated[
        Optional[Path],
        typer.Option(help="Draw the confusion matrix and per-tag F1 into this PNG file (needs matplotlib)."),
    ] = None,
    joint_decoding: JointOption = True,
    engine: EngineOption = "auto",
) -> None:
    """Accuracy (all, seen and unseen words), per-tag scores, confusions and calibration; or
    the CoNLL 2018 F1 scores of raw-text output."""
    from postagger.evaluate import evaluate_files

    require_plotting(plot)
    columns_given = columns.split(",") if columns else None
    result = evaluate_files(gold, model, pred, columns_given, raw=raw, joint=joint_decoding, engine=engine)
    if plot is not None:
        from postagger.plots import plot_confusion

        plot_confusion(result, plot)
        stderr_console().print(f"confusion matrix → {plot}", soft_wrap=True)
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        from postagger.cli.render import print_evaluation

        print_evaluation(stdout_console(), result, confusion)
