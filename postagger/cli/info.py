"""`postagger info`: what a model is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from postagger.cli._util import JsonOption, app, cli_errors, stdout_console


@app.command("info")
@cli_errors
def info_cli(
    model_dir: Annotated[
        Optional[Path],
        typer.Argument(help="Model directory [default: the shipped model].", show_default=False),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """What a model is: treebank, tag set, sizes, scores, versions and training command."""
    from postagger.modeldir import describe, load_model_info

    record = describe(load_model_info(model_dir))
    if as_json:
        print(json.dumps(record, ensure_ascii=False, indent=1))
        return
    from postagger.cli.render import info_table

    stdout_console().print(info_table(record))
