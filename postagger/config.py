"""Settings from one source: the model's hyper-parameters (`ModelConfig`, a frozen dataclass
saved as JSON beside the model) and the other options of a training run (`RunOptions`).

Each setting's default, allowed values, help text and help panel are declared once, on its
field (`setting(...)`): `ModelConfig` checks values against them, and the `train` command's
options are built from them (`postagger.cli.options`), so adding an option is one edit.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from postagger.errors import ModelError, PostaggerError

WORD_REPRS = ("word", "chars", "both")
CHAR_ENCODERS = ("lstm", "cnn")
COLUMNS = ("upos", "xpos", "feats")  # the CoNLL-U columns a model can learn
FEATS_HEADS = ("whole", "split")
WORD_DROPOUT_COUNTS = ("occurrences", "documents")
STRATEGIES = ("default", "mirrored", "multiworker")
ENGINES = ("auto", "onnx", "numpy", "keras", "onnx-int8")  # see postagger.engines
#: the help panels of `postagger train --help`, in order
PANELS = ("data", "network", "training", "vectors", "segmenter", "output")
_COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
ABSENT_MEANS = {
    "char_encoder": "cnn",
    "dual_embeddings": False,
    "feats_heads": "whole",
    "aux_weight": 1.0,
    "average_epochs": 0.0,
    "extend_neighbours": 0,
    "restart_epochs": 0,
    "word_dropout_counts": "occurrences",
}


@dataclass(frozen=True)
class Option:
    """How a setting is offered on the command line, and the values it takes."""

    help: str
    panel: str  # one of PANELS
    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    below: float | None = None
    choices: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # option names; default --<field-name>; "--a/--b" for a switch
    with_resume: bool = False  # may be given with --resume (how to run, not what to learn)
    check: Callable[[Any], str | None] | None = None  # value → why it is wrong, or None

    @property
    def limits(self) -> list[tuple[float, str]]:
        """The bounds that apply, as (bound, comparison): (0, ">="), (1, "<"), ..."""
        named = ((self.at_least, ">="), (self.above, ">"), (self.at_most, "<="), (self.below, "<"))
        return [(bound, sign) for bound, sign in named if bound is not None]

    def problem(self, name: str, value: Any) -> str | None:
        """Why `value` is not allowed for the setting `name`, or None."""
        if self.choices and value not in self.choices:
            return f"{name} must be one of {', '.join(self.choices)}"
        if self.check is not None:
            return self.check(value)
        if isinstance(value, (int, float)) and not all(_COMPARE[sign](value, b) for b, sign in self.limits):
            return f"{name} must be " + " and ".join(f"{sign} {bound:g}" for bound, sign in self.limits)
        return None


def setting(default: Any, help: str, panel: str, **limits) -> Any:
    """A dataclass field declared with its `Option` (see `Option` for `limits`)."""
    return field(default=default, metadata={"option": Option(help, panel, **limits)})


def options_of(cls) -> dict[str, Option]:
    """The options of a settings dataclass, by field name, in declaration order."""
    return {f.name: f.metadata["option"] for f in dataclasses.fields(cls) if "option" in f.metadata}


def columns_problem(columns: tuple[str, ...] | list[str]) -> str | None:
    """Why these columns cannot be learnt together, or None when they can."""
    if not columns or any(c not in COLUMNS for c in columns) or len(set(columns)) < len(columns):
        return f"expected distinct columns among {', '.join(COLUMNS)}, not {','.join(columns)!r}"
    return None


@dataclass(frozen=True)
class ModelConfig:
    """Every choice that shapes a trained model. Defaults are what worked on EWT and on a
    1,000-sentence slice of it (docs/BENCHMARKS.md); the shipped model is these defaults plus
    pretrained vectors (see the Makefile)."""

    columns: tuple[str, ...] = setting(
        ("upos",),
        (
            "Columns to learn, comma-separated, among upos, xpos, feats (one shared network, one softmax "
            "head each); the first picks the best epoch and carries the confidences."
        ),
        "data",
        check=columns_problem,
    )
    feats_heads: str = setting(
        "whole", "FEATS as one tag (the whole string) or one head per feature.", "data", choices=FEATS_HEADS
    )
    min_count: int = setting(
        1, "Words seen fewer times share the unknown-word embedding.", "data", at_least=1
    )
    word_repr: str = setting(
        "both", "Word embedding, character encoder, or both.", "network", choices=WORD_REPRS
    )
    word_dim: int = setting(
        100, "Word embedding size (the vectors' dimension with --vectors).", "network", at_least=1
    )
    char_encoder: str = setting(
        "cnn",
        "Character encoder: BiLSTM (final states) or CNN (max-pooled).",
        "network",
        choices=CHAR_ENCODERS,
    )
    char_dim: int = setting(32, "Character embedding size.", "network", at_least=1)
    char_units: int = setting(64, "Character BiLSTM units per direction.", "network", at_least=1)
    char_filters: int = setting(100, "Character CNN filters.", "network", at_least=1)
    char_kernel: int = setting(3, "Character CNN kernel width.", "network", at_least=1)
    max_word_chars: int = setting(
        24, "Longer words keep their first and last halves of this many characters.", "network", at_least=1
    )
    lstm_units: int = setting(128, "BiLSTM units per direction.", "network", at_least=1)
    lstm_layers: int = setting(2, "Stacked BiLSTM layers.", "network", at_least=1)
    dropout: float = setting(
        0.33, "Dropout on the word representation and between layers.", "network", at_least=0, below=1
    )
    # 0.25: with 1, joint training cost 0.2-0.4 points of dev UPOS on EWT (docs/BENCHMARKS.md)
    aux_weight: float = setting(
        0.25, "Loss weight of each column after the first (which weighs 1).", "training", above=0
    )
    # a word seen n times becomes <unk> with p = alpha/(alpha+n); 1 beat 0.25 on EWT and on a
    # 1,000-sentence slice of it, mostly on unseen words (docs/BENCHMARKS.md)
    word_dropout: float = setting(
        1.0, "Rare-word → <unk> replacement strength (alpha).", "training", at_least=0
    )
    # documents: a name repeated within one document is hidden as often as a word seen once,
    # as new documents bring new names (docs/BENCHMARKS.md)
    word_dropout_counts: str = setting(
        "occurrences",
        "What n counts in word dropout: a word's occurrences, or the training documents"
        " (# newdoc) it occurs in (occurrences for files without # newdoc).",
        "training",
        choices=WORD_DROPOUT_COUNTS,
    )
    # Adam; 0.001 learns the character encoders too slowly (docs/BENCHMARKS.md)
    learning_rate: float = setting(0.003, "Adam learning rate.", "training", above=0)
    lr_decay: float = setting(
        0.5, "Learning-rate factor after an epoch without dev gain.", "training", above=0, at_most=1
    )
    clipnorm: float = setting(5.0, "Gradients are clipped to this norm.", "training", above=0)
    # Polyak averaging over about this many epochs of updates; 0: the last weights
    average_epochs: float = setting(
        0.0,
        "Score and keep the weights' moving average over about this many epochs (0: off).",
        "training",
        at_least=0,
    )
    epochs: int = setting(30, "Maximum number of epochs.", "training", at_least=1)
    # after the last epoch, from the best weights with fresh Adam moments at the best epoch's
    # learning rate; the best epoch (restarts included) is kept (docs/BENCHMARKS.md)
    restart_epochs: int = setting(
        0,
        "Then train this many more epochs from the best weights, optimizer restarted at the best "
        "epoch's learning rate (0: off).",
        "training",
        at_least=0,
    )
    batch_size: int = setting(
        0, "Sentences per batch; 0: about 125 batches an epoch, 8 to 32 each.", "training", at_least=0
    )
    patience: int = setting(
        5, "Stop after this many epochs without dev gain (0: never).", "training", at_least=0
    )
    seed: int = setting(1, "Random seed: same seed, same data → same model.", "training")
    freeze_embeddings: bool = setting(
        False,
        "Keep pretrained word embeddings fixed, or train them further.",
        "vectors",
        names=("--freeze-embeddings/--fine-tune-embeddings",),
    )
    extend_vocab: int = setting(
        0, "Add up to N frequent pretrained words missing from the training data.", "vectors", at_least=0
    )
    extend_neighbours: int = setting(
        5,
        "Move each word added by --extend-vocab as fine-tuning moved its N nearest training "
        "words (0: keep its pretrained row).",
        "vectors",
        at_least=0,
    )
    dual_embeddings: bool = setting(
        False,
        "Train an embedding of the training words and feed the frozen "
        "pretrained vectors of all words beside it.",
        "vectors",
    )
    subword_pretraining: bool = setting(
        False,
        "Before tagging, train the character encoder to give the pretrained vectors of the vectors "
        "file's 100,000 first words from their spelling (Mimick), for words without a vector.",
        "vectors",
    )
    vectors: str = ""  # name of the pretrained vectors file the embeddings started from (recorded)

    def __post_init__(self):
        problems = []
        for name, option in options_of(ModelConfig).items():
            value = getattr(self, name)
            problems.append(
                _type_problem(name, value, type(_DEFAULTS.get(name, value))) or option.problem(name, value)
            )
        if self.feats_heads == "split" and self.columns[:1] == ("feats",):
            problems.append("FEATS learnt per feature (feats_heads split) cannot be the first column")
        problems = [p for p in problems if p]
        if problems:
            raise PostaggerError("invalid settings: " + "; ".join(problems))

    @property
    def column(self) -> str:
        """The primary column: the one early stopping and confidences are about."""
        return self.columns[0]

    def vectors_problem(self, vectors_given: bool) -> str | None:
        """Why these settings cannot train with (or without) pretrained vectors, or None."""
        if not vectors_given and (self.freeze_embeddings or self.extend_vocab or self.dual_embeddings):
            return "freezing, extending or doubling the embeddings needs pretrained vectors (--vectors)"
        if self.subword_pretraining and (not vectors_given or self.word_repr == "word"):
            return "--subword-pretraining needs pretrained vectors (--vectors) and a character encoder"
        if self.dual_embeddings and self.freeze_embeddings:
            return "--dual-embeddings keeps a frozen copy already: leave out --freeze-embeddings"
        if vectors_given and self.word_repr == "chars":
            return "pretrained word vectors need a word embedding (--word-repr word or both)"
        return None

    def ema_momentum(self, batches_per_epoch: int) -> float:
        """Momentum of the weights' moving average: a horizon of `average_epochs` epochs
        (1 - 1/updates), so that it means the same on small and big treebanks."""
        return 1.0 - 1.0 / max(1.0, self.average_epochs * batches_per_epoch)

    def with_batch_size_for(self, n_sentences: int) -> ModelConfig:
        """This config with an automatic batch size (0) made concrete for a training set."""
        if self.batch_size:
            return self
        return dataclasses.replace(self, batch_size=auto_batch_size(n_sentences))

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "columns": list(self.columns)}

    @classmethod
    def from_json(cls, data: dict, path: str | Path = "config.json") -> ModelConfig:
        data = dict(data)
        if "column" in data and "columns" not in data:  # written before joint heads: one column
            data["columns"] = [data.pop("column")]
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"unknown settings {', '.join(unknown)} (written by a newer postagger?)", path)
        # settings added after format 1 was fixed: a file without them was written by a
        # version that had only the old behaviour, whatever today's default is
        data = {**ABSENT_MEANS, **data}
        if isinstance(data.get("columns"), list) and all(isinstance(c, str) for c in data["columns"]):
            data["columns"] = tuple(data["columns"])
        for name, value in data.items():
            expected = type(_DEFAULTS[name])
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                data[name] = float(value)
            elif _type_problem(name, value, expected):
                raise ModelError(f"setting {name} has the wrong type ({value!r})", path)
        try:
            return cls(**data)
        except PostaggerError as err:
            raise ModelError(err.message, path) from None


_DEFAULTS = {f.name: f.default for f in dataclasses.fields(ModelConfig)}


def _type_problem(name: str, value: Any, expected: type) -> str | None:
    """Why `value` is not of the setting's type (a float setting takes a whole number too)."""
    if type(value) is expected or (expected is float and type(value) is int):
        return None
    return f"{name} must be of type {expected.__name__}, not {value!r}"


