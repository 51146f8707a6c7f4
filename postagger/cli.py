"""The `postagger` command line: thin Typer commands over the library functions.

Nothing here imports TensorFlow at module level, so `postagger --help` and argument errors
stay fast; the commands that need the network import it when they run.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from postagger import __version__
from postagger.config import ModelConfig
from postagger.errors import EXIT_INTERRUPTED, PostaggerError
from postagger.formats import InputFormat, OutputFormat

_DEFAULTS = ModelConfig()  # the train command's defaults are the config's
#: the scores `evaluate` and `info` show, as the CoNLL 2018 shared task names them
METRIC_NAMES = {"upos": "UPOS", "xpos": "XPOS", "feats": "FEATS", "ufeats": "UFeats", "alltags": "AllTags"}


class FeatsHeads(str, enum.Enum):
    whole = "whole"
    split = "split"


def _parse_columns(value: str) -> str:
    """Check a comma-separated list of columns (the option keeps the text)."""
    from postagger.config import columns_problem

    names = [c.strip().lower() for c in value.split(",")]
    problem = columns_problem(names)
    if problem:
        raise typer.BadParameter(problem)
    return ",".join(names)


_COLUMNS_HELP = (
    "Columns to learn, comma-separated, among upos, xpos, feats (one shared network, one "
    "softmax head each); the first picks the best epoch and carries the confidences."
)


class Engine(str, enum.Enum):
    auto = "auto"
    numpy = "numpy"
    onnx = "onnx"
    keras = "keras"


class WordRepr(str, enum.Enum):
    word = "word"
    chars = "chars"
    both = "both"


class Strategy(str, enum.Enum):
    default = "default"
    mirrored = "mirrored"
    multiworker = "multiworker"


class CharEncoder(str, enum.Enum):
    lstm = "lstm"
    cnn = "cnn"


app = typer.Typer(
    name="postagger",
    help="Part-of-speech tagging with a BiLSTM: train on Universal Dependencies, tag text in pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ModelOption = Annotated[
    Optional[Path],
    typer.Option(
        "--model", "-m", help="Model directory [default: the shipped models/en_ewt].", show_default=False
    ),
]


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


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


def _version(value: bool) -> None:
    if value:
        print(f"postagger {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Part-of-speech tagging with a BiLSTM: train on Universal Dependencies, tag text in pipelines."""


@app.command("vocab")
@cli_errors
def vocab_cli(
    train: Annotated[list[Path], typer.Argument(help="Training CoNLL-U files.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Vocabulary JSON file to write.")],
    min_count: Annotated[int, typer.Option(min=1, help="Words seen fewer times map to the unknown id.")] = 1,
    columns: Annotated[str, typer.Option(callback=_parse_columns, help=_COLUMNS_HELP)] = "upos",
    feats_heads: Annotated[
        FeatsHeads, typer.Option(help="FEATS as one tag (the whole string) or one head per feature.")
    ] = FeatsHeads.whole,
) -> None:
    """Build word, character and tag vocabularies from CoNLL-U files."""
    from postagger.conllu_io import read_treebank
    from postagger.vocab import build_vocabulary

    vocab = build_vocabulary(
        read_treebank(train), columns.split(","), min_count, feats_heads=feats_heads.value
    )
    vocab.save(output)
    _print_vocab_summary(vocab.summary(), output)


def _print_vocab_summary(summary: dict, path: Path) -> None:
    from rich.table import Table

    table = Table(title=f"Vocabulary → {path}", show_header=False)
    table.add_row("columns", summary["columns"])
    table.add_row("training tokens", f"{summary['training_tokens']:,}")
    table.add_row("distinct word forms", f"{summary['training_types']:,}")
    table.add_row("word ids (incl. <pad>, <unk>)", f"{summary['words']:,}")
    table.add_row("character ids (incl. <pad>, <unk>)", f"{summary['chars']:,}")
    for head, n in summary["tags"].items():
        table.add_row(f"{head} tags", f"{n:,}")
    table.add_row("coverage of training tokens", f"{summary['token_coverage']:.2%}")
    _stderr_console().print(table)


