"""Training: read treebanks, build vocabularies, fit with early stopping on dev accuracy.

The best model so far is written (atomically) to the output directory after every epoch
that improves dev accuracy, so an interrupted run leaves a usable model behind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from postagger.backend import load_tensorflow
from postagger.config import ModelConfig
from postagger.conllu_io import Sentence, check_tags, read_treebank
from postagger.errors import EXIT_INTERRUPTED, PostaggerError
from postagger.evaluate import column_scores, score
from postagger.text import TokenizerRules, learn_rules
from postagger.vocab import Vocabulary, build_vocabulary

#: progress(event, data) with events "epoch_start", "batch", "epoch_end"
ProgressCallback = Callable[[str, dict], None]


class TrainingInterrupted(PostaggerError):
    exit_code = EXIT_INTERRUPTED


@dataclass
class Treebank:
    """Sentences of some CoNLL-U files, with a fingerprint of each file for provenance."""

    sentences: list[Sentence]
    files: list[dict]

    @classmethod
    def read(cls, paths: Sequence[str | Path], columns: Sequence[str]) -> Treebank:
        files = []
        sentences: list[Sentence] = []
        for path in paths:
            part = list(read_treebank([path]))
            for s in part:
                for column in columns:
                    check_tags(s, column)
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
        return cls(sentences, files)

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
    vocab: Vocabulary | None = None,
    test_paths: Sequence[str | Path] = (),
    command: str = "",
    progress: ProgressCallback | None = None,
    vectors: str | Path | None = None,
    strategy: str = "default",
    logdir: str | Path | None = None,
) -> dict:
    """Train a tagger and write the best epoch's model directory to `output`.

    `strategy` picks the tf.distribute strategy (see `distribution_strategy`). With
    `logdir`, TensorBoard gets the loss, dev accuracy and learning rate of every epoch and,
    at the end, the embedding projector files of the best model's word embedding.

    With `vectors` (a fastText .bin, .vec or .vec.gz file) the word embeddings start from
    the pretrained vectors (see `postagger.vectors.align`); `config.word_dim` becomes their
    dimension and the coverage report goes to the "vectors_coverage" progress event and into
    the model's provenance.

    Returns the metrics written to metrics.json. Raises `TrainingInterrupted` on Ctrl-C,
    after the best model so far has been saved; `resume(output)` then continues the run.
    """
    notify = progress or (lambda event, data: None)
    train_bank = Treebank.read(train_paths, config.columns)
    dev_bank = Treebank.read(dev_paths, config.columns)
    config = config.with_batch_size_for(len(train_bank.sentences))
    if vocab is None:
        vocab = build_vocabulary(
            train_bank.sentences, config.columns, config.min_count, feats_heads=config.feats_heads
        )
    else:
        _check_vocabulary(vocab, config, train_bank)
    embeddings = None
    provenance = {
        "treebank": _treebank_name(train_paths),
        "data": {"train": train_bank.files, "dev": dev_bank.files},
        "libraries": library_versions(),
        "seed": config.seed,
        "command": command,
    }
    if vectors is None and (config.freeze_embeddings or config.extend_vocab or config.dual_embeddings):
        raise PostaggerError(
            "freezing, extending or doubling the embeddings needs pretrained vectors (--vectors)"
        )
    if config.dual_embeddings and config.freeze_embeddings:
        raise PostaggerError("--dual-embeddings keeps a frozen copy already: leave out --freeze-embeddings")
    if vectors is not None:
        from postagger.vectors import align, fingerprint

        if config.word_repr == "chars":
            raise PostaggerError("pretrained word vectors need a word embedding (--word-repr word or both)")
        alignment = align(vocab, vectors, config.extend_vocab, config.seed)
        vocab, embeddings = alignment.vocab, alignment.matrix
        config = dataclasses.replace(config, word_dim=alignment.coverage["dim"], vectors=Path(vectors).name)
        provenance["vectors"] = {**fingerprint(vectors), "coverage": alignment.coverage}
        notify("vectors_coverage", alignment.coverage)
    run = _Run(
        Path(output), config, vocab, learn_rules(train_bank.sentences), train_bank, dev_bank,
        {"train": _absolute(train_paths), "dev": _absolute(dev_paths), "test": _absolute(test_paths)},
        provenance, strategy, logdir,
    )  # fmt: skip
    return run.execute(notify, embeddings=embeddings)


STRATEGIES = ("default", "mirrored", "multiworker")


def distribution_strategy(name: str):
    """The tf.distribute strategy called `name`:

    - "default": TensorFlow's default placement (one GPU if there is one, else the CPU);
    - "mirrored": synchronous data parallelism over all local GPUs (the CPU when there is
      none), each batch split between the replicas;
    - "multiworker": the same over several machines described by the TF_CONFIG
      environment variable (on one machine without TF_CONFIG: one worker).
    """
    tf, _ = load_tensorflow()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise PostaggerError(f"unknown strategy {name!r}: use one of {', '.join(STRATEGIES)}")


def resume(
    output: str | Path,
    progress: ProgressCallback | None = None,
    strategy: str = "default",
    logdir: str | Path | None = None,
) -> dict:
    """Continue an interrupted `train` from its last finished epoch, with the same data and
    settings; the result is the same as that of an uninterrupted run."""
    from postagger.modeldir import load_model_info

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
    run = _Run(
        output, info.config, info.vocab, info.rules, Treebank.read(paths["train"], columns),
        Treebank.read(paths["dev"], columns), paths, info.provenance, strategy, logdir,
    )  # fmt: skip
    return run.execute(progress or (lambda event, data: None), state=state)


def _absolute(paths: Sequence[str | Path]) -> list[str]:
    return [str(Path(p).resolve()) for p in paths]


def _sha256_or_error(path: str) -> str:
    try:
        return _sha256(path)
    except OSError:
        raise PostaggerError("training file is gone; cannot resume", path) from None


@dataclass
class _Run:
    """One training run: everything the epoch loop needs, and its resumable state."""

    output: Path
    config: ModelConfig
    vocab: Vocabulary
    rules: TokenizerRules
    train_bank: Treebank
    dev_bank: Treebank
    data_paths: dict
    provenance: dict
    strategy_name: str = "default"
    logdir: str | Path | None = None

    def execute(self, notify: ProgressCallback, embeddings=None, state: dict | None = None) -> dict:
        tf, keras = load_tensorflow()
        from postagger.batching import (
            drop_words,
            encode_sentence,
            keep_probabilities,
            length_batches,
            length_groups,
        )
        from postagger.model import build_model, compile_model
        from postagger.modeldir import save_model_dir

        config, vocab = self.config, self.vocab
        started = time.monotonic()
        keras.utils.set_random_seed(config.seed)
        tf.config.experimental.enable_op_determinism()
        rng = np.random.default_rng(config.seed)
        max_chars = config.max_word_chars
        train_data = [
            encode_sentence(s.forms, vocab, max_chars, vocab.head_tags(s)) for s in self.train_bank.sentences
        ]
        outputs = vocab.output_names
        dev_data = [encode_sentence(s.forms, vocab, max_chars) for s in self.dev_bank.sentences]
        keep = keep_probabilities(vocab, config.word_dropout)
        strategy = distribution_strategy(self.strategy_name)
        self.provenance["strategy"] = {"name": self.strategy_name, "replicas": strategy.num_replicas_in_sync}
        n_batches = len(length_groups([len(s.words) for s in train_data], config.batch_size))
        with strategy.scope():
            model = build_model(config, vocab, embeddings)
            compile_model(model, config, vocab, n_batches)
            model.optimizer.build(model.trainable_variables)
        averaged = _AveragedWeights(model, keras) if config.average_epochs > 0 else None
        export = build_model(config, vocab)  # uncompiled twin: saved without optimizer state

        best, history, first_epoch, seconds_before = {"dev": -1.0, "epoch": 0}, [], 1, 0.0
        if state is not None:
            arrays = np.load(self.output / STATE_ARRAYS)
            for i, variable in enumerate(model.variables):
                variable.assign(arrays[f"model_{i}"])
            for i, variable in enumerate(model.optimizer.variables):
                variable.assign(arrays[f"optimizer_{i}"])
            rng.bit_generator.state = state["rng"]
            best, history = state["best"], state["history"]
            first_epoch, seconds_before = state["epoch"] + 1, state["seconds"]
            from postagger.modeldir import WEIGHTS_FILE, read_weight_arrays, set_weight_arrays

            saved = self.output / WEIGHTS_FILE
            set_weight_arrays(export, read_weight_arrays(saved), saved)

        def elapsed() -> float:
            return seconds_before + time.monotonic() - started

        epoch = first_epoch - 1
        board = _summary_writer(tf, self.logdir) if self.logdir is not None else None
        try:
            for epoch in range(first_epoch, config.epochs + 1):
                if epoch - best["epoch"] > config.patience > 0:
                    break  # resumed right where the interrupted run would have stopped
                notify("epoch_start", {"epoch": epoch, "epochs": config.epochs, "batches": n_batches})
                losses = []
                for batch in length_batches(train_data, config.batch_size, rng):
                    words = drop_words(batch.words, keep, rng)
                    result = model.train_on_batch(
                        {"words": words, "chars": batch.chars},
                        {name: batch.tags[head] for head, name in outputs.items()},
                        sample_weight={name: batch.weights for name in outputs.values()},
                        return_dict=True,
                    )
                    losses.append(float(result["loss"]))
                    notify("batch", {"loss": float(np.mean(losses[-50:]))})
                if averaged is not None:
                    averaged.swap_in()  # dev scoring and the saved model use the averaged weights
                dev_predicted = _predict(model, dev_data, vocab)
                dev_columns = {c: _accuracy(dev_predicted[c], self.dev_bank.tags(c)) for c in config.columns}
                dev_acc = dev_columns[config.column]  # the primary column picks the best epoch
                improved = dev_acc > best["dev"]
                learning_rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
                history.append(
                    {
                        "epoch": epoch,
                        "loss": float(np.mean(losses)),
                        "dev": dev_acc,
                        **({"dev_columns": dev_columns} if len(dev_columns) > 1 else {}),
                        "learning_rate": learning_rate,
                        "seconds": round(elapsed(), 1),  # since the start, dev scoring included
                    }
                )
                if improved:
                    best = {"dev": dev_acc, "epoch": epoch}
                    export.set_weights(model.get_weights())
                    metrics = {
                        "complete": False,
                        "best_epoch": epoch,
                        "dev": dev_columns,
                        "history": history,
                    }
                    self.provenance["trained"] = _training_record(elapsed(), epoch, epoch)
                    save_model_dir(self.output, export, config, vocab, self.rules, metrics, self.provenance)
                else:
                    model.optimizer.learning_rate = learning_rate * config.lr_decay
                if averaged is not None:
                    averaged.swap_out()
                self._save_state(model, rng, epoch, best, history, elapsed())
                if board is not None:
                    with board.as_default(step=epoch):
                        tf.summary.scalar("loss", history[-1]["loss"])
                        for c, accuracy in dev_columns.items():
                            tf.summary.scalar(f"dev_accuracy/{c}", accuracy)
                        tf.summary.scalar("learning_rate", learning_rate)
                    board.flush()
                notify("epoch_end", {**history[-1], "best": improved})
                if epoch - best["epoch"] >= config.patience > 0:
                    break
        except KeyboardInterrupt:
            if best["epoch"] == 0:
                raise TrainingInterrupted(
                    "training interrupted before the first epoch ended; nothing saved"
                ) from None
            raise TrainingInterrupted(
                f"training interrupted; the best model so far (epoch {best['epoch']}, "
                f"dev {config.column} {best['dev']:.4f}) is in {self.output}; "
                f"`postagger train --resume {self.output}` continues"
            ) from None

        # Final scores with the best weights, written with the complete model directory
        # (which no longer holds the training state).
        metrics = {
            "complete": True,
            "best_epoch": best["epoch"],
            "epochs_run": epoch,
            "dev": _full_scores(export, self.dev_bank, vocab, config),
            "history": history,
        }
        if self.data_paths["test"]:
            test_bank = Treebank.read(self.data_paths["test"], config.columns)
            self.provenance["data"]["test"] = test_bank.files
            metrics["test"] = _full_scores(export, test_bank, vocab, config)
        self.provenance["trained"] = _training_record(elapsed(), epoch, best["epoch"])
        save_model_dir(self.output, export, config, vocab, self.rules, metrics, self.provenance)
        if board is not None:
            board.close()
            if config.word_repr != "chars":
                _write_projector(self.output, Path(self.logdir))
        return metrics

    def _save_state(self, model, rng, epoch: int, best: dict, history: list, seconds: float) -> None:
        """Everything the next epochs depend on: all variables (weights, dropout seed states),
        the optimizer's variables and the NumPy generator that shuffles and drops words."""
        from postagger.atomic import atomic_output, atomic_write_text

        arrays = {f"model_{i}": np.asarray(v) for i, v in enumerate(model.variables)}
        arrays.update({f"optimizer_{i}": np.asarray(v) for i, v in enumerate(model.optimizer.variables)})
        with atomic_output(self.output / STATE_ARRAYS, binary=True) as stream:
            np.savez(stream, **arrays)
        state = {
            "epoch": epoch,
            "best": best,
            "history": history,
            "rng": rng.bit_generator.state,
            "seconds": seconds,
            "data_paths": self.data_paths,
        }
        atomic_write_text(self.output / STATE_JSON, json.dumps(state, indent=1) + "\n")


class _AveragedWeights:
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


def _predict(model, data, vocab: Vocabulary) -> dict[str, list[list[str]]]:
    """Column → predicted tags of every sentence."""
    from postagger.inference import predict_heads

    heads, _ = predict_heads(model, data, vocab)
    columns = [vocab.columns_of(h) for h in heads]
    return {c: [s[c] for s in columns] for c in vocab.columns}


def _accuracy(predicted: list[list[str]], gold: list[list[str]]) -> float:
    total = sum(len(g) for g in gold)
    correct = sum(p == g for ps, gs in zip(predicted, gold) for p, g in zip(ps, gs))
    return correct / total if total else 0.0


def _full_scores(model, bank: Treebank, vocab: Vocabulary, config: ModelConfig) -> dict:
    from postagger.batching import encode_sentence

    data = [encode_sentence(f, vocab, config.max_word_chars) for f in bank.forms]
    predicted = _predict(model, data, vocab)
    gold = {c: bank.tags(c) for c in config.columns}
    result = score(gold[config.column], predicted[config.column], bank.forms, vocab.is_known, config.column)
    result.update(column_scores(gold, predicted, bank.forms, vocab.is_known))
    return {k: v for k, v in result.items() if k not in ("per_tag", "confusions")}


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
