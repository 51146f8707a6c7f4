from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DEV, TINY, TRAIN, conllu_block, write

from postagger.config import ModelConfig
from postagger.conllu_io import read_treebank
from postagger.errors import PostaggerError
from postagger.train import TrainingInterrupted, train

pytestmark = pytest.mark.slow  # trains models or builds Keras networks


def first_sentences(tmp_path, n):
    text = TRAIN.read_text(encoding="utf-8")
    blocks = [b for b in text.split("\n\n") if b.strip()][:n]
    return write(tmp_path / f"first{n}.conllu", "\n\n".join(blocks) + "\n\n")


def test_a_tiny_model_overfits_twenty_sentences(tmp_path):
    data = first_sentences(tmp_path, 20)
    config = ModelConfig(**{**TINY, "epochs": 40, "lstm_units": 32, "dropout": 0.0, "word_dropout": 0.0})
    metrics = train([data], [data], tmp_path / "m", config, segmenter=None)
    assert metrics["dev"]["upos"] > 0.95


def test_model_directory_records_config_vocab_provenance_and_scores(tiny_model):
    meta = json.loads((tiny_model / "config.json").read_text())
    assert meta["format"] == 1 and meta["config"]["lstm_units"] == TINY["lstm_units"]
    prov = meta["provenance"]
    assert prov["data"]["train"][0]["name"] == TRAIN.name
    assert len(prov["data"]["train"][0]["sha256"]) == 64
    assert prov["libraries"]["keras"].startswith("3.")
    assert prov["seed"] == 1 and prov["command"] == "pytest"
    metrics = json.loads((tiny_model / "metrics.json").read_text())
    assert metrics["complete"] is True
    for split in ("dev", "test"):
        assert 0.5 < metrics[split]["upos"] <= 1 and "upos_oov" in metrics[split]
    assert {p.name for p in tiny_model.iterdir()} == {
        "config.json", "vocab.json", "tokenizer.json", "metrics.json", "weights.npz", "segmenter.json",
        "segmenter.npz", "tagger.onnx", "tagger.int8.onnx", "segmenter.onnx",
    }  # fmt: skip
    segmenter = json.loads((tiny_model / "segmenter.json").read_text())
    assert segmenter["provenance"]["data"]["train"][0]["name"] == TRAIN.name
    assert 0.5 < segmenter["scores"]["tokens"] <= 1 and segmenter["threshold"] in (0.3, 0.4, 0.5, 0.6, 0.7)


def weights(model_dir) -> dict:
    from postagger.modeldir import read_weight_arrays

    return read_weight_arrays(model_dir / "weights.npz")


