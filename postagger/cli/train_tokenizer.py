"""`postagger train-tokenizer`: train a raw-text segmenter into an existing model directory."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated

import typer

from postagger.cli import options
from postagger.cli._util import app, cli_errors, stderr_console
from postagger.config import SegmenterConfig


@cli_errors
def train_tokenizer_cli(train: list[Path], dev: list[Path], model: Path, **settings) -> None:
    """Train the raw-text segmenter on CoNLL-U files' text and put it into MODEL (replacing
    the one there); `postagger train` does this too, unless given --no-segmenter."""
    from postagger.cli.render import TrainingProgress
    from postagger.modeldir import load_model_info, save_segmenter
    from postagger.segmenter_training import train_segmenter
    from postagger.train import Treebank

    load_model_info(model)  # a model directory to add to, checked before the work
    train_bank, dev_bank = Treebank.read(train, ()), Treebank.read(dev, ())
    config = SegmenterConfig(**options.values(SegmenterConfig, settings))
    files = {"train": train_bank.files, "dev": dev_bank.files}
    with TrainingProgress(stderr_console(), "upos") as progress:
        trained = train_segmenter(train_bank.sentences, dev_bank.sentences, config, progress, files)
    save_segmenter(model, trained)
    scores = trained.info.scores
    stderr_console().print(
        f"segmenter: dev tokens F1 {scores['tokens']:.4f}, sentences F1 {scores['sentences']:.4f} → {model}",
        soft_wrap=True,
    )


_FIXED = [
    inspect.Parameter("train", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Annotated[
        list[Path], typer.Argument(help="Training CoNLL-U files.", show_default=False)]),
    inspect.Parameter("dev", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[
        list[Path], typer.Option("--dev", help="Dev CoNLL-U file(s): the best epoch and threshold.")]),
    inspect.Parameter("model", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[
        Path, typer.Option("--model", "-m", help="Model directory to put the segmenter into.")]),
]  # fmt: skip
app.command("train-tokenizer")(
    options.with_signature(train_tokenizer_cli, _FIXED + options.parameters(SegmenterConfig))
)