def auto_batch_size(n_sentences: int) -> int:
    """About 125 updates an epoch, between 8 and 32 sentences a batch.

    Small treebanks need many small steps (on 1,000 EWT sentences batch 8 scores 0.886 test
    UPOS against 0.880 for 32); big ones train faster in batches of 32 (the shipped model).
    """
    return max(8, min(32, round(n_sentences / 125)))


@dataclass(frozen=True)
class RunOptions:
    """The options of `postagger train` beyond the model's settings: where the data comes
    from, where the model goes, how the run is carried out."""

    dev: Optional[list[Path]] = setting(None, "Dev CoNLL-U file(s) for early stopping.", "data")
    test: Optional[list[Path]] = setting(None, "Test file(s), scored into metrics.json.", "data")
    vocab: Optional[Path] = setting(None, "Vocabulary JSON from `postagger vocab`.", "data")
    vectors: Optional[Path] = setting(
        None, "Pretrained vectors (.bin, .vec, .vec.gz) to start the word embeddings from.", "vectors"
    )
    strategy: str = setting(
        "default",
        "tf.distribute strategy: default device, mirrored (all local GPUs), "
        "or multiworker (machines in TF_CONFIG).",
        "training",
        choices=STRATEGIES,
        with_resume=True,
    )
    segmenter: bool = setting(
        True,
        "Also train the raw-text segmenter (a character network) on the training files' text; "
        "without it, raw text is split by rules.",
        "segmenter",
    )
    output: Optional[Path] = setting(None, "Model directory to write.", "output", names=("--output", "-o"))
    resume: Optional[Path] = setting(
        None,
        "Continue the interrupted training in this model directory (nothing else given).",
        "output",
        with_resume=True,
    )
    logdir: Optional[Path] = setting(
        None,
        "Write TensorBoard scalars per epoch and the word-embedding projector files here.",
        "output",
        with_resume=True,
    )
    plot: Optional[Path] = setting(
        None,
        "Draw the learning curve into this PNG file at the end (needs matplotlib).",
        "output",
        with_resume=True,
    )


