"""PNG figures: the confusion matrix with per-tag F1 (`evaluate --plot`) and the learning
curve of a training run (`train --plot`).

matplotlib is an optional extra (`pip install 'postagger[plot]'`); it is imported only when
a figure is asked for, with the Agg backend (no display needed). Figures are written
atomically: a failed or interrupted plot leaves no partial file.
"""

from __future__ import annotations

from pathlib import Path

from postagger.errors import PostaggerError


def require_matplotlib() -> None:
    """Fail now, not after a long training run, when matplotlib is missing."""
    _pyplot()


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise PostaggerError(
            "--plot needs matplotlib: pip install 'postagger[plot]' (or matplotlib)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> None:
    from postagger.atomic import atomic_output

    with atomic_output(path, binary=True) as stream:
        fig.savefig(stream, format="png", dpi=120, bbox_inches="tight")


def plot_confusion(result: dict, path: str | Path) -> None:
    """The confusion matrix of an `evaluate` result (rows: gold, columns: predicted; each row
    as shares of its gold tag, counts written in the cells) beside each tag's F1."""
    import numpy as np

    plt = _pyplot()
    matrix = result["confusion_matrix"]
    tags, counts = matrix["tags"], np.array(matrix["counts"], dtype=float)
    shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    size = max(6.0, 0.45 * len(tags) + 3)
    fig, (ax, bars) = plt.subplots(
        1, 2, figsize=(size + 3, size), gridspec_kw={"width_ratios": [size, 3]}, layout="constrained"
    )
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(tags)), tags, rotation=90)
    ax.set_yticks(range(len(tags)), tags)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    column = result["column"].upper()
    ax.set_title(
        f"{column} confusion matrix ({result['tokens']:,} words, accuracy {result[result['column']]:.2%})"
    )
    for i in range(len(tags)):
        for j in range(len(tags)):
            if counts[i, j]:
                colour = "white" if shares[i, j] > 0.5 else "black"
                ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=6, color=colour)
    f1 = [result["per_tag"].get(tag, {}).get("f1", 0.0) for tag in tags]
    bars.barh(range(len(tags)), f1, color="tab:blue")
    bars.set_yticks(range(len(tags)), tags)
    bars.set_ylim(len(tags) - 0.5, -0.5)  # the matrix's row order
    bars.set_xlim(0, 1)
    bars.set_xlabel("F1")
    bars.set_title("per-tag F1")
    for i, value in enumerate(f1):
        bars.text(min(value, 0.98), i, f"{value:.3f}", ha="right", va="center", fontsize=7, color="white")
    _save(fig, path)
    plt.close(fig)


def plot_learning_curve(metrics: dict, path: str | Path) -> None:
    """Dev accuracy of every column and the training loss per epoch, against training time
    when the history has it (the best epoch marked)."""
    plt = _pyplot()
    history = metrics.get("history") or []
    if not history:
        raise PostaggerError("no training history to plot")
    timed = all("seconds" in h for h in history)
    x = [h["seconds"] / 60 for h in history] if timed else [h["epoch"] for h in history]
    fig, (acc, loss) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, layout="constrained")
    columns = history[0].get("dev_columns") or {"dev": None}
    for name in columns:
        values = [h["dev_columns"][name] if name != "dev" else h["dev"] for h in history]
        acc.plot(x, values, marker="o", label=name.upper() if name != "dev" else "dev")
    best = metrics.get("best_epoch")
    if best:
        acc.axvline(x[best - 1], color="grey", linestyle="--", label=f"best epoch ({best})")
    acc.set_ylabel("dev accuracy")
    acc.grid(alpha=0.3)
    acc.legend()
    loss.plot(x, [h["loss"] for h in history], marker="o", color="tab:red")
    loss.set_ylabel("training loss")
    loss.set_xlabel("training time (minutes)" if timed else "epoch")
    loss.grid(alpha=0.3)
    acc.set_title("Learning curve")
    _save(fig, path)
    plt.close(fig)
