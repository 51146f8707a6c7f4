from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DEV, TINY, TRAIN, conllu_block, write

from postagger.config import ModelConfig
from postagger.conllu_io import read_treebank
from postagger.errors import PostaggerError
from postagger.train import TrainingInterrupted, train


def first_sentences(tmp_path, n):
    text = TRAIN.read_text(encoding="utf-8")
    blocks = [b for b in text.split("\n\n") if b.strip()][:n]
    return write(tmp_path / f"first{n}.conllu", "\n\n".join(blocks) + "\n\n")


def test_a_tiny_model_overfits_twenty_sentences(tmp_path):
    data = first_sentences(tmp_path, 20)
    config = ModelConfig(**{**TINY, "epochs": 40, "lstm_units": 32, "dropout": 0.0, "word_dropout": 0.0})
    metrics = train([data], [data], tmp_path / "m", config)
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
        "config.json", "vocab.json", "tokenizer.json", "metrics.json", "model.keras", "weights.npz"
    }  # fmt: skip


def test_same_seed_same_weights(tmp_path):
    from postagger.tagger import Tagger

    data = first_sentences(tmp_path, 10)
    config = ModelConfig(**{**TINY, "epochs": 2})
    train([data], [data], tmp_path / "a", config)
    train([data], [data], tmp_path / "b", config)
    a, b = Tagger.load(tmp_path / "a", "keras").network, Tagger.load(tmp_path / "b", "keras").network
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_interrupted_training_keeps_the_best_epoch(tmp_path):
    from postagger.tagger import Tagger

    data = first_sentences(tmp_path, 10)

    def stop_in_epoch_two(event, info):
        if event == "epoch_start" and info["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted, match="best model so far \\(epoch 1"):
        train([data], [data], tmp_path / "m", ModelConfig(**TINY), progress=stop_in_epoch_two)
    tagger = Tagger.load(tmp_path / "m")
    assert tagger.info.metrics["complete"] is False and tagger.info.metrics["best_epoch"] == 1
    assert len(tagger.tag([["A", "test"]])[0]) == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp dirs left


def test_a_given_vocabulary_must_cover_the_training_tags(tmp_path):
    from postagger.vocab import build_vocabulary

    small = write(tmp_path / "small.conllu", conllu_block("1 a DET", "2 b NOUN"))
    vocab = build_vocabulary(read_treebank([small]))
    with pytest.raises(PostaggerError, match="tags missing from the vocabulary"):
        train([TRAIN], [DEV], tmp_path / "m", ModelConfig(**TINY), vocab=vocab)


def test_resume_after_an_interruption_gives_the_uninterrupted_result(tmp_path):
    from postagger.tagger import Tagger
    from postagger.train import resume

    data = first_sentences(tmp_path, 12)
    config = ModelConfig(**{**TINY, "epochs": 4, "patience": 0})
    straight = train([data], [data], tmp_path / "straight", config)

    def stop_at_epoch_three(event, info):
        if event == "epoch_start" and info["epoch"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted, match="--resume"):
        train([data], [data], tmp_path / "resumed", config, progress=stop_at_epoch_three)
    assert (tmp_path / "resumed" / "training-state.json").exists()
    resumed = resume(tmp_path / "resumed")
    assert resumed["history"] == straight["history"]
    assert resumed["dev"] == straight["dev"]
    a = Tagger.load(tmp_path / "straight", "keras").network
    b = Tagger.load(tmp_path / "resumed", "keras").network
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert not (tmp_path / "resumed" / "training-state.json").exists()  # finished: nothing to resume
    with pytest.raises(PostaggerError, match="nothing to resume"):
        resume(tmp_path / "resumed")