@app.command("train")
@cli_errors
def train_cli(
    ctx: typer.Context,
    train: Annotated[
        Optional[list[Path]], typer.Argument(help="Training CoNLL-U files.", show_default=False)
    ] = None,
    dev: Annotated[
        Optional[list[Path]], typer.Option("--dev", help="Dev CoNLL-U file(s) for early stopping.")
    ] = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Model directory to write.")
    ] = None,
    resume: Annotated[
        Optional[Path],
        typer.Option(help="Continue the interrupted training in this model directory (nothing else given)."),
    ] = None,
    vocab: Annotated[Optional[Path], typer.Option(help="Vocabulary JSON from `postagger vocab`.")] = None,
    test: Annotated[
        Optional[list[Path]], typer.Option("--test", help="Test file(s), scored into metrics.json.")
    ] = None,
    columns: Annotated[str, typer.Option(callback=_parse_columns, help=_COLUMNS_HELP)] = ",".join(
        _DEFAULTS.columns
    ),
    feats_heads: Annotated[
        FeatsHeads, typer.Option(help="FEATS as one tag (the whole string) or one head per feature.")
    ] = FeatsHeads(_DEFAULTS.feats_heads),
    aux_weight: Annotated[
        float, typer.Option(min=0.0, help="Loss weight of each column after the first (which weighs 1).")
    ] = _DEFAULTS.aux_weight,
    word_repr: Annotated[
        WordRepr, typer.Option(help="Word embedding, character encoder, or both.")
    ] = WordRepr(_DEFAULTS.word_repr),
    char_encoder: Annotated[
        CharEncoder, typer.Option(help="Character encoder: BiLSTM (final states) or CNN (max-pooled).")
    ] = CharEncoder(_DEFAULTS.char_encoder),
    epochs: Annotated[int, typer.Option(min=1, help="Maximum number of epochs.")] = _DEFAULTS.epochs,
    batch_size: Annotated[
        int,
        typer.Option(min=0, help="Sentences per batch; 0: about 125 batches an epoch, 8 to 32 each."),
    ] = _DEFAULTS.batch_size,
    patience: Annotated[
        int, typer.Option(min=0, help="Stop after this many epochs without dev gain (0: never).")
    ] = _DEFAULTS.patience,
    seed: Annotated[
        int, typer.Option(help="Random seed: same seed, same data → same model.")
    ] = _DEFAULTS.seed,
    min_count: Annotated[
        int, typer.Option(min=1, help="Minimum word count (when building the vocabulary).")
    ] = _DEFAULTS.min_count,
    word_dim: Annotated[int, typer.Option(min=1, help="Word embedding size.")] = _DEFAULTS.word_dim,
    char_dim: Annotated[int, typer.Option(min=1, help="Character embedding size.")] = _DEFAULTS.char_dim,
    char_units: Annotated[
        int, typer.Option(min=1, help="Character BiLSTM units per direction.")
    ] = _DEFAULTS.char_units,
    char_filters: Annotated[int, typer.Option(min=1, help="Character CNN filters.")] = _DEFAULTS.char_filters,
    char_kernel: Annotated[
        int, typer.Option(min=1, help="Character CNN kernel width.")
    ] = _DEFAULTS.char_kernel,
    lstm_units: Annotated[
        int, typer.Option(min=1, help="BiLSTM units per direction.")
    ] = _DEFAULTS.lstm_units,
    lstm_layers: Annotated[int, typer.Option(min=1, help="Stacked BiLSTM layers.")] = _DEFAULTS.lstm_layers,
    dropout: Annotated[
        float, typer.Option(min=0.0, max=0.95, help="Dropout on inputs and between layers.")
    ] = _DEFAULTS.dropout,
    word_dropout: Annotated[
        float, typer.Option(min=0.0, help="Rare-word → <unk> replacement strength (alpha).")
    ] = _DEFAULTS.word_dropout,
    learning_rate: Annotated[
        float, typer.Option(min=0.0, help="Adam learning rate.")
    ] = _DEFAULTS.learning_rate,
    lr_decay: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Learning-rate factor after an epoch without dev gain.")
    ] = _DEFAULTS.lr_decay,
    average_epochs: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Score and keep the weights' moving average over about this many epochs (0: off).",
        ),
    ] = _DEFAULTS.average_epochs,
    vectors: Annotated[
        Optional[Path],
        typer.Option(help="Pretrained vectors (.bin, .vec, .vec.gz) to start the word embeddings from."),
    ] = None,
    freeze_embeddings: Annotated[
        bool,
        typer.Option(
            "--freeze-embeddings/--fine-tune-embeddings",
            help="Keep pretrained word embeddings fixed, or train them further.",
        ),
    ] = False,
    extend_vocab: Annotated[
        int, typer.Option(min=0, help="Add up to N frequent pretrained words missing from the training data.")
    ] = 0,
    dual_embeddings: Annotated[
        bool,
        typer.Option(
            help="Train an embedding of the training words and feed the frozen pretrained vectors "
            "of all words beside it."
        ),
    ] = False,
    strategy: Annotated[
        Strategy,
        typer.Option(
            help="tf.distribute strategy: default device, mirrored (all local GPUs), "
            "or multiworker (machines in TF_CONFIG)."
        ),
    ] = Strategy.default,
    logdir: Annotated[
        Optional[Path],
        typer.Option(help="Write TensorBoard scalars per epoch and the word-embedding projector files here."),
    ] = None,
    plot: Annotated[
        Optional[Path],
        typer.Option(help="Draw the learning curve into this PNG file at the end (needs matplotlib)."),
    ] = None,
) -> None:
    """Train a tagger on CoNLL-U files; the best epoch on --dev is kept in OUTPUT."""
    from postagger.train import resume as resume_training
    from postagger.train import train as run_training
    from postagger.vocab import Vocabulary

    console = _stderr_console()
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    if plot is not None:
        from postagger.plots import require_matplotlib

        require_matplotlib()
    if resume is not None:
        given = [
            p.name for p in ctx.command.params
            if p.name not in ("resume", "help", "strategy", "logdir", "plot")
            and ctx.get_parameter_source(p.name).name != "DEFAULT"
        ]  # fmt: skip
        if given:
            raise PostaggerError(
                f"--resume continues a run with its own data and settings; drop {', '.join(given)}"
            )
        from postagger.modeldir import load_model_info

        col = load_model_info(resume).config.column
        with _TrainingProgress(console, col) as progress:
            metrics = resume_training(resume, progress=progress, strategy=strategy.value, logdir=logdir)
        _print_training_summary(console, metrics, resume, plot)
        return
    if not train or not dev or output is None:
        raise PostaggerError("give training files, --dev and --output (or --resume MODEL_DIR)")

    config = ModelConfig(
        columns=tuple(columns.split(",")), feats_heads=feats_heads.value, aux_weight=aux_weight,
        word_repr=word_repr.value, min_count=min_count, word_dim=word_dim,
        char_encoder=char_encoder.value, char_dim=char_dim, char_units=char_units,
        char_filters=char_filters, char_kernel=char_kernel, lstm_units=lstm_units, lstm_layers=lstm_layers,
        dropout=dropout, word_dropout=word_dropout, learning_rate=learning_rate, lr_decay=lr_decay,
        average_epochs=average_epochs,
        epochs=epochs, batch_size=batch_size, patience=patience, seed=seed,
        freeze_embeddings=freeze_embeddings, extend_vocab=extend_vocab, dual_embeddings=dual_embeddings,
    )  # fmt: skip
    loaded_vocab = Vocabulary.load(vocab) if vocab else None
    with _TrainingProgress(console, config.column) as progress:
        metrics = run_training(
            train, dev, output, config, vocab=loaded_vocab, test_paths=test or (),
            command=_command_line(ctx), progress=progress, vectors=vectors, strategy=strategy.value,
            logdir=logdir,
        )  # fmt: skip
    _print_training_summary(console, metrics, output, plot)


