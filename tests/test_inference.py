"""The NumPy forward pass must compute what the Keras model computes."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
from conftest import DEV, TEST, TRAIN

from postagger.batching import encode_sentence, length_batches
from postagger.conllu_io import read_treebank


@pytest.fixture(scope="module")
def networks(tiny_model):
    from postagger.modeldir import load_keras_network, load_model_info, load_network

    info = load_model_info(tiny_model)
    return info, load_network(info, "numpy"), load_keras_network(info)


def test_numpy_and_keras_give_the_same_probabilities(networks):
    info, numpy_net, keras_net = networks
    forms = [s.forms for s in read_treebank([TRAIN, DEV, TEST])]
    forms.append(["x" * 300, "Zanzibarification", "."])  # long and unseen words
    data = [encode_sentence(f, info.vocab, info.config.max_word_chars) for f in forms]
    for batch in length_batches(data, 16):
        expected = np.asarray(keras_net.predict_on_batch(batch.inputs)["tags"])
        got = numpy_net.predict_on_batch(batch.inputs)["tags"]
        real = batch.weights.astype(bool)
        np.testing.assert_allclose(got[real], expected[real], atol=1e-5)
        assert (got[real].argmax(-1) == expected[real].argmax(-1)).all()


@pytest.mark.parametrize(
    "settings",
    [
        {"word_repr": "both", "char_encoder": "lstm"},
        {"word_repr": "chars", "char_encoder": "lstm"},
        {"word_repr": "chars", "char_encoder": "cnn", "char_kernel": 4},
        {"word_repr": "word", "lstm_layers": 3},
        {"word_repr": "both", "dual_embeddings": True},
        {"columns": ("upos", "xpos", "feats")},
        {"columns": ("xpos", "feats", "upos"), "feats_heads": "split"},
    ],
)
def test_numpy_forward_pass_matches_keras_for_each_architecture(settings):
    """Untrained networks of each shape (random weights exercise every path as well)."""
    from postagger.config import ModelConfig
    from postagger.inference import NumpyNetwork, weight_arrays
    from postagger.model import build_model
    from postagger.vocab import Index, build_vocabulary

    sentences = list(read_treebank([DEV]))
    config = ModelConfig(word_dim=8, char_dim=6, char_units=5, char_filters=7, lstm_units=9, **settings)
    vocab = build_vocabulary(sentences, config.columns, feats_heads=config.feats_heads)
    added = ["zebra", "quokka"]  # as --extend-vocab adds them: after the training words
    vocab = dataclasses.replace(vocab, words=Index([*vocab.words.items, *added]))
    assert vocab.trained_words() == len(vocab.words) - 2
    model = build_model(config, vocab)
    numpy_net = NumpyNetwork(config, weight_arrays(model))
    forms = [s.forms for s in sentences] + [["x" * 300, "Zanzibarification", "."], ["a", "zebra", "quokka"]]
    data = [encode_sentence(f, vocab, config.max_word_chars) for f in forms]
    for batch in length_batches(data, 16):
        expected = model.predict_on_batch(batch.inputs)
        got = numpy_net.predict_on_batch(batch.inputs)
        assert set(got) == set(expected) == set(vocab.output_names.values())
        real = batch.weights.astype(bool)
        for name in expected:
            np.testing.assert_allclose(got[name][real], np.asarray(expected[name])[real], atol=1e-5)


def test_tagger_engines_agree(tiny_model):
    from postagger import Tagger

    forms = [s.forms for s in read_treebank([TEST])]
    assert Tagger.load(tiny_model, "numpy").tag(forms) == Tagger.load(tiny_model, "keras").tag(forms)


def test_tagging_with_numpy_never_imports_tensorflow(tiny_model):
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from postagger.cli import app\n"
        f"r = CliRunner().invoke(app, ['tag', '--model', {str(tiny_model)!r}], input='A test.\\n')\n"
        "assert r.exit_code == 0 and 'PUNCT' in r.stdout, r.output\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
