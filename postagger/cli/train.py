"""`postagger train`: its options are built from `RunOptions` and `ModelConfig`."""

from __future__ import annotations

import inspect
import shlex
import signal
from pathlib import Path
from typing import Annotated, Optional

import typer

from postagger.cli import options
from postagger.cli._util import app, cli_errors, require_plotting, stderr_console
from postagger.config import ModelConfig, RunOptions, SegmenterConfig, options_of
from postagger.errors import PostaggerError

#: what --resume may be given with: how to run, not what to learn
_WITH_RESUME = {name for name, option in options_of(RunOptions).items() if option.with_resume} | {"help"}


@cli_errors
def train_cli(ctx: typer.Context, train: Optional[list[Path]] = None, **given) -> None:
    """Train a tagger on CoNLL-U files; the best epoch on --dev is kept in OUTPUT."""
    from postagger.cli.render import TrainingProgress

    run = RunOptions(**options.values(RunOptions, given))
    settings = options.values(ModelConfig, given)
    require_plotting(run.plot)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    if run.resume is not None:
        _check_nothing_else(ctx)
        from postagger.modeldir import load_model_info
        from postagger.train import resume

        column = load_model_info(run.resume).config.column
        with TrainingProgress(stderr_console(), column) as progress:
            metrics = resume(run.resume, progress=progress, strategy=run.strategy, logdir=run.logdir)
        output = run.resume
    else:
        if not train or not run.dev or run.output is None:
            raise PostaggerError("give training files, --dev and --output (or --resume MODEL_DIR)")
        from postagger.train import train as train_model
        from postagger.vocab import Vocabulary

        config = ModelConfig(**settings)
        vocab = Vocabulary.load(run.vocab) if run.vocab else None
        with TrainingProgress(stderr_console(), config.column) as progress:
            metrics = train_model(
                train, run.dev, run.output, config, vocab=vocab, test_paths=run.test or (),
                command=_command_line(ctx), progress=progress, vectors=run.vectors, strategy=run.strategy,
                logdir=run.logdir, segmenter=SegmenterConfig(seed=config.seed) if run.segmenter else None,
            )  # fmt: skip
        output = run.output
    from postagger.distributed import is_chief

    if not is_chief(run.strategy):
        column = metrics["dev"]["column"]
        stderr_console().print(
            f"this worker's part of the training is done (dev {column} {metrics['dev'][column]:.4f}); "
            "the chief wrote the model",
            soft_wrap=True,
        )
        return
    _finish(metrics, output, run.plot)


def _check_nothing_else(ctx: typer.Context) -> None:
    """--resume continues a run with its own data and settings: anything else that would
    change them is refused."""
    given = [
        p.name for p in ctx.command.params
        if p.name not in _WITH_RESUME and ctx.get_parameter_source(p.name).name != "DEFAULT"
    ]  # fmt: skip
    if given:
        raise PostaggerError(
            f"--resume continues a run with its own data and settings; drop {', '.join(given)}"
        )


def _finish(metrics: dict, output: Path, plot: Path | None) -> None:
    from postagger.cli.render import training_summary

    console = stderr_console()
    console.print(training_summary(metrics, output), soft_wrap=True)
    if plot is not None:
        from postagger.plots import plot_learning_curve

        plot_learning_curve(metrics, plot)
        console.print(f"learning curve → {plot}", soft_wrap=True)


def _command_line(ctx: typer.Context) -> str:
    """The command as a shell line, rebuilt from the parsed parameters (non-default options)."""

    parts = ["postagger", ctx.info_name or ""]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if param.param_type_name == "argument":
            parts += [str(v) for v in values if v is not None]
        elif value is not None and value != param.default and values and param.name != "help":
            option = max(param.opts, key=len)
            for v in values:
                parts += [option] if v is True else [option, str(v)]
    return shlex.join(parts)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


_FIXED = [
    inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
    inspect.Parameter("train", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=Annotated[
        Optional[list[Path]], typer.Argument(help="Training CoNLL-U files.", show_default=False)]),
]  # fmt: skip
app.command("train")(options.with_signature(train_cli, _FIXED + options.parameters(RunOptions, ModelConfig)))
