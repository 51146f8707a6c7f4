"""`postagger vocab`: word, character and tag vocabularies from CoNLL-U files."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated

import typer

from postagger.cli import options
from postagger.cli._util import app, cli_errors, stderr_console
from postagger.config import ModelConfig

_SETTINGS = ("columns", "feats_heads", "min_count")  # the model settings a vocabulary depends on


@cli_errors
def vocab_cli(train: list[Path], output: Path, **settings) -> None:
    """Build word, character and tag vocabularies from CoNLL-U files."""
    from postagger.cli.render import vocab_summary
    from postagger.conllu_io import read_treebank
    from postagger.vocab import build_vocabulary

    given = options.values(ModelConfig, settings)
    vocab = build_vocabulary(
        read_treebank(train), given["columns"], given["min_count"], feats_heads=given["feats_heads"]
    )
    vocab.save(output)
    stderr_console().print(vocab_summary(vocab.summary(), output))


_FILES = [
    inspect.Parameter("train", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Annotated[
        list[Path], typer.Argument(help="Training CoNLL-U files.", show_default=False)]),
    inspect.Parameter("output", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[
        Path, typer.Option("--output", "-o", help="Vocabulary JSON file to write.")]),
]  # fmt: skip
app.command("vocab")(
    options.with_signature(vocab_cli, _FILES + options.parameters(ModelConfig, only=_SETTINGS))
)
