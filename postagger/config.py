"""The model's hyper-parameters: one frozen dataclass, saved as JSON beside the model."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from postagger.errors import ModelError, PostaggerError

WORD_REPRS = ("word", "chars", "both")
CHAR_ENCODERS = ("lstm", "cnn")
COLUMNS = ("upos", "xpos", "feats")  # the CoNLL-U columns a model can learn
FEATS_HEADS = ("whole", "split")
ABSENT_MEANS = {
    "char_encoder": "cnn",
    "dual_embeddings": False,
    "feats_heads": "whole",
    "aux_weight": 1.0,
    "average_epochs": 0.0,
}


@dataclass(frozen=True)
class ModelConfig:
    """Every choice that shapes a trained model. Defaults are what worked on EWT and on a
    1,000-sentence slice of it (docs/BENCHMARKS.md); the shipped model is these defaults plus
    pretrained vectors (see the Makefile)."""

    columns: tuple[str, ...] = ("upos",)  # CoNLL-U columns to predict; the first picks the best epoch
    feats_heads: str = "whole"  # FEATS as one tag (the whole feature string) or one head per feature
    aux_weight: float = 0.25  # loss weight of each column after the first (which weighs 1): see BENCHMARKS
    word_repr: str = "both"  # word embedding, character encoder, or both concatenated
    min_count: int = 1  # words seen fewer times share the unknown-word embedding
    word_dim: int = 100  # set to the vectors' dimension when pretrained vectors are used
    vectors: str = ""  # name of the pretrained vectors file the embeddings started from
    freeze_embeddings: bool = False  # keep pretrained word embeddings fixed during training
    extend_vocab: int = 0  # pretrained words added to the vocabulary beyond the training words
    dual_embeddings: bool = False  # a trained embedding of the training words + the frozen vectors of all
    char_encoder: str = "cnn"  # how a word's characters become a vector: BiLSTM or CNN
    char_dim: int = 32
    char_units: int = 64  # character BiLSTM: units per direction
    char_filters: int = 100  # character CNN: filters
    char_kernel: int = 3
    max_word_chars: int = 24  # longer words keep their first and last 12 characters
    lstm_units: int = 128  # per direction
    lstm_layers: int = 2
    dropout: float = 0.33  # on the word representation and between layers
    # alpha: a word seen n times becomes <unk> with p = alpha/(alpha+n); 1 beat 0.25 on EWT and
    # on a 1,000-sentence slice of it, mostly on unseen words (docs/BENCHMARKS.md)
    word_dropout: float = 1.0
    learning_rate: float = 0.003  # Adam; 0.001 learns the character encoders too slowly (docs/BENCHMARKS.md)
    lr_decay: float = 0.5  # the learning rate is multiplied by this after an epoch without dev gain
    clipnorm: float = 5.0
    average_epochs: float = 0.0  # dev scoring and the saved model use the weights' moving average over
    # about this many epochs of updates (Polyak averaging); 0: the last weights
    epochs: int = 30
    batch_size: int = 0  # sentences per batch; 0: chosen from the training set's size (auto_batch_size)
    patience: int = 5  # epochs without dev improvement before stopping
    seed: int = 1

    def __post_init__(self):
        problems = []
        problem = columns_problem(self.columns)
        if problem:
            problems.append(problem)
        if self.feats_heads not in FEATS_HEADS:
            problems.append(f"feats_heads must be one of {', '.join(FEATS_HEADS)}")
        elif self.feats_heads == "split" and self.columns[:1] == ("feats",):
            problems.append("FEATS learnt per feature (feats_heads split) cannot be the first column")
        if self.word_repr not in WORD_REPRS:
            problems.append(f"word_repr must be one of {', '.join(WORD_REPRS)}")
        if self.char_encoder not in CHAR_ENCODERS:
            problems.append(f"char_encoder must be one of {', '.join(CHAR_ENCODERS)}")
        for name in (
            "min_count",
            "word_dim",
            "char_dim",
            "char_units",
            "char_filters",
            "char_kernel",
            "max_word_chars",
            "lstm_units",
            "lstm_layers",
            "epochs",
        ):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                problems.append(f"{name} must be a positive integer")
        if not 0 <= self.dropout < 1 or not 0 <= self.word_dropout:
            problems.append("dropout must be in [0, 1) and word_dropout >= 0")
        if not self.aux_weight > 0:
            problems.append("aux_weight must be positive")
        if not self.learning_rate > 0 or not self.clipnorm > 0:
            problems.append("learning_rate and clipnorm must be positive")
        if not self.average_epochs >= 0:
            problems.append("average_epochs must be >= 0 (0: no averaging)")
        if not 0 < self.lr_decay <= 1:
            problems.append("lr_decay must be in (0, 1]")
        if not isinstance(self.extend_vocab, int) or self.extend_vocab < 0:
            problems.append("extend_vocab must be a non-negative integer")
        if not isinstance(self.batch_size, int) or self.batch_size < 0:
            problems.append("batch_size must be a non-negative integer (0: automatic)")
        if not isinstance(self.patience, int) or self.patience < 0:
            problems.append("patience must be a non-negative integer")
        if problems:
            raise PostaggerError("invalid settings: " + "; ".join(problems))

    @property
    def column(self) -> str:
        """The primary column: the one early stopping and confidences are about."""
        return self.columns[0]

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
        defaults = cls()
        for name, value in data.items():
            expected = type(getattr(defaults, name))
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if type(value) is not expected:
                raise ModelError(f"setting {name} has the wrong type ({value!r})", path)
            data = {**data, name: value}
        try:
            return cls(**data)
        except PostaggerError as err:
            raise ModelError(err.message, path) from None


def columns_problem(columns: tuple[str, ...] | list[str]) -> str | None:
    """Why these columns cannot be learnt together, or None when they can."""
    if not columns or any(c not in COLUMNS for c in columns) or len(set(columns)) < len(columns):
        return f"expected distinct columns among {', '.join(COLUMNS)}, not {','.join(columns)!r}"
    return None


def auto_batch_size(n_sentences: int) -> int:
    """About 125 updates an epoch, between 8 and 32 sentences a batch.

    Small treebanks need many small steps (on 1,000 EWT sentences batch 8 scores 0.886 test
    UPOS against 0.880 for 32); big ones train faster in batches of 32 (the shipped model).
    """
    return max(8, min(32, round(n_sentences / 125)))
