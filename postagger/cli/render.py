"""How results look in a terminal: rich tables and progress displays for the commands.

Messages and progress go to stderr; tables that are a command's answer (`evaluate`,
`info`, `vectors check`, `vectors neighbors`) go to stdout, as `--json` does.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

#: the scores `evaluate` and `info` show, as the CoNLL 2018 shared task names them
METRIC_NAMES = {"upos": "UPOS", "xpos": "XPOS", "feats": "FEATS", "ufeats": "UFeats", "alltags": "AllTags"}


def vocab_summary(summary: dict, path: Path) -> Table:
    table = Table(title=f"Vocabulary → {path}", show_header=False)
    table.add_row("columns", summary["columns"])
    table.add_row("training tokens", f"{summary['training_tokens']:,}")
    table.add_row("distinct word forms", f"{summary['training_types']:,}")
    table.add_row("word ids (incl. <pad>, <unk>)", f"{summary['words']:,}")
    table.add_row("character ids (incl. <pad>, <unk>)", f"{summary['chars']:,}")
    for head, n in summary["tags"].items():
        table.add_row(f"{head} tags", f"{n:,}")
    table.add_row("coverage of training tokens", f"{summary['token_coverage']:.2%}")
    return table


def training_summary(metrics: dict, output: Path) -> str:
    def scores(split: str) -> str:
        found = metrics[split]
        return ", ".join(f"{label} {found[m]:.4f}" for m, label in METRIC_NAMES.items() if m in found)

    summary = f"best epoch {metrics['best_epoch']}: dev {scores('dev')}"
    if "test" in metrics:
        summary += f"; test {scores('test')}"
    return f"{summary} → {output}"


class TrainingProgress:
    """A rich progress bar per epoch (only on a terminal) and one log line per epoch; called
    as a training progress callback (`postagger.train.ProgressCallback`)."""

    def __init__(self, console: Console, column: str):
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

        self.console, self.column = console, column
        self.progress = _progress(
            console,
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
        )
        self.task = None

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def __call__(self, event: str, data: dict) -> None:
        if event in ("epoch_start", "segmenter_epoch_start"):
            if self.task is not None:
                self.progress.remove_task(self.task)
            label = f"{data['epoch']}/{data['epochs']}" + (" (segmenter)" if event != "epoch_start" else "")
            self.task = self.progress.add_task("train", total=data["batches"], epoch=label, loss=0.0)
        elif event == "segmenter_epoch_end":
            mark = "  [green]best[/green]" if data["best"] else ""
            self.console.print(
                f"segmenter epoch {data['epoch']:>3}  loss {data['loss']:.4f}  dev tokens "
                f"{data['tokens']:.4f}  sentences {data['sentences']:.4f}{mark}",
                soft_wrap=True,
            )
        elif event == "batch":
            self.progress.update(self.task, advance=1, loss=data["loss"])
        elif event == "mimick_epoch_end":
            self.console.print(
                f"subword pretraining epoch {data['epoch']}/{data['epochs']}  loss {data['loss']:.4f}  "
                f"({data['words']:,} pretrained words)",
                soft_wrap=True,
            )
        elif event == "missing_tags":
            self.console.print(
                f"{data['column'].upper()}: {data['missing']:,} of {data['words']:,} training words have "
                f"no tag ('_'); they are left out of {data['column'].upper()}'s loss",
                soft_wrap=True,
            )
        elif event == "no_documents":
            self.console.print(
                "word dropout counts occurrences: the training files mark no documents (# newdoc)",
                soft_wrap=True,
            )
        elif event == "vectors_coverage":
            self.console.print(coverage_table(data))
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


def tagging_progress(console: Console, sized: bool):
    """The sentences tagged (only on a terminal): with `sized` (the input's bytes are known:
    files), a bar of the share read and the time left, else a spinner. Its task advances by
    bytes and counts sentences in its "sentences" field."""
    from rich.progress import BarColumn, SpinnerColumn, TaskProgressColumn, TextColumn, TimeRemainingColumn

    count = TextColumn("tagged {task.fields[sentences]:,} sentences")
    if sized:
        return _progress(console, BarColumn(), TaskProgressColumn(), count, TimeRemainingColumn())
    return _progress(console, SpinnerColumn(), count)


def _progress(console: Console, *columns):
    """A progress display with the elapsed time, shown only on a terminal, gone when done."""
    from rich.progress import Progress, TimeElapsedColumn

    return Progress(
        *columns, TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal
    )


def coverage_table(coverage: dict) -> Table:
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


def neighbours_table(word: str, neighbours: list[tuple[str, float]]) -> Table:
    table = Table(title=f"nearest to {word!r}")
    table.add_column("word")
    table.add_column("cosine", justify="right")
    for other, similarity in neighbours:
        table.add_row(other, f"{similarity:.3f}")
    return table


def print_evaluation(console: Console, result: dict, show_matrix: bool = False) -> None:
    """The tables of `postagger evaluate`: accuracy, per tag, confusions, calibration and,
    with `show_matrix`, the whole confusion matrix; for output tokenized otherwise than the
    gold (raw text), the CoNLL 2018 F1 scores."""
    if "tokens" not in result:
        console.print(_conll18_table(result["conll18"]))
        return
    console.print(_accuracy_table(result))
    console.print(_per_tag_table(result))
    if result["confusions"]:
        confusions = Table(title="Most frequent confusions")
        for name in ("gold", "predicted", "count"):
            confusions.add_column(name, justify="right" if name == "count" else "left")
        for c in result["confusions"]:
            confusions.add_row(c["gold"], c["predicted"], f"{c['count']:,}")
        console.print(confusions)
    if "calibration" in result:
        console.print(_calibration_table(result["calibration"]))
        console.print(
            "review below: the share of words under the bucket's lower edge, for a threshold there; "
            "acc. above: the accuracy of the words the threshold keeps."
        )
    if show_matrix:
        console.print(_matrix_table(result["confusion_matrix"]))


def _conll18_table(scores: dict) -> Table:
    names = {"tokens": "Tokens", "sentences": "Sentences", "words": "Words", **METRIC_NAMES}
    table = Table(title="CoNLL 2018 scores (tokenization differs from the gold)")
    for name in ("metric", "gold", "system", "right", "precision", "recall", "F1"):
        table.add_column(name, justify="left" if name == "metric" else "right")
    for metric, s in scores.items():
        counts = (f"{s[k]:,}" for k in ("gold", "system", "correct"))
        rates = (f"{s[k]:.2%}" for k in ("precision", "recall", "f1"))
        table.add_row(names[metric], *counts, *rates)
    return table


def _accuracy_table(result: dict) -> Table:
    metrics = [m for m in METRIC_NAMES if m in result]
    table = Table(title="Accuracy", show_header=True)
    table.add_column("words")
    table.add_column("count", justify="right")
    for metric in metrics:
        table.add_column(METRIC_NAMES[metric], justify="right")
    table.add_row("all", f"{result['tokens']:,}", *(f"{result[m]:.2%}" for m in metrics))
    if "oov_tokens" in result:
        for label, count, suffix in (
            ("seen in training", "seen_tokens", "_seen"),
            ("unseen (OOV)", "oov_tokens", "_oov"),
        ):
            table.add_row(label, f"{result[count]:,}", *(f"{result[m + suffix]:.2%}" for m in metrics))
    return table


def _per_tag_table(result: dict) -> Table:
    table = Table(title=f"Per tag ({result['column'].upper()})")
    for name in ("tag", "precision", "recall", "F1", "support"):
        table.add_column(name, justify="left" if name == "tag" else "right")
    for tag, s in sorted(result["per_tag"].items(), key=lambda x: -x[1]["support"]):
        table.add_row(
            tag, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}", f"{s['support']:,}"
        )
    return table


def _calibration_table(cal: dict) -> Table:
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
    return table


def _matrix_table(matrix: dict) -> Table:
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
    return table


def info_table(record: dict) -> Table:
    """`postagger info`: a model's record (`postagger.modeldir.describe`) as a table."""
    table = Table(title=f"Model {record['path']}", show_header=False)
    prov, metrics, col = record["provenance"], record["metrics"], record["column"]
    table.add_row("treebank", str(record["treebank"]))
    table.add_row("predicts", f"{col.upper()}: {' '.join(record['tags'])}")
    if len(record["columns"]) > 1:
        table.add_row("also predicts", ", ".join(c.upper() for c in record["columns"][1:]))
    vocab = record["vocabulary"]
    tags = ", ".join(f"{n:,} {head}" for head, n in vocab["column_tags"].items())
    if vocab["feature_heads"]:
        tags += f", {vocab['feature_heads']} feature heads ({vocab['feature_values']:,} values)"
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
    table.add_row("network", ", ".join(f"{k}={v}" for k, v in record["config"].items()))
    for split, files in prov.get("data", {}).items():
        described = [f"{f['name']} ({f['words']:,} words, sha256 {f['sha256'][:12]})" for f in files]
        table.add_row(f"{split} data", "; ".join(described))
    if "libraries" in prov:
        table.add_row("libraries", ", ".join(f"{k} {v}" for k, v in prov["libraries"].items()))
    if "trained" in prov:
        t = prov["trained"]
        table.add_row(
            "trained", f"{t['date']}, {t['seconds']:.0f} s, best epoch {t['best_epoch']} of {t['epochs_run']}"
        )
    if prov.get("command"):
        table.add_row("command", prov["command"])
    return table
