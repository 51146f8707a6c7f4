"""The NumPy forward pass (alone, and with ONNX Runtime for the BiLSTM layers and heads)
must compute what the Keras model computes."""

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
    return info, load_keras_network(info), {e: load_network(info, e) for e in ("numpy", "onnx")}


@pytest.mark.parametrize("engine", ["numpy", "onnx"])
def test_numpy_and_keras_give_the_same_probabilities(networks, engine):
    info, keras_net, nets = networks
    net = nets[engine]
    assert (net.onnx is not None) == (engine == "onnx")
    forms = [s.forms for s in read_treebank([TRAIN, DEV, TEST])]
    forms.append(["x" * 300, "Zanzibarification", "."])  # long and unseen words
    forms += [["Hello"], ["Yes", "!"]]  # one and two words, batched with each other
    data = [encode_sentence(f, info.vocab, info.config.max_word_chars) for f in forms]
    batches = list(length_batches(data, 16))
    assert any(batch.words.shape[1] == 1 for batch in batches)
    for batch in batches:
        expected = np.asarray(keras_net.predict_on_batch(batch.inputs)["tags"])
        got = net.predict_on_batch(batch.inputs)["tags"]
        real = batch.weights.astype(bool)
        np.testing.assert_allclose(got[real], expected[real], atol=1e-5)
        assert (got[real].argmax(-1) == expected[real].argmax(-1)).all()


def test_a_sentence_gets_the_same_probabilities_whatever_its_batch(networks):
    """Padding never leaks into real words: alone, or padded beside a longer sentence
    (both directions of every layer start and stop at the sentence's own words)."""
    info, _, nets = networks
    short = ["It", "works", "."]
    long = ["A", "much", "longer", "sentence", "pads", "the", "short", "one", "."]
    data = [encode_sentence(f, info.vocab, info.config.max_word_chars) for f in (short, long)]
    for net in nets.values():
        alone = net.predict_on_batch(next(length_batches(data[:1], 8)).inputs)["tags"][0]
        batch = next(length_batches(data, 8))
        together = net.predict_on_batch(batch.inputs)["tags"][batch.index.index(0), :3]
        np.testing.assert_allclose(together, alone, atol=1e-6)


@pytest.mark.parametrize("engine", ["numpy", "onnx"])
@pytest.mark.parametrize("rows", [4, 60, 20_000])
def test_the_form_table_tags_as_the_network_does_batch_by_batch(networks, monkeypatch, engine, rows):
    """Tagging from the table of word vectors (kept across batches, emptied when full,
    bypassed for a batch with more distinct forms than it holds), with the best tag ids
    computed inside the network, gives the tags and scores of the probabilities computed
    afresh for each batch."""
    from postagger import inference

    info, _, nets = networks
    net = nets[engine]
    forms = [s.forms for s in read_treebank([DEV, TEST])] + [["x" * 300, "Zanzibarification", "."], ["Hi"]]
    data = [encode_sentence(f, info.vocab, info.config.max_word_chars) for f in forms]
    heads, scores = inference.predict_heads(net, data, info.vocab, 16, top_k=3)
    monkeypatch.setattr(inference, "FORM_TABLE_ROWS", rows)
    table = inference.FormTable(net, info.vocab, info.config.max_word_chars)
    for _ in range(2):  # the second pass reads the table (or refills it)
        got_heads, got_scores = inference.tag_with_table(net, table, forms, 16, top_k=3)
        assert got_heads == heads
        for got, expected in zip(got_scores, scores):
            assert [[t for t, _ in word] for word in got] == [[t for t, _ in word] for word in expected]
            np.testing.assert_allclose(
                [[p for _, p in w] for w in got], [[p for _, p in w] for w in expected], atol=1e-6
            )
        assert len(table.index) < rows
    assert inference.tag_with_table(net, table, forms, 16)[1] is None


@pytest.mark.parametrize("onnx", [False, True], ids=["numpy", "onnx"])
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
def test_numpy_forward_pass_matches_keras_for_each_architecture(settings, onnx):
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
    numpy_net = NumpyNetwork(config, weight_arrays(model), onnx=onnx)
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
    expected = Tagger.load(tiny_model, "keras").tag(forms)
    for engine in ("numpy", "onnx", "auto"):
        assert Tagger.load(tiny_model, engine).tag(forms) == expected


def test_onnx_engine_without_onnxruntime(networks, monkeypatch):
    """--engine onnx asks for what it needs; auto falls back to NumPy alone."""
    from postagger import onnx_engine
    from postagger.errors import PostaggerError
    from postagger.modeldir import load_network

    info, _, _ = networks
    monkeypatch.setattr(onnx_engine, "available", lambda: False)
    with pytest.raises(PostaggerError, match="pip install onnxruntime onnx"):
        load_network(info, "onnx")
    assert load_network(info, "auto").onnx is None


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