@dataclass(frozen=True)
class SegmenterConfig:
    """The raw-text segmenter: characters (and their Unicode categories) → embeddings →
    `layers` convolutions of width `kernel`, dilated 1, 2, 4, ... (residual, ReLU) → for
    each character: inside a token, token end, or sentence end. Defaults chosen on
    en_ewt-ud-dev's text (docs/BENCHMARKS.md). Saved in segmenter.json."""

    filters: int = setting(48, "Segmenter convolution filters.", "segmenter", at_least=1)
    kernel: int = setting(5, "Segmenter convolution width (odd).", "segmenter", at_least=1)
    layers: int = setting(5, "Segmenter convolutions, dilated 1, 2, 4, ...", "segmenter", at_least=1)
    char_dim: int = 32
    category_dim: int = 8
    dropout: float = setting(0.1, "Segmenter dropout.", "segmenter", at_least=0, below=1)
    epochs: int = setting(40, "Segmenter epochs (the best on dev is kept).", "segmenter", at_least=1)
    window: int = setting(256, "Characters per training row.", "segmenter", at_least=8)
    batch_size: int = 32
    learning_rate: float = setting(0.003, "Segmenter Adam learning rate.", "segmenter", above=0)
    min_char_count: int = 2  # rarer characters share the unknown id (their category still tells)
    seed: int = setting(1, "Segmenter random seed.", "segmenter")

    def __post_init__(self):
        problems = [
            option.problem(name, getattr(self, name)) for name, option in options_of(SegmenterConfig).items()
        ]
        if self.kernel % 2 == 0:
            problems.append("kernel must be odd (the convolutions are centred)")
        problems = [p for p in problems if p]
        if problems:
            raise PostaggerError("invalid segmenter settings: " + "; ".join(problems))

    @property
    def dilations(self) -> list[int]:
        return [2**i for i in range(self.layers)]

    @property
    def radius(self) -> int:
        """How many characters on each side a character's label depends on."""
        return sum((self.kernel - 1) // 2 * d for d in self.dilations)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict, path: str | Path = "segmenter.json") -> SegmenterConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or set(data) - known:
            raise ModelError(f"unknown segmenter settings {sorted(set(data) - known)}", path)
        try:
            return cls(**data)
        except (PostaggerError, TypeError) as err:
            raise ModelError(str(err), path) from None
