"""Subword pretraining (Mimick): the character encoder learns pretrained vectors from spelling."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TINY, TRAIN, write

from postagger.config import ModelConfig
from postagger.conllu_io import read_treebank
from postagger.vocab import build_vocabulary

pytestmark = pytest.mark.slow  # builds and trains a Keras network


def toy_vectors(tmp_path, rng):
    """Words whose vectors are set by their suffix (a toy morphology), plus noise."""
    suffixes = {"ing": 0, "ed": 1, "ness": 2, "ly": 3}
    letters = list("bcdfgklmnprstvz")
    lines, seen = [], set()
    while len(lines) < 800:
        stem = "".join(rng.choice(letters, 4)) + rng.choice(list("aeiou"))
        suffix = list(suffixes)[len(lines) % 4]
        word = stem + suffix
        if word in seen:
            continue
        seen.add(word)
        vector = np.zeros(8)
        vector[suffixes[suffix]] = 3.0
        vector += rng.normal(0, 0.3, 8)
        lines.append(word + " " + " ".join(f"{v:.4f}" for v in vector))
    return write(tmp_path / "toy.vec", "\n".join(lines) + "\n"), seen


def test_an_unseen_word_lands_near_its_morphological_neighbours(tmp_path):
    from postagger.backend import load_tensorflow

    _, keras = load_tensorflow()
    from postagger.batching import char_ids
    from postagger.mimick import pretrain_char_encoder
    from postagger.model import CharCNN

    rng = np.random.default_rng(0)
    path, seen = toy_vectors(tmp_path, rng)
    vocab = build_vocabulary(read_treebank([TRAIN]))
    config = ModelConfig(**{**TINY, "char_filters": 32, "learning_rate": 0.01})
    events = []
    weights = pretrain_char_encoder(config, vocab, path, lambda e, d: events.append(d), words=800, epochs=25)
    assert [e["epoch"] for e in events] == list(range(1, 26)) and events[-1]["loss"] < events[0]["loss"]
    encoder = CharCNN(
        len(vocab.chars), config.char_dim, config.char_filters, config.char_kernel, name="char_cnn"
    )
    encoder.build((None, None, None))
    encoder.set_weights([weights[f"char_cnn/{i}"] for i in range(len(encoder.weights))])

    def vector(word):
        ids = char_ids(word, vocab, config.max_word_chars)
        return np.asarray(encoder(ids[None, None, :]))[0, 0]

    def cosine(a, b):
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))

    unseen = ["tramboning", "glimpered", "frostiness", "quantly"]
    assert not set(unseen) & seen
    neighbours = {
        "tramboning": "sorting",
        "glimpered": "wanted",
        "frostiness": "kindness",
        "quantly": "slowly",
    }
    wins = 0
    for word in unseen:
        near = cosine(vector(word), vector(neighbours[word]))
        others = [cosine(vector(word), vector(neighbours[o])) for o in unseen if o != word]
        wins += near > max(others)
    assert wins >= 3  # a word's vector is nearest to the one sharing its suffix


def test_train_with_subword_pretraining_starts_the_tagger_from_the_pretrained_encoder(tmp_path, monkeypatch):
    from postagger import mimick
    from postagger.train import train

    path, _ = toy_vectors(tmp_path, np.random.default_rng(1))
    found = {}
    pretrain = mimick.pretrain_char_encoder

    def spy(*args, **kwargs):
        found.update(pretrain(*args, **kwargs))
        return found

    monkeypatch.setattr(mimick, "pretrain_char_encoder", spy)
    events = []
    config = ModelConfig(**{**TINY, "epochs": 1, "learning_rate": 1e-9, "subword_pretraining": True})
    train([TRAIN], [TRAIN], tmp_path / "m", config, vectors=path, segmenter=None,
          progress=lambda e, d: events.append(e))  # fmt: skip
    assert events.count("mimick_epoch_end") == mimick.MIMICK_EPOCHS
    # a learning rate of ~0: the saved encoder is still the pretrained one
    with np.load(tmp_path / "m" / "weights.npz") as saved:
        for name, array in found.items():
            np.testing.assert_allclose(saved[name], array, atol=1e-5)
