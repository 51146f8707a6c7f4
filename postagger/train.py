"""Training: read treebanks, build vocabularies, fit with early stopping on dev accuracy.

The best model so far is written (atomically) to the output directory after every epoch
that improves dev accuracy, so an interrupted run leaves a usable model behind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from postagger.backend import load_tensorflow
from postagger.config import ModelConfig, SegmenterConfig
from postagger.conllu_io import ColumnGaps, Sentence, column_gaps, read_treebank
from postagger.distributed import (
    check_strategy,
    distribution_strategy,
    is_chief,
    peers_watched,
    several_workers,
)
from postagger.errors import EXIT_INTERRUPTED, PostaggerError
from postagger.evaluate import accuracy_scores
from postagger.modeldir import ModelInfo, TrainedSegmenter
from postagger.text import learn_rules
from postagger.vocab import PAD_ID, Vocabulary, build_vocabulary

#: progress(event, data) with events "epoch_start", "batch", "epoch_end"
ProgressCallback = Callable[[str, dict], None]


class TrainingInterrupted(PostaggerError):
    exit_code = EXIT_INTERRUPTED


@dataclass
class Treebank:
    """Sentences of some CoNLL-U files, with a fingerprint of each file for provenance."""

    sentences: list[Sentence]
    files: list[dict]
    gaps: dict[str, ColumnGaps]  # words without a value in each column (mostly empty ones are refused)

    @classmethod
    def read(cls, paths: Sequence[str | Path], columns: Sequence[str]) -> Treebank:
        files = []
        sentences: list[Sentence] = []
        for path in paths:
            part = list(read_treebank([path]))
            sentences.extend(part)
            files.append(
                {
                    "name": Path(path).name,
                    "sha256": _sha256(path),
                    "sentences": len(part),
                    "words": sum(len(s.words) for s in part),
                }
            )
        if not sentences:
            raise PostaggerError("no sentences with words", ", ".join(map(str, paths)))
        return cls(sentences, files, column_gaps(sentences, columns))

    def report_gaps(self, notify: ProgressCallback) -> None:
        """A "missing_tags" event for each column some words have no value in."""
        for gap in self.gaps.values():
            if gap.missing:
                notify("missing_tags", {"column": gap.column, "missing": gap.missing, "words": gap.words})

    @property
    def forms(self) -> list[list[str]]:
        return [s.forms for s in self.sentences]

    def tags(self, column: str) -> list[list[str]]:
        return [s.tags(column) for s in self.sentences]


def _sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict:
    from postagger import __version__

    tf, keras = load_tensorflow()
    return {
        "postagger": __version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


STATE_JSON = "training-state.json"
STATE_ARRAYS = "training-state.npz"


def train(
    train_paths: Sequence[str | Path],
    dev_paths: Sequence[str | Path],
    output: str | Path,
    config: ModelConfig,
    *,
    vocab: Vocabulary | None = None,
    test_paths: Sequence[str | Path] = (),
    command: str = "",
    progress: ProgressCallback | None = None,
    vectors: str | Path | None = None,
    strategy: str = "default",
    logdir: str | Path | None = None,
    segmenter: SegmenterConfig | None = SegmenterConfig(),
) -> dict:
    """Train a tagger and write the best epoch's model directory to `output`.

    `strategy` picks the tf.distribute strategy (`postagger.distributed`). With
    `logdir`, TensorBoard gets the loss, dev accuracy and learning rate of every epoch and,
    at the end, the embedding projector files of the best model's word embedding.

    With `vectors` (a fastText .bin, .vec or .vec.gz file) the word embeddings start from
    the pretrained vectors (see `postagger.vectors.align`); `config.word_dim` becomes their
    dimension and the coverage report goes to the "vectors_coverage" progress event and into
    the model's provenance. With `segmenter` settings, a raw-text segmenter is trained first
    on the training files' text (on the default device; with several workers on the chief
    only) and saved with the model; None leaves raw text to the rules.

    Returns the metrics written to metrics.json. Raises `TrainingInterrupted` on Ctrl-C,
    after the best model so far has been saved; `resume(output)` then continues the run.
    """
    _check_options(config, vectors, strategy)  # before any data is read
    if several_workers(strategy):
        distribution_strategy(strategy)  # a multi-worker strategy comes before any other TF work
    chief = is_chief(strategy)  # what runs where: postagger.distributed
    notify = progress or (lambda event, data: None)
    train_bank = Treebank.read(train_paths, config.columns)
    train_bank.report_gaps(notify)
    dev_bank = Treebank.read(dev_paths, config.columns)
    config = config.with_batch_size_for(len(train_bank.sentences))
    vocab = _vocabulary(vocab, config, train_bank).with_combinations(train_bank.sentences)
    provenance = _provenance(train_paths, train_bank, dev_bank, config.seed, command)
    embeddings = char_weights = anchors = None
    if vectors is not None:
        started = _start_from_vectors(vectors, config, vocab, provenance, notify, pretrain=chief)
        config, vocab, embeddings, char_weights, anchors = started
    trained = _segmenter(segmenter if chief else None, train_bank, dev_bank, notify)
    paths = {"train": _absolute(train_paths), "dev": _absolute(dev_paths), "test": _absolute(test_paths)}
    target = Path(output) if chief else Path(tempfile.mkdtemp(prefix="postagger-worker-"))  # removed
    try:
        with peers_watched(strategy):  # a worker gone: one message
            return Trainer(
                output=target, info=ModelInfo(target, config, vocab, learn_rules(train_bank.sentences)),
                train_bank=train_bank, dev_bank=dev_bank, data_paths=paths, provenance=provenance,
                strategy=strategy, logdir=logdir if chief else None, progress=notify, embeddings=embeddings,
                segmenter=trained, char_weights=char_weights, anchors=anchors,
            ).fit()  # fmt: skip
    finally:
        if not chief:
            shutil.rmtree(target, ignore_errors=True)


def _provenance(train_paths, train_bank: Treebank, dev_bank: Treebank, seed: int, command: str) -> dict:
    return {
        "treebank": _treebank_name(train_paths),
        "data": {"train": train_bank.files, "dev": dev_bank.files},
        "libraries": library_versions(),
        "seed": seed,
        "command": command,
    }


def _segmenter(settings: SegmenterConfig | None, train_bank: Treebank, dev_bank: Treebank, notify):
    """The raw-text segmenter trained on the treebanks' text (`postagger.segmenter_training`),
    or None without `settings`."""
    if settings is None:
        return None
    from postagger.segmenter_training import train_segmenter

    files = {"train": train_bank.files, "dev": dev_bank.files}
    return train_segmenter(train_bank.sentences, dev_bank.sentences, settings, notify, files)


def _check_options(config: ModelConfig, vectors, strategy: str) -> None:
    problem = config.vectors_problem(vectors is not None)
    if problem:
        raise PostaggerError(problem)
    check_strategy(strategy)


def _vocabulary(vocab: Vocabulary | None, config: ModelConfig, bank: Treebank) -> Vocabulary:
    """The given vocabulary (checked against the training data), or one built from it."""
    if vocab is None:
        return build_vocabulary(
            bank.sentences, config.columns, config.min_count, feats_heads=config.feats_heads
        )
    _check_vocabulary(vocab, config, bank)
    return vocab


def _start_from_vectors(
    vectors, config: ModelConfig, vocab: Vocabulary, provenance: dict, notify, pretrain: bool = True
):
    """(config, vocabulary, embedding matrix, character encoder weights or None, ids of the
    training words that start from a pretrained row) from pretrained vectors: the embeddings
    aligned with them, and with --subword-pretraining (and `pretrain`) the character encoder
    pretrained on them (`postagger.mimick`); their fingerprint and coverage go into the
    provenance and to the progress callback."""
    from postagger.vectors import align, fingerprint

    alignment = align(vocab, vectors, config.extend_vocab, config.seed)
    config = dataclasses.replace(config, word_dim=alignment.coverage["dim"], vectors=Path(vectors).name)
    provenance["vectors"] = {**fingerprint(vectors), "coverage": alignment.coverage}
    notify("vectors_coverage", alignment.coverage)
    char_weights = None
    if config.subword_pretraining and pretrain:
        from postagger.mimick import pretrain_char_encoder

        char_weights = pretrain_char_encoder(config, alignment.vocab, vectors, notify)
    return config, alignment.vocab, alignment.matrix, char_weights, alignment.anchors


def resume(
    output: str | Path,
    progress: ProgressCallback | None = None,
    strategy: str = "default",
    logdir: str | Path | None = None,
) -> dict:
    """Continue an interrupted `train` from its last finished epoch, with the same data and
    settings; the result is the same as that of an uninterrupted run."""
    from postagger.modeldir import load_model_info

    check_strategy(strategy)
    if several_workers(strategy):
        raise PostaggerError("a multi-worker run cannot be resumed: only its chief kept a state", output)
    output = Path(output)
    info = load_model_info(output)
    if info.metrics.get("complete"):
        raise PostaggerError("this training finished; there is nothing to resume", output)
    try:
        state = json.loads((output / STATE_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise PostaggerError(
            f"no usable {STATE_JSON}: the run was stopped before it could be saved", output
        ) from None
    paths = state["data_paths"]
    for split in ("train", "dev"):
        recorded = [f["sha256"] for f in info.provenance["data"][split]]
        if [_sha256_or_error(p) for p in paths[split]] != recorded:
            raise PostaggerError(f"the {split} data changed since the run started; cannot resume", output)
    columns = info.config.columns
    trainer = Trainer(
        output=output, info=info, train_bank=Treebank.read(paths["train"], columns),
        dev_bank=Treebank.read(paths["dev"], columns), data_paths=paths, provenance=info.provenance,
        strategy=strategy, logdir=logdir, progress=progress, segmenter=_saved_segmenter(info),
    )  # fmt: skip
    trainer.restore(state)
    return trainer.fit()


def _saved_segmenter(info: ModelInfo) -> TrainedSegmenter | None:
    """The segmenter an interrupted run saved with its best epoch, to save again."""
    from postagger.modeldir import SEGMENTER_WEIGHTS_FILE, read_weight_arrays

    if info.segmenter is None:
        return None
    return TrainedSegmenter(info.segmenter, read_weight_arrays(info.path / SEGMENTER_WEIGHTS_FILE))


def _absolute(paths: Sequence[str | Path]) -> list[str]:
    return [str(Path(p).resolve()) for p in paths]


def _sha256_or_error(path: str) -> str:
    try:
        return _sha256(path)
    except OSError:
        raise PostaggerError("training file is gone; cannot resume", path) from None


class Trainer:
    """One training run in small steps: `restore` (a saved state), `run_epoch`,
    `score_dev`, `checkpoint` (history, best model or learning-rate decay), `finish` (final
    scores); `fit` runs them with early stopping on the primary column's dev accuracy and
    saves the state to resume from after each epoch. The best model so far is in `output`
    after every improving epoch."""

    def __init__(
        self,
        *,
        output: Path,
        info: ModelInfo,
        train_bank: Treebank,
        dev_bank: Treebank,
        data_paths: dict,
        provenance: dict,
        strategy: str = "default",
        logdir: str | Path | None = None,
        progress: ProgressCallback | None = None,
        embeddings: np.ndarray | None = None,
        segmenter: TrainedSegmenter | None = None,
        char_weights: dict | None = None,
        anchors: np.ndarray | None = None,
    ):
        """`info` holds the config, vocabularies and tokenizer rules to train with (its
        path is `output`); `embeddings` the pretrained word embedding matrix, if any, and
        `anchors` the ids of its rows that came from the vectors (for
        `config.extend_neighbours`); `segmenter` a trained segmenter saved with every model."""
        tf, self.keras = load_tensorflow()
        from postagger.batching import document_counts, encode_sentence, keep_probabilities, length_groups
        from postagger.engines import keras_tagger_network
        from postagger.model import build_model, compile_model, set_weight_arrays

        self.output, self.info, self.config, self.vocab = output, info, info.config, info.vocab
        self.dev_bank, self.data_paths, self.provenance = dev_bank, data_paths, provenance
        self.segmenter = segmenter
        self.notify = progress or (lambda event, data: None)
        self.started, self.seconds_before = time.monotonic(), 0.0
        config, vocab = self.config, self.vocab
        self.keras.utils.set_random_seed(config.seed)
        tf.config.experimental.enable_op_determinism()
        self.rng = np.random.default_rng(config.seed)
        self.train_data = [
            encode_sentence(s.forms, vocab, config.max_word_chars, vocab.head_tags(s))
            for s in train_bank.sentences
        ]
        counts = None  # by documents where the files mark them, else by occurrences
        if config.word_dropout_counts == "documents":
            counts = document_counts(train_bank.sentences)
            if counts is None:
                self.notify("no_documents", {})
        self.keep = keep_probabilities(vocab, config.word_dropout, counts)
        distribution = distribution_strategy(strategy)
        self.provenance["strategy"] = {"name": strategy, "replicas": distribution.num_replicas_in_sync}
        self.batches = len(length_groups([len(s.words) for s in self.train_data], config.batch_size))
        with distribution.scope():
            self.model = build_model(config, vocab, embeddings)
            if char_weights:  # the character encoder as subword pretraining left it
                set_weight_arrays(self.model, char_weights, "subword pretraining", only=char_weights)
            compile_model(self.model, config, vocab, self.batches)
            self.model.optimizer.build(self.model.trainable_variables)
            self.network = keras_tagger_network(self.model, info)  # dev scoring, on the model's weights
        self.step = None  # Keras's train_on_batch, or for several workers postagger.distributed's step
        if several_workers(strategy):
            from postagger.distributed import broadcast_from_chief, replica_step

            broadcast_from_chief(distribution, self.model.weights)
            self.step = replica_step(self.model, distribution)
        self.averaged = AveragedWeights(self.model, self.keras) if config.average_epochs > 0 else None
        self.export = build_model(config, vocab)  # uncompiled twin: saved without optimizer state
        self.anchors = {}  # training words with a pretrained row: ids and starting rows
        if anchors is not None and embeddings is not None:
            self.anchors = {"anchor_ids": anchors, "anchor_rows": embeddings[anchors]}
        self.best, self.history, self.first_epoch = {"dev": -1.0, "epoch": 0}, [], 1
        self.restarted: int | None = None  # the last epoch before `config.restart_epochs` began
        self.board = _summary_writer(tf, logdir) if logdir is not None else None
        self.logdir = logdir

    def elapsed(self) -> float:
        """Seconds of training so far, those of an interrupted run included."""
        return self.seconds_before + time.monotonic() - self.started

    def restore(self, state: dict) -> None:
        """Continue from the state an interrupted run saved after its last finished epoch."""
        from postagger.model import set_weight_arrays
        from postagger.modeldir import WEIGHTS_FILE, read_weight_arrays

        arrays = np.load(self.output / STATE_ARRAYS)
        for i, variable in enumerate(self.model.variables):
            variable.assign(arrays[f"model_{i}"])
        for i, variable in enumerate(self.model.optimizer.variables):
            variable.assign(arrays[f"optimizer_{i}"])
        self.anchors = {name: arrays[name] for name in ("anchor_ids", "anchor_rows") if name in arrays}
        self.rng.bit_generator.state = state["rng"]
        self.best, self.history = state["best"], state["history"]
        self.first_epoch, self.seconds_before = state["epoch"] + 1, state["seconds"]
        self.restarted = state.get("restarted")
        if "best_0" in arrays:  # the best weights exactly as trained (a restart starts from them)
            self.export.set_weights([arrays[f"best_{i}"] for i in range(len(self.export.weights))])
        else:
            saved = self.output / WEIGHTS_FILE
            set_weight_arrays(self.export, read_weight_arrays(saved), saved)

    def run_epoch(self, epoch: int) -> float:
        """One pass over the training data in shuffled batches; the mean loss."""
        from postagger.batching import drop_words, length_batches

        outputs = self.vocab.output_names
        self.notify("epoch_start", {"epoch": epoch, "epochs": self.config.epochs, "batches": self.batches})
        losses = []
        for batch in length_batches(self.train_data, self.config.batch_size, self.rng):
            words = drop_words(batch.words, self.keep, self.rng)
            # a word without a tag in a column (PAD_ID) leaves that column's loss
            weights = {name: batch.weights * (batch.tags[head] != PAD_ID) for head, name in outputs.items()}
            inputs = {"words": words, "chars": batch.chars}
            targets = {name: batch.tags[head] for head, name in outputs.items()}
            if self.step is not None:
                losses.append(self.step(inputs, targets, weights))
            else:
                result = self.model.train_on_batch(inputs, targets, sample_weight=weights, return_dict=True)
                losses.append(float(result["loss"]))
            self.notify("batch", {"loss": float(np.mean(losses[-50:]))})
        return float(np.mean(losses))

    def score_dev(self) -> dict[str, float]:
        """Dev accuracy of every column with the current weights (their moving average,
        with `average_epochs`)."""
        return {
            c: v
            for c, v in _scores(self.network, self.info, self.dev_bank).items()
            if c in self.config.columns
        }

    def checkpoint(self, epoch: int, loss: float, dev_columns: dict[str, float]) -> bool:
        """Record an epoch; save the model when the primary column's dev accuracy improved,
        else decay the learning rate (not in the restart epochs, which keep theirs). Whether
        it improved."""
        config = self.config
        dev = dev_columns[config.column]  # the primary column picks the best epoch
        improved = dev > self.best["dev"]
        learning_rate = float(self.keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.history.append({
            "epoch": epoch, "loss": loss, "dev": dev,
            **({"dev_columns": dev_columns} if len(dev_columns) > 1 else {}),
            "learning_rate": learning_rate,
            "seconds": round(self.elapsed(), 1),  # since the start, dev scoring included
            **({"restart": True} if self.restarted is not None else {}),
        })  # fmt: skip
        if improved:
            self.best = {"dev": dev, "epoch": epoch}
            self.export.set_weights(self.model.get_weights())
            metrics = {"complete": False, "best_epoch": epoch, "dev": dev_columns, "history": self.history}
            self._save_model(metrics, epoch, epoch)
        elif self.restarted is None:
            self.model.optimizer.learning_rate = learning_rate * config.lr_decay
        return improved

    def finish(self, epochs_run: int) -> dict:
        """Final scores of the best weights on dev (and test), written with the complete
        model directory (which no longer holds the training state). They are computed by the
        engine that tags by default, so that `postagger evaluate` finds the same figures."""
        from postagger.engines import array_tagger_network, best_array_engine
        from postagger.modeldir import as_loaded, stored_weights

        arrays = as_loaded(stored_weights(self._exported(), self.config))  # as the saved model has them
        network = array_tagger_network(
            self.info, arrays, best_array_engine(), self.output, stored_graph=False
        )
        metrics = {
            "complete": True,
            "best_epoch": self.best["epoch"],
            "epochs_run": epochs_run,
            "dev": _scores(network, self.info, self.dev_bank, final=True),
            "history": self.history,
        }
        if self.data_paths["test"]:
            test_bank = Treebank.read(self.data_paths["test"], self.config.columns)
            self.provenance["data"]["test"] = test_bank.files
            metrics["test"] = _scores(network, self.info, test_bank, final=True)
        self._save_model(metrics, epochs_run, self.best["epoch"])
        if self.board is not None:
            self.board.close()
            if self.config.word_repr != "chars":
                _write_projector(self.output, Path(self.logdir))
        return metrics

    def fit(self) -> dict:
        """Epochs until `config.epochs` or `config.patience` epochs without dev gain, then
        `config.restart_epochs` more from the best weights (`restart`); then `finish`. On
        Ctrl-C: `TrainingInterrupted`, the best model so far kept."""
        config = self.config
        try:
            if self.restarted is None:
                for epoch in range(self.first_epoch, config.epochs + 1):
                    if epoch - self.best["epoch"] > config.patience > 0:
                        break  # resumed right where the interrupted run would have stopped
                    self._epoch(epoch)
                    if epoch - self.best["epoch"] >= config.patience > 0:
                        break
                if config.restart_epochs > 0:
                    self.restart(self._last_epoch())
            if self.restarted is not None:
                first = max(self.first_epoch, self.restarted + 1)
                for epoch in range(first, self.restarted + config.restart_epochs + 1):
                    self._epoch(epoch)
        except KeyboardInterrupt:
            raise self._interrupted() from None
        return self.finish(self._last_epoch())

    def _last_epoch(self) -> int:
        return self.history[-1]["epoch"] if self.history else 0

    def _epoch(self, epoch: int) -> None:
        """Train an epoch, score it on dev, keep the model if it is the best so far, save the
        state to resume from."""
        loss = self.run_epoch(epoch)
        if self.averaged is not None:
            self.averaged.swap_in()  # dev scoring and the saved model use the averaged weights
        dev_columns = self.score_dev()
        improved = self.checkpoint(epoch, loss, dev_columns)
        if self.averaged is not None:
            self.averaged.swap_out()
        self._save_state(epoch)
        self._log(epoch, dev_columns)
        self.notify("epoch_end", {**self.history[-1], "best": improved})

    def restart(self, epoch: int) -> None:
        """After the last epoch (`epoch`): back to the best weights, Adam's moments and step
        count set to zero and the learning rate that the best epoch trained with, for
        `config.restart_epochs` epochs at that rate, where the halved rates of the last epochs
        had stalled. On EWT it gained a few hundredths of a point of dev UPOS on average
        (seven continuations of three seeds' models; docs/BENCHMARKS.md)."""
        self.restarted = epoch
        best = next(h for h in self.history if h["epoch"] == self.best["epoch"])
        self.model.set_weights(self.export.get_weights())
        optimizer = self.model.optimizer
        for variable in optimizer.variables:
            if variable.path.endswith(("_momentum", "_velocity")) or variable is optimizer.iterations:
                variable.assign(np.zeros(variable.shape, variable.dtype))
        optimizer.learning_rate = best["learning_rate"]

    def _interrupted(self) -> TrainingInterrupted:
        if self.best["epoch"] == 0:
            return TrainingInterrupted("training interrupted before the first epoch ended; nothing saved")
        return TrainingInterrupted(
            f"training interrupted; the best model so far (epoch {self.best['epoch']}, "
            f"dev {self.config.column} {self.best['dev']:.4f}) is in {self.output}; "
            f"`postagger train --resume {self.output}` continues"
        )

    def _exported(self) -> dict:
        """The best weights as the model directory keeps them: with `extend_neighbours`, the
        rows `--extend-vocab` added moved as fine-tuning moved their neighbours
        (`postagger.vectors.follow_neighbours`)."""
        from postagger.model import weight_arrays
        from postagger.modeldir import as_loaded, stored_weights
        from postagger.vectors import follow_neighbours

        arrays = weight_arrays(self.export)
        name, added = "word_embedding/0", len(self.vocab.words) - self.vocab.trained_words()
        config = self.config
        moved = not (config.dual_embeddings or config.freeze_embeddings)  # else nothing to follow
        if not (self.anchors and added and config.extend_neighbours and moved):
            return arrays
        # the trained rows as stored (float16: the same values when --resume read them back)
        # and the added rows as training left them: their pretrained values (no gradient
        # reaches them), also when the best weights were read back from a moved model
        matrix = np.array(as_loaded(stored_weights({name: arrays[name]}, config))[name])
        matrix[-added:] = np.asarray(self.model.get_layer("word_embedding").embeddings)[-added:]
        ids, rows = self.anchors["anchor_ids"], self.anchors["anchor_rows"]
        arrays[name] = follow_neighbours(matrix, ids, rows, added, self.config.extend_neighbours)
        return arrays

    def _save_model(self, metrics: dict, epochs_run: int, best_epoch: int) -> None:
        from postagger.modeldir import save_model_dir

        self.provenance["trained"] = _training_record(self.elapsed(), epochs_run, best_epoch)
        info = self.info
        arrays = self._exported()
        save_model_dir(
            self.output, arrays, info.config, info.vocab, info.rules, metrics, self.provenance, self.segmenter
        )

    def _save_state(self, epoch: int) -> None:
        """Everything the next epochs depend on: all variables (weights, dropout seed states),
        the optimizer's variables and the NumPy generator that shuffles and drops words."""
        from postagger.atomic import atomic_output, atomic_write_text

        model = self.model
        arrays = {f"model_{i}": np.asarray(v) for i, v in enumerate(model.variables)}
        arrays.update({f"optimizer_{i}": np.asarray(v) for i, v in enumerate(model.optimizer.variables)})
        arrays.update(self.anchors)
        if self.config.restart_epochs > 0:  # the saved model's weights are rounded: keep them exact
            arrays.update({f"best_{i}": np.asarray(v) for i, v in enumerate(self.export.weights)})
        with atomic_output(self.output / STATE_ARRAYS, binary=True) as stream:
            np.savez(stream, **arrays)
        state = {
            "epoch": epoch,
            "best": self.best,
            "history": self.history,
            "rng": self.rng.bit_generator.state,
            "seconds": self.elapsed(),
            "data_paths": self.data_paths,
            "restarted": self.restarted,
        }
        atomic_write_text(self.output / STATE_JSON, json.dumps(state, indent=1) + "\n")

    def _log(self, epoch: int, dev_columns: dict[str, float]) -> None:
        """The epoch's loss, dev accuracies and learning rate to TensorBoard (with a logdir)."""
        if self.board is None:
            return
        tf, _ = load_tensorflow()
        with self.board.as_default(step=epoch):
            tf.summary.scalar("loss", self.history[-1]["loss"])
            for c, accuracy in dev_columns.items():
                tf.summary.scalar(f"dev_accuracy/{c}", accuracy)
            tf.summary.scalar("learning_rate", self.history[-1]["learning_rate"])
        self.board.flush()


def _scores(network, info: ModelInfo, bank: Treebank, final: bool = False) -> dict:
    """Accuracy of the network's tags on a treebank (`postagger.evaluate.accuracy_scores`):
    every column; `final` adds the counts and the scores on unseen and seen words."""
    from postagger.tagger import Tagger

    tagged = Tagger(info, network).tag_sentences(bank.forms)  # a fresh table of word vectors
    predicted = {c: [t.tags[c] for t in tagged] for c in info.config.columns}
    gold = {c: bank.tags(c) for c in info.config.columns}
    if not final:
        return accuracy_scores(gold, predicted, bank.forms)
    return {"column": info.config.column, **accuracy_scores(gold, predicted, bank.forms, info.vocab.is_known)}


class AveragedWeights:
    """Swaps the optimizer's moving average of the weights into the model and back, in place
    (Keras's own `SwapEMAWeights` callback, driven by hand: this loop has no `fit`)."""

    def __init__(self, model, keras):
        self._swap = keras.callbacks.SwapEMAWeights()
        self._swap.set_model(model)

    def swap_in(self) -> None:
        self._swap.on_test_begin()

    def swap_out(self) -> None:
        self._swap.on_test_end()


def _summary_writer(tf, logdir):
    try:
        import tensorboard  # noqa: F401  (tf.summary.scalar is implemented there)
    except ImportError:
        raise PostaggerError(
            "--logdir needs TensorBoard: pip install 'postagger[tensorboard]' (or tensorboard)"
        ) from None
    return tf.summary.create_file_writer(str(logdir))


def _write_projector(model_dir: Path, logdir: Path) -> None:
    """The word embedding as TensorBoard projector files, with the config that points to them."""
    from postagger.atomic import atomic_write_text
    from postagger.vectors import export_projector

    export_projector(model_dir, logdir / "projector")
    config = (
        'embeddings {\n  tensor_name: "word_embedding"\n'
        '  tensor_path: "projector/vectors.tsv"\n  metadata_path: "projector/metadata.tsv"\n}\n'
    )
    atomic_write_text(logdir / "projector_config.pbtxt", config)


def _training_record(seconds: float, epochs_run: int, best_epoch: int) -> dict:
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
        "epochs_run": epochs_run,
        "best_epoch": best_epoch,
    }