def test_same_seed_same_weights(tmp_path):
    data = first_sentences(tmp_path, 10)
    config = ModelConfig(**{**TINY, "epochs": 2})
    train([data], [data], tmp_path / "a", config, segmenter=None)
    train([data], [data], tmp_path / "b", config, segmenter=None)
    a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_interrupted_training_keeps_the_best_epoch(tmp_path):
    from postagger.tagger import Tagger

    data = first_sentences(tmp_path, 10)

    def stop_in_epoch_two(event, info):
        if event == "epoch_start" and info["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted, match="best model so far \\(epoch 1"):
        train([data], [data], tmp_path / "m", ModelConfig(**TINY), progress=stop_in_epoch_two, segmenter=None)
    tagger = Tagger.load(tmp_path / "m")
    assert tagger.info.metrics["complete"] is False and tagger.info.metrics["best_epoch"] == 1
    assert len(tagger.tag([["A", "test"]])[0]) == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp dirs left


def test_a_given_vocabulary_must_cover_the_training_tags(tmp_path):
    from postagger.vocab import build_vocabulary

    small = write(tmp_path / "small.conllu", conllu_block("1 a DET", "2 b NOUN"))
    vocab = build_vocabulary(read_treebank([small]))
    with pytest.raises(
        PostaggerError, match=r"sample-train.conllu:1: .*tags missing from the vocabulary \(UPOS ADJ, "
    ):
        train([TRAIN], [DEV], tmp_path / "m", ModelConfig(**TINY), vocab=vocab, segmenter=None)


@pytest.mark.parametrize(
    ("average_epochs", "restart_epochs", "stop_at"),
    [(0.0, 0, 3), (1.0, 0, 3), (0.0, 2, 5), (0.0, 2, 6)],  # 5: before the restart, 6: within it
)
def test_resume_after_an_interruption_gives_the_uninterrupted_result(
    tmp_path, average_epochs, restart_epochs, stop_at
):
    from postagger.train import resume

    data = first_sentences(tmp_path, 12)
    settings = {
        "epochs": 4,
        "patience": 0,
        "average_epochs": average_epochs,
        "restart_epochs": restart_epochs,
    }
    config = ModelConfig(**{**TINY, **settings})
    straight = train([data], [data], tmp_path / "straight", config, segmenter=None)
    assert len(straight["history"]) == 4 + restart_epochs

    def stop_at_epoch_three(event, info):
        if event == "epoch_start" and info["epoch"] == stop_at:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted, match="--resume"):
        train([data], [data], tmp_path / "resumed", config, progress=stop_at_epoch_three, segmenter=None)
    assert (tmp_path / "resumed" / "training-state.json").exists()
    resumed = resume(tmp_path / "resumed")

    def untimed(history):  # the seconds of each epoch are wall time, not a result
        return [{k: v for k, v in h.items() if k != "seconds"} for h in history]

    assert untimed(resumed["history"]) == untimed(straight["history"])
    assert [h["seconds"] for h in resumed["history"]] == sorted(h["seconds"] for h in resumed["history"])
    assert resumed["dev"] == straight["dev"]
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert not (tmp_path / "resumed" / "training-state.json").exists()  # finished: nothing to resume
    with pytest.raises(PostaggerError, match="nothing to resume"):
        resume(tmp_path / "resumed")


def test_restart_epochs_start_from_the_best_weights_with_a_fresh_optimizer(tmp_path, monkeypatch):
    """--restart-epochs: after the last epoch, the best epoch's weights, Adam's moments and
    step count at zero, the best epoch's learning rate, kept (not decayed) through the
    restart; a restart epoch that beats the best is the saved model."""
    from postagger.train import Trainer

    data = first_sentences(tmp_path, 10)
    dev_scores = iter([0.5, 0.4, 0.3, 0.45, 0.6])  # best epoch 1; the second restart epoch beats it
    monkeypatch.setattr(Trainer, "score_dev", lambda self: {"upos": next(dev_scores)})
    seen = {}
    restart = Trainer.restart

    def spy(self, epoch):
        last = self.model.get_weights()  # the last epoch's weights
        restart(self, epoch)
        best = self.export.get_weights()
        seen["epoch"] = epoch
        seen["weights"] = all(np.array_equal(a, b) for a, b in zip(self.model.get_weights(), best))
        seen["moved"] = not all(np.array_equal(a, b) for a, b in zip(self.model.get_weights(), last))
        moments = [v for v in self.model.optimizer.variables if v.path.endswith(("_momentum", "_velocity"))]
        seen["moments"] = bool(moments) and all(not np.asarray(v).any() for v in moments)
        seen["iterations"] = int(np.asarray(self.model.optimizer.iterations))

    monkeypatch.setattr(Trainer, "restart", spy)
    config = ModelConfig(**{**TINY, "epochs": 3, "patience": 0, "restart_epochs": 2})
    metrics = train([data], [data], tmp_path / "m", config, segmenter=None)
    assert seen == {"epoch": 3, "weights": True, "moved": True, "moments": True, "iterations": 0}
    rates = [h["learning_rate"] for h in metrics["history"]]
    assert (
        rates[3] == rates[4] == rates[0] and rates[1] == rates[0] and rates[2] == pytest.approx(rates[0] / 2)
    )
    assert [bool(h.get("restart")) for h in metrics["history"]] == [False, False, False, True, True]
    assert metrics["best_epoch"] == 5 and metrics["epochs_run"] == 5


def test_added_words_follow_fine_tuning_once_also_after_a_resume(tmp_path, monkeypatch):
    """--extend-vocab rows move with their nearest training words in the saved model (once:
    a resumed run that keeps an earlier best epoch must not move them again)."""
    from postagger.train import Trainer, resume
    from postagger.vectors import align, follow_neighbours
    from postagger.vocab import build_vocabulary

    data = first_sentences(tmp_path, 12)
    rng = np.random.default_rng(0)
    words = sorted({w.lower() for s in read_treebank([data]) for w in s.forms})
    rows = [f"{w} " + " ".join(f"{v:.3f}" for v in rng.normal(0, 1, 8)) for w in [*words, "zebra", "quokka"]]
    vectors = write(tmp_path / "toy.vec", "\n".join(rows) + "\n")
    # the best epoch is the first (dev scores that only fall), so the run ends on the weights
    # saved at epoch 1, read back from disk after the resume
    monkeypatch.setattr(Trainer, "score_dev", lambda self: {"upos": 1.0 / (len(self.history) + 1)})
    config = ModelConfig(**{**TINY, "epochs": 3, "extend_vocab": 2, "extend_neighbours": 2})
    train([data], [data], tmp_path / "straight", config, vectors=vectors, segmenter=None)

    def stop_at_epoch_three(event, info):
        if event == "epoch_start" and info["epoch"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted):
        train([data], [data], tmp_path / "resumed", config, vectors=vectors, progress=stop_at_epoch_three,
              segmenter=None)  # fmt: skip
    resume(tmp_path / "resumed")
    straight, resumed = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    np.testing.assert_array_equal(straight["word_embedding/0"], resumed["word_embedding/0"])

    start = align(build_vocabulary(read_treebank([data]), ("upos",)), vectors, extend_vocab=2)
    saved = straight["word_embedding/0"]
    assert start.vocab.words.items[-2:] == ["zebra", "quokka"]
    expected = saved.copy()
    expected[-2:] = start.matrix[-2:]
    expected = follow_neighbours(expected, start.anchors, start.matrix[start.anchors], 2, k=2)
    np.testing.assert_allclose(saved[-2:], expected[-2:], atol=2e-3)  # float16 storage
    assert np.abs(saved[-2:] - start.matrix[-2:]).max() > 0.01  # they did move


def toy_language(rng, n_sentences: int, stems: list[str]) -> str:
    """Sentences of a made-up language whose part of speech shows only in the suffix:
    nouns end in -ak, verbs in -iso, adjectives in -um; word order is free."""
    suffixes = {"NOUN": "ak", "VERB": "iso", "ADJ": "um"}
    blocks = []
    for _ in range(n_sentences):
        words = []
        for tag in rng.choice(list(suffixes), size=rng.integers(3, 7)):
            words.append((str(rng.choice(stems)) + suffixes[tag], str(tag)))
        words.append((".", "PUNCT"))
        blocks.append(conllu_block(*(f"{i} {form} {tag}" for i, (form, tag) in enumerate(words, 1))))
    return "".join(blocks)


@pytest.mark.parametrize("encoder", ["lstm", "cnn"])
def test_the_char_model_tags_unseen_words_by_their_suffix(tmp_path, encoder):
    from postagger.tagger import Tagger

    rng = np.random.default_rng(0)
    letters = list("bdfgklmnprstvz")
    stems = sorted({"".join(rng.choice(letters, size=3)) for _ in range(200)})
    seen, unseen = stems[:40], stems[-20:]
    data = write(tmp_path / "toy.conllu", toy_language(rng, 150, seen))
    config = ModelConfig(**{**TINY, "word_repr": "chars", "char_encoder": encoder, "epochs": 8})
    train([data], [data], tmp_path / "m", config, segmenter=None)
    tagger = Tagger.load(tmp_path / "m")
    words = [stem + suffix for stem in unseen for suffix in ("ak", "iso", "um")]
    tags = tagger.tag([[w] for w in words])
    assert [t[0] for t in tags] == ["NOUN", "VERB", "ADJ"] * len(unseen)


def test_word_dropout_and_dropout_are_off_when_tagging(tiny_model):
    """Training replaces rare words by <unk> and drops units at random; tagging must not:
    the same input always gives the same probabilities, and a rare training word is
    tagged through its own embedding (its probabilities differ from <unk>'s)."""
    from postagger.batching import encode_sentence, pad_batch
    from postagger.engines import load_keras_model
    from postagger.modeldir import load_model_info
    from postagger.vocab import UNK_ID

    info = load_model_info(tiny_model)
    network = load_keras_model(info)
    vocab = info.vocab
    rare = next(w for w in vocab.words.items[2:] if vocab.word_counts.get(w) == 1)
    sentence = encode_sentence(["The", rare, "."], vocab, info.config.max_word_chars)
    batch = pad_batch([sentence], [0])
    runs = [np.asarray(network(batch.inputs, training=False)["tags"]) for _ in range(5)]
    for probs in runs[1:]:
        np.testing.assert_array_equal(probs, runs[0])
    unk_inputs = {**batch.inputs, "words": np.where(batch.words == batch.words[0, 1], UNK_ID, batch.words)}
    assert not np.allclose(np.asarray(network(unk_inputs, training=False)["tags"]), runs[0])
    assert np.allclose(np.asarray(network.predict_on_batch(batch.inputs)["tags"]), runs[0], atol=1e-6)


def test_logdir_gets_tensorboard_scalars_and_projector_files(tmp_path):
    import tensorflow as tf

    data = first_sentences(tmp_path, 10)
    logdir = tmp_path / "logs"
    train([data], [data], tmp_path / "m", ModelConfig(**{**TINY, "epochs": 2}), logdir=logdir, segmenter=None)
    [events] = list(logdir.glob("events.out.tfevents.*"))
    seen = {}
    for event in tf.compat.v1.train.summary_iterator(str(events)):
        for value in event.summary.value:
            seen.setdefault(value.tag, []).append(event.step)
    assert seen == {"loss": [1, 2], "dev_accuracy/upos": [1, 2], "learning_rate": [1, 2]}
    vectors = (logdir / "projector" / "vectors.tsv").read_text(encoding="utf-8").splitlines()
    words = (logdir / "projector" / "metadata.tsv").read_text(encoding="utf-8").splitlines()
    assert len(vectors) == len(words) > 10 and all(len(v.split("\t")) == TINY["word_dim"] for v in vectors)
    assert 'tensor_path: "projector/vectors.tsv"' in (logdir / "projector_config.pbtxt").read_text()


def test_automatic_batch_size_follows_the_training_set(tmp_path):
    from postagger.config import auto_batch_size

    assert auto_batch_size(150) == 8 and auto_batch_size(2000) == 16 and auto_batch_size(12544) == 32
    data = first_sentences(tmp_path, 10)
    config = ModelConfig(**{**TINY, "epochs": 1, "batch_size": 0})
    train([data], [data], tmp_path / "m", config, segmenter=None)
    saved = json.loads((tmp_path / "m" / "config.json").read_text())["config"]
    assert saved["batch_size"] == 8  # recorded as used, so that resuming uses it too


def test_a_joint_model_learns_and_scores_every_column(joint_model):
    metrics = json.loads((joint_model / "metrics.json").read_text())
    for split in ("dev", "test"):
        for name in ("upos", "xpos", "feats", "ufeats", "alltags"):
            assert 0.4 < metrics[split][name] <= 1, (split, name)
            assert f"{name}_oov" in metrics[split]
        assert metrics[split]["alltags"] <= min(metrics[split][c] for c in ("upos", "xpos", "ufeats"))
    assert set(metrics["history"][0]["dev_columns"]) == {"upos", "xpos", "feats"}
    best = metrics["history"][metrics["best_epoch"] - 1]
    assert best["dev"] == max(h["dev"] for h in metrics["history"])  # UPOS picks the epoch


def test_a_joint_model_tags_every_column_alike_with_both_engines(joint_model):
    from postagger.evaluate import same_order_feats
    from postagger.tagger import Tagger

    forms = [s.forms for s in read_treebank([DEV])]
    numpy_tags = [t.tags for t in Tagger.load(joint_model, "numpy").tag_sentences(forms)]
    keras_tags = [t.tags for t in Tagger.load(joint_model, "keras").tag_sentences(forms)]
    assert numpy_tags == keras_tags
    tagger = Tagger.load(joint_model)
    assert tagger.columns == ["upos", "xpos", "feats"] and tagger.tag(forms) == [
        t["upos"] for t in numpy_tags
    ]
    feats = [f for sentence in numpy_tags for f in sentence["feats"]]
    assert all(f == "_" or f == same_order_feats(f) for f in feats)  # joined in order
    assert any(f != "_" for f in feats) and any(f == "_" for f in feats)


def test_words_without_a_tag_leave_that_column_out_of_the_loss(tmp_path, monkeypatch):
    import keras

    from postagger.vocab import Vocabulary

    text = first_sentences(tmp_path, 20).read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines()]
    for row in rows:
        if len(row) == 10 and row[1] == "the":
            row[4] = "_"  # an untagged XPOS, as 3 words of UD_Turkish-IMST have
    data = write(tmp_path / "gaps.conllu", "\n".join("\t".join(row) for row in rows) + "\n")
    gaps = sum(len(row) == 10 and row[1] == "the" for row in rows)
    words = sum(len(row) == 10 and row[0].isdigit() for row in rows)
    seen = []
    original = keras.Model.train_on_batch

    def spy(self, x, y=None, sample_weight=None, **kwargs):
        seen.append((np.array(x["words"]), sample_weight))
        return original(self, x, y, sample_weight=sample_weight, **kwargs)

    monkeypatch.setattr(keras.Model, "train_on_batch", spy)
    events = []
    config = ModelConfig(**{**TINY, "epochs": 1, "word_dropout": 0.0, "columns": ("upos", "xpos")})
    train([data], [data], tmp_path / "m", config, segmenter=None, progress=lambda e, d: events.append((e, d)))
    assert ("missing_tags", {"column": "xpos", "missing": gaps, "words": words}) in events and gaps > 5
    the = Vocabulary.load(tmp_path / "m" / "vocab.json").words.get("the")
    real = np.concatenate([(w > 0).ravel() for w, _ in seen])
    is_the = np.concatenate([(w == the).ravel() for w, _ in seen])
    upos = np.concatenate([weights["tags"].ravel() for _, weights in seen])
    xpos = np.concatenate([weights["tags_1"].ravel() for _, weights in seen])
    assert is_the.sum() == gaps
    assert (upos[real] == 1).all() and (upos[~real] == 0).all()
    assert (xpos[is_the] == 0).all() and (xpos[real & ~is_the] == 1).all() and (xpos[~real] == 0).all()
    assert "<pad>" not in Vocabulary.load(tmp_path / "m" / "vocab.json").tagsets["xpos"].items[1:]