def _print_training_summary(console, metrics: dict, output: Path, plot: Path | None = None) -> None:
    def scores(split: str) -> str:
        found = metrics[split]
        return ", ".join(f"{label} {found[m]:.4f}" for m, label in METRIC_NAMES.items() if m in found)

    summary = f"best epoch {metrics['best_epoch']}: dev {scores('dev')}"
    if "test" in metrics:
        summary += f"; test {scores('test')}"
    console.print(f"{summary} → {output}", soft_wrap=True)
    if plot is not None:
        from postagger.plots import plot_learning_curve

        plot_learning_curve(metrics, plot)
        console.print(f"learning curve → {plot}", soft_wrap=True)


def _command_line(ctx: typer.Context) -> str:
    """The command as a shell line, rebuilt from the parsed parameters (non-default options)."""
    import shlex

    def text(value) -> str:
        return str(value.value if isinstance(value, enum.Enum) else value)

    parts = ["postagger", ctx.info_name or ""]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if param.param_type_name == "argument":
            parts += [text(v) for v in values if v is not None]
        elif value is not None and value != param.default and values and param.name != "help":
            option = max(param.opts, key=len)
            for v in values:
                parts += [option] if v is True else [option, text(v)]
    return shlex.join(parts)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


class _TrainingProgress:
    """A rich progress bar per epoch (only on a terminal) and one log line per epoch."""

    def __init__(self, console, column: str):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console, self.column = console, column
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self.task = None

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def __call__(self, event: str, data: dict) -> None:
        if event == "epoch_start":
            if self.task is not None:
                self.progress.remove_task(self.task)
            label = f"{data['epoch']}/{data['epochs']}"
            self.task = self.progress.add_task("train", total=data["batches"], epoch=label, loss=0.0)
        elif event == "batch":
            self.progress.update(self.task, advance=1, loss=data["loss"])
        elif event == "vectors_coverage":
            self.console.print(_coverage_table(data))
        elif event == "epoch_end":
            mark = "  [green]best[/green]" if data["best"] else ""
            others = data.get("dev_columns", {})
            dev = "  ".join(
                [f"dev {self.column} {data['dev']:.4f}"]
                + [f"{c} {v:.4f}" for c, v in others.items() if c != self.column]
            )
            self.console.print(
                f"epoch {data['epoch']:>3}  loss {data['loss']:.4f}  {dev}{mark}", soft_wrap=True
            )