def _treebank_name(paths: Sequence[str | Path]) -> str:
    """'en_ewt' for en_ewt-ud-train.conllu (UD file naming), else the file stem."""
    stem = Path(paths[0]).name.split(".")[0]
    return stem.split("-ud-")[0] if "-ud-" in stem else stem


def _check_vocabulary(vocab: Vocabulary, config: ModelConfig, bank: Treebank) -> None:
    """A vocabulary given to `train` must have the config's columns and every training tag."""
    if tuple(vocab.columns) != config.columns:
        raise PostaggerError(
            f"the vocabulary is for {','.join(vocab.columns)}, not {','.join(config.columns)}"
        )
    if "feats" in config.columns and ("feats" in vocab.tagsets) != (config.feats_heads == "whole"):
        built = "whole" if "feats" in vocab.tagsets else "split"
        raise PostaggerError(f"the vocabulary has FEATS heads {built}, not {config.feats_heads}")
    missing: dict[str, set] = {}
    first = None
    for sentence in bank.sentences:
        for head, values in vocab.head_tags(sentence).items():
            unknown = {v for v in values if v not in vocab.tagsets[head]}
            if unknown:
                missing.setdefault(head, set()).update(unknown)
                first = first or sentence
    if first is not None:
        listed = "; ".join(f"{head.upper()} {', '.join(sorted(tags))}" for head, tags in missing.items())
        raise PostaggerError(
            f"training data has tags missing from the vocabulary ({listed}), the first in the sentence here",
            first.source,
            first.first_line,
        )