def _coverage_table(coverage: dict):
    from rich.table import Table

    table = Table(title=f"Vocabulary coverage by {coverage['vectors']} ({coverage['dim']} dimensions)")
    for name in ("found as", "word types", "training tokens"):
        table.add_column(name, justify="left" if name == "found as" else "right")
    labels = {
        "exact": "exact form",
        "lower": "lower-cased form",
        "subword": "subwords only (.bin)",
        "missing": "missing (random)",
    }
    for kind, label in labels.items():
        table.add_row(label, f"{coverage['types'][kind]:,}", f"{coverage['tokens'][kind]:.2%}")
    if coverage.get("added_words"):
        table.caption = f"{coverage['added_words']:,} pretrained words added to the vocabulary"
    return table


@app.command("evaluate")
@cli_errors
def evaluate_cli(
    gold: Annotated[list[Path], typer.Argument(help="Gold CoNLL-U files.", show_default=False)],
    model: ModelOption = None,
    pred: Annotated[
        Optional[list[Path]],
        typer.Option("--pred", help="Score these predicted CoNLL-U files instead of tagging."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
    confusion: Annotated[bool, typer.Option("--confusion", help="Show the whole confusion matrix.")] = False,
    columns: Annotated[
        Optional[str],
        typer.Option(
            callback=lambda v: None if v is None else _parse_columns(v),
            help="Columns to score, comma-separated (default: the model's; UPOS without a model).",
        ),
    ] = None,
    plot: Annotated[
        Optional[Path],
        typer.Option(help="Draw the confusion matrix and per-tag F1 into this PNG file (needs matplotlib)."),
    ] = None,
) -> None:
    """Accuracy (all, seen and unseen words), per-tag scores, confusions and calibration."""
    from postagger.evaluate import evaluate_files

    if plot is not None:
        from postagger.plots import require_matplotlib

        require_matplotlib()
    result = evaluate_files(gold, model, pred, columns.split(",") if columns else None)
    if plot is not None:
        from postagger.plots import plot_confusion

        plot_confusion(result, plot)
        _stderr_console().print(f"confusion matrix → {plot}", soft_wrap=True)
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        _print_evaluation(result, confusion)


def _print_evaluation(result: dict, show_matrix: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    col = result["column"]
    metrics = [m for m in METRIC_NAMES if m in result]
    summary = Table(title="Accuracy", show_header=True)
    summary.add_column("words")
    summary.add_column("count", justify="right")
    for metric in metrics:
        summary.add_column(METRIC_NAMES[metric], justify="right")
    summary.add_row("all", f"{result['tokens']:,}", *(f"{result[m]:.2%}" for m in metrics))
    if "oov_tokens" in result:
        for label, count, suffix in (
            ("seen in training", "seen_tokens", "_seen"),
            ("unseen (OOV)", "oov_tokens", "_oov"),
        ):
            summary.add_row(label, f"{result[count]:,}", *(f"{result[m + suffix]:.2%}" for m in metrics))
    console.print(summary)
    per_tag = Table(title=f"Per tag ({col.upper()})")
    for name in ("tag", "precision", "recall", "F1", "support"):
        per_tag.add_column(name, justify="left" if name == "tag" else "right")
    for tag, s in sorted(result["per_tag"].items(), key=lambda x: -x[1]["support"]):
        per_tag.add_row(
            tag, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}", f"{s['support']:,}"
        )
    console.print(per_tag)
    if result["confusions"]:
        confusions = Table(title="Most frequent confusions")
        for name in ("gold", "predicted", "count"):
            confusions.add_column(name, justify="right" if name == "count" else "left")
        for c in result["confusions"]:
            confusions.add_row(c["gold"], c["predicted"], f"{c['count']:,}")
        console.print(confusions)
    if "calibration" in result:
        cal = result["calibration"]
        table = Table(title=f"Calibration of the chosen tag's probability (ECE {cal['ece']:.4f})")
        for name in ("probability", "words", "share", "accuracy", "mean prob.", "review below", "acc. above"):
            table.add_column(name, justify="left" if name == "probability" else "right")
        for b in cal["buckets"]:
            closing = "]" if b["to"] == 1.0 else ")"
            table.add_row(
                f"[{b['from']:.2f}, {b['to']:.2f}{closing}", f"{b['words']:,}", f"{b['share']:.1%}",
                "—" if b["accuracy"] is None else f"{b['accuracy']:.2%}",
                "—" if b["confidence"] is None else f"{b['confidence']:.3f}",
                f"{b['review_share_below']:.1%}",
                "—" if b["accuracy_at_or_above"] is None else f"{b['accuracy_at_or_above']:.2%}",
            )  # fmt: skip
        console.print(table)
        console.print(
            "review below: the share of words under the bucket's lower edge, for a threshold there; "
            "acc. above: the accuracy of the words the threshold keeps."
        )
    if show_matrix:
        matrix = result["confusion_matrix"]
        table = Table(title="Confusion matrix (rows: gold, columns: predicted)")
        table.add_column("gold \\ pred")
        for tag in matrix["tags"]:
            table.add_column(tag, justify="right")
        for tag, row in zip(matrix["tags"], matrix["counts"]):
            cells = [
                f"[bold]{n:,}[/bold]" if t == tag else (f"[red]{n:,}[/red]" if n else "[dim]·[/dim]")
                for t, n in zip(matrix["tags"], row)
            ]
            table.add_row(tag, *cells)
        console.print(table)


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
    engine: Annotated[
        Engine,
        typer.Option(
            help="auto: onnx (NumPy + ONNX Runtime) when the model has weights.npz, NumPy alone without "
            "onnxruntime, else Keras."
        ),
    ] = Engine.auto,
    jobs: Annotated[
        int, typer.Option(min=1, help="Worker processes for big inputs (one per core is best).")
    ] = 1,
    with_confidence: Annotated[
        bool,
        typer.Option(help="Add each chosen tag's probability (MISC UPOSProb=, a tsv column, jsonl probs)."),
    ] = False,
    top_k: Annotated[
        int, typer.Option(min=0, help="Also give the N best tags with probabilities (implies confidence).")
    ] = 0,
) -> None:
    """Tag files or stdin; data to stdout (or -o), messages to stderr."""
    # The NumPy and ONNX engines' products are small: one thread is nearly as fast alone and
    # far faster when other processes share the cores (threads that spin-wait for each
    # other collapse under contention); --jobs is the way to use more cores.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from postagger.formats import guess_input_format

    inputs = inputs or ["-"]
    for path in inputs:
        if path != "-" and not Path(path).is_file():
            raise PostaggerError("no such file" if not Path(path).exists() else "is not a file", path)
    from postagger.modeldir import load_model_info
    from postagger.pipeline import Job

    top = max(top_k, 1 if with_confidence else 0)
    if top and output_format is OutputFormat.inline:
        raise PostaggerError("inline output has no room for confidences: use conllu, tsv or jsonl")
    info = load_model_info(model)
    if engine is Engine.onnx:
        from postagger import onnx_engine

        onnx_engine.require()
    plan = [(path, Job(input_format or guess_input_format(path), output_format, batch_size, top))
            for path in inputs]  # fmt: skip
    if output is None:
        _tag_to(sys.stdout, info, engine.value, plan, jobs)
        sys.stdout.flush()
    else:
        from postagger.atomic import atomic_output

        with atomic_output(output) as stream:
            _tag_to(stream, info, engine.value, plan, jobs)


def _tag_to(stream, info, engine: str, plan, jobs: int) -> None:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from postagger.pipeline import tag_files

    console = _stderr_console()
    with Progress(
        SpinnerColumn(),
        TextColumn("tagged {task.completed:,} sentences"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("tag", total=None)
        tag_files(stream, info, engine, plan, jobs, advance=lambda n: progress.advance(task, n))


@app.command("info")
@cli_errors
def info_cli(
    model_dir: Annotated[
        Optional[Path],
        typer.Argument(help="Model directory [default: the shipped model].", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """What a model is: treebank, tag set, sizes, scores, versions and training command."""
    from postagger.modeldir import load_model_info

    info = load_model_info(model_dir)
    record = {
        "path": str(info.path),
        "treebank": info.provenance.get("treebank"),
        "column": info.config.column,
        "columns": list(info.config.columns),
        "tags": info.vocab.tags.items[1:],
        "vocabulary": info.vocab.summary(),
        "config": info.config.to_json(),
        "metrics": {k: v for k, v in info.metrics.items() if k != "history"},
        "provenance": info.provenance,
        "size_bytes": sum(f.stat().st_size for f in info.path.iterdir() if f.is_file()),
    }
    if as_json:
        print(json.dumps(record, ensure_ascii=False, indent=1))
        return
    _print_info(record)


def _print_info(record: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Model {record['path']}", show_header=False)
    prov, metrics, col = record["provenance"], record["metrics"], record["column"]
    table.add_row("treebank", str(record["treebank"]))
    table.add_row("predicts", f"{col.upper()}: {' '.join(record['tags'])}")
    if len(record["columns"]) > 1:
        table.add_row("also predicts", ", ".join(c.upper() for c in record["columns"][1:]))
    vocab = record["vocabulary"]
    sizes = {head: n for head, n in vocab["tags"].items() if not head.startswith("feats:")}
    features = [n for head, n in vocab["tags"].items() if head.startswith("feats:")]
    tags = ", ".join(f"{n:,} {head}" for head, n in sizes.items())
    if features:
        tags += f", {len(features)} feature heads ({sum(features) - len(features):,} values)"
    table.add_row("vocabulary", f"{vocab['words']:,} words, {vocab['chars']:,} characters; tags: {tags}")
    table.add_row("size", f"{record['size_bytes'] / 1e6:.1f} MB")
    for split in ("dev", "test"):
        for metric in METRIC_NAMES:
            if split in metrics and metric in metrics[split]:
                s = metrics[split]
                extra = f" (unseen words {s[metric + '_oov']:.2%})" if metric + "_oov" in s else ""
                table.add_row(f"{split} {METRIC_NAMES[metric]}", f"{s[metric]:.2%}{extra}")
    if not metrics.get("complete", True):
        table.add_row("state", "[yellow]training did not finish; best epoch so far[/yellow]")
    cfg = record["config"]
    table.add_row("network", ", ".join(f"{k}={v}" for k, v in cfg.items()))
    for split, files in prov.get("data", {}).items():
        table.add_row(
            f"{split} data",
            "; ".join(f"{f['name']} ({f['words']:,} words, sha256 {f['sha256'][:12]})" for f in files),
        )
    if "libraries" in prov:
        table.add_row("libraries", ", ".join(f"{k} {v}" for k, v in prov["libraries"].items()))
    if "trained" in prov:
        t = prov["trained"]
        table.add_row(
            "trained", f"{t['date']}, {t['seconds']:.0f} s, best epoch {t['best_epoch']} of {t['epochs_run']}"
        )
    if prov.get("command"):
        table.add_row("command", prov["command"])
    Console().print(table)


vectors_app = typer.Typer(
    help="Pretrained word vectors: train, check coverage, find neighbours, export, extract.",
    no_args_is_help=True,
)
app.add_typer(vectors_app, name="vectors")


@vectors_app.command("train")
@cli_errors
def vectors_train_cli(
    text: Annotated[Path, typer.Argument(help="Raw UTF-8 text, tokenized with spaces.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="fastText .bin model to write.")],
    dim: Annotated[int, typer.Option(min=1, help="Vector dimension.")] = 100,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the text.")] = 5,
    min_count: Annotated[int, typer.Option(min=1, help="Ignore words rarer than this.")] = 5,
) -> None:
    """Train skipgram fastText vectors on raw text (for languages or domains without vectors)."""
    from rich.status import Status

    from postagger.vectors import train_vectors

    console = _stderr_console()
    with (
        Status(f"training fastText vectors on {text}", console=console) if console.is_terminal else _nothing()
    ):
        result = train_vectors(text, output, dim=dim, epochs=epochs, min_count=min_count)
    console.print(f"{result['words']:,} words × {result['dim']} dimensions → {output}")


@contextlib.contextmanager
def _nothing():
    yield


@vectors_app.command("check")
@cli_errors
def vectors_check_cli(
    vectors: Annotated[Path, typer.Argument(help="Vectors file (.bin, .vec, .vec.gz).", show_default=False)],
    vocab: Annotated[Path, typer.Option(help="Vocabulary JSON (from `postagger vocab`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")] = False,
) -> None:
    """How many vocabulary words the vectors cover (exact, lower-cased, subword-only, missing)."""
    from postagger.vectors import align
    from postagger.vocab import Vocabulary

    coverage = align(Vocabulary.load(vocab), vectors).coverage
    if as_json:
        print(json.dumps(coverage, ensure_ascii=False, indent=1))
    else:
        from rich.console import Console

        Console().print(_coverage_table(coverage))


@vectors_app.command("neighbors")
@cli_errors
def vectors_neighbors_cli(
    source: Annotated[Path, typer.Argument(help="Vectors file or model directory.", show_default=False)],
    words: Annotated[list[str], typer.Argument(help="Query words.", show_default=False)],
    k: Annotated[int, typer.Option("-k", min=1, help="Neighbours per word.")] = 10,
    limit: Annotated[int, typer.Option(min=1, help="Search among the N most frequent words.")] = 200_000,
) -> None:
    """Nearest words by cosine similarity, from vectors or a trained model's embeddings."""
    from rich.console import Console
    from rich.table import Table

    from postagger.vectors import embedding_rows, nearest

    vocabulary, matrix, subword = embedding_rows(source, limit)
    index = {w: i for i, w in enumerate(vocabulary)}
    console = Console()
    for word in words:
        if word in index:
            query = matrix[index[word]]
        elif subword is not None:
            query = subword(word)
        else:
            raise PostaggerError(f"{word!r} is not among the {len(vocabulary):,} words searched", source)
        table = Table(title=f"nearest to {word!r}")
        table.add_column("word")
        table.add_column("cosine", justify="right")
        for other, similarity in nearest(matrix, vocabulary, query, k, exclude=[word]):
            table.add_row(other, f"{similarity:.3f}")
        console.print(table)


@vectors_app.command("export")
@cli_errors
def vectors_export_cli(
    source: Annotated[Path, typer.Argument(help="Vectors file or model directory.", show_default=False)],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Directory for vectors.tsv and metadata.tsv.")
    ],
    limit: Annotated[int, typer.Option(min=1, help="Export the N most frequent words.")] = 100_000,
) -> None:
    """Write vectors.tsv and metadata.tsv for the TensorBoard embedding projector."""
    from postagger.vectors import export_projector

    result = export_projector(source, output, limit)
    _stderr_console().print(f"{result['words']:,} words × {result['dim']} dimensions → {output}")


@vectors_app.command("extract")
@cli_errors
def vectors_extract_cli(
    source: Annotated[
        Path, typer.Argument(help="Big vectors file (.bin, .vec, .vec.gz).", show_default=False)
    ],
    vocab: Annotated[Path, typer.Option(help="Vocabulary JSON (from `postagger vocab`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Small .vec file to write.")],
    extend_vocab: Annotated[int, typer.Option(min=0, help="Also keep the N most frequent other words.")] = 0,
) -> None:
    """Keep only the rows a vocabulary needs, so a huge vectors file is read once."""
    from postagger.vectors import extract
    from postagger.vocab import Vocabulary

    result = extract(source, Vocabulary.load(vocab), output, extend_vocab)
    _stderr_console().print(f"{result['words']:,} words × {result['dim']} dimensions → {output}")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="postagger")
