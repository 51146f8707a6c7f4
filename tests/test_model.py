"""The network: padding must never change the loss or the tags of real tokens."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TRAIN

from postagger.batching import encode_sentence, pad_batch
from postagger.config import ModelConfig
from postagger.conllu_io import read_treebank
from postagger.vocab import build_vocabulary

pytestmark = pytest.mark.slow  # trains models or builds Keras networks


@pytest.fixture(scope="module")
def setup():
    from postagger.model import build_model, compile_model

    # joint heads (FEATS per feature): padding must not count in any head's loss
    columns = ("upos", "xpos", "feats")
    sentences = list(read_treebank([TRAIN]))[:4]
    vocab = build_vocabulary(sentences, columns, feats_heads="split")
    config = ModelConfig(
        columns=columns, feats_heads="split", word_dim=8, char_dim=4, char_filters=8, lstm_units=8,
        lstm_layers=2, dropout=0.0,
    )  # fmt: skip
    model = build_model(config, vocab)
    compile_model(model, config, vocab)
    data = [encode_sentence(s.forms, vocab, 24, vocab.head_tags(s)) for s in sentences]
    return model, data, vocab


def targets(batch, vocab):
    """The batch's tags and weights keyed by output layer, as training passes them."""
    names = vocab.output_names
    return (
        {names[head]: tags for head, tags in batch.tags.items()},
        {name: batch.weights for name in names.values()},
    )


def test_one_output_per_head(setup):
    model, _, vocab = setup
    assert len(vocab.tagsets) > 5 and "feats:Number" in vocab.tagsets
    assert sorted(model.output_names) == sorted(vocab.output_names.values())


def test_a_sentence_alone_and_padded_in_a_batch_gets_the_same_output(setup):
    model, data, _ = setup
    short = min(range(len(data)), key=lambda i: len(data[i].words))
    alone = pad_batch([data[short]], [0])
    together = pad_batch(data, list(range(len(data))))
    assert together.words.shape[1] > alone.words.shape[1]  # really padded
    assert together.chars.shape[2] >= alone.chars.shape[2]
    p_alone = model.predict_on_batch(alone.inputs)
    p_together = model.predict_on_batch(together.inputs)
    for name in model.output_names:
        expected = np.asarray(p_alone[name])[0]
        np.testing.assert_allclose(
            expected, np.asarray(p_together[name])[short, : len(data[short].words)], atol=1e-5
        )


def test_padding_does_not_change_the_loss(setup):
    model, data, vocab = setup
    short = min(range(len(data)), key=lambda i: len(data[i].words))
    alone = pad_batch([data[short]], [0])
    longest = max(len(d.words) for d in data)
    padded = pad_batch([data[short]], [0])
    extra = longest - padded.words.shape[1]
    # same sentence with many padding positions holding garbage labels (weight 0)
    padded.words = np.pad(padded.words, ((0, 0), (0, extra)))
    padded.chars = np.pad(padded.chars, ((0, 0), (0, extra), (0, 3)))
    padded.tags = {h: np.pad(t, ((0, 0), (0, extra)), constant_values=2) for h, t in padded.tags.items()}
    padded.weights = np.pad(padded.weights, ((0, 0), (0, extra)))
    loss_alone = model.test_on_batch(alone.inputs, *targets(alone, vocab), return_dict=True)
    loss_padded = model.test_on_batch(padded.inputs, *targets(padded, vocab), return_dict=True)
    assert len(loss_alone) == len(vocab.tagsets) + 1  # the sum and one loss per head
    for name, value in loss_alone.items():
        assert value == pytest.approx(loss_padded[name], rel=1e-5), name


def test_loss_is_a_per_token_mean():
    from postagger.model import token_loss

    y_true = np.array([[1, 2, 0, 0], [2, 0, 0, 0]])
    probs = np.full((2, 4, 3), 1 / 3, dtype=np.float32)
    probs[0, 0] = [0.0, 0.5, 0.5]
    weights = (y_true > 0).astype(np.float32)
    expected = (-np.log(0.5) + 2 * -np.log(1 / 3)) / 3
    assert float(token_loss()(y_true, probs, sample_weight=weights)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("encoder", ["cnn", "lstm"])
def test_char_encoder_ignores_character_padding(encoder):
    import keras

    from postagger.model import CharCNN, CharLSTM

    if encoder == "cnn":
        layer = CharCNN(n_chars=10, char_dim=4, filters=6, kernel=3)
    else:
        layer = CharLSTM(n_chars=10, char_dim=4, units=3)
    word = np.array([[[3, 4, 5]]], dtype=np.int32)
    wide = np.array([[[3, 4, 5, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0]]], dtype=np.int32)
    a = keras.ops.convert_to_numpy(layer(word))[0, 0]
    b = keras.ops.convert_to_numpy(layer(wide))[0]
    np.testing.assert_allclose(a, b[0], atol=1e-6)
    assert (b[1] == 0).all()  # an all-padding word


def test_head_weights_give_each_column_its_weight(setup):
    from postagger.model import head_weights

    _, _, vocab = setup
    weights = head_weights(vocab, aux_weight=0.5)
    names = vocab.output_names
    assert weights[names["upos"]] == 1.0 and weights[names["xpos"]] == 0.5
    features = [weights[name] for head, name in names.items() if head.startswith("feats:")]
    assert len(features) > 5 and sum(features) == pytest.approx(0.5)  # shared by the feature heads


def test_weight_averaging_swaps_in_the_moving_average_and_back():
    """With average_epochs, the optimizer keeps avg = m·avg + (1 - m)·w after every update
    (avg = w after the first), m = 1 - 1/(average_epochs × batches per epoch); dev scoring
    swaps it into the model and the training weights come back afterwards."""
    from postagger.backend import load_tensorflow
    from postagger.model import build_model, compile_model
    from postagger.train import AveragedWeights

    _, keras = load_tensorflow()
    sentences = list(read_treebank([TRAIN]))[:6]
    vocab = build_vocabulary(sentences)
    config = ModelConfig(
        word_dim=8, char_dim=4, char_filters=8, lstm_units=8, lstm_layers=1, average_epochs=1.5
    )
    momentum = config.ema_momentum(batches_per_epoch=2)
    assert momentum == pytest.approx(1 - 1 / 3)
    assert ModelConfig(average_epochs=0.1).ema_momentum(2) == 0.0  # under one update: the last weights
    model = build_model(config, vocab)
    compile_model(model, config, vocab, batches_per_epoch=2)
    data = [encode_sentence(s.forms, vocab, 24, vocab.head_tags(s)) for s in sentences]
    expected = None
    for start in range(0, 6, 2):
        batch = pad_batch(data[start : start + 2], [0, 1])
        tags, weights = targets(batch, vocab)
        model.train_on_batch(batch.inputs, tags, sample_weight=weights)
        current = [np.asarray(v) for v in model.trainable_variables]
        if expected is None:
            expected = current
        else:
            expected = [momentum * a + (1 - momentum) * w for a, w in zip(expected, current)]
    averaged = AveragedWeights(model, keras)
    averaged.swap_in()
    for variable, value in zip(model.trainable_variables, expected):
        np.testing.assert_allclose(np.asarray(variable), value, atol=1e-6)
    assert any(not np.allclose(a, b) for a, b in zip(expected, current))  # really different
    averaged.swap_out()
    for variable, value in zip(model.trainable_variables, current):
        np.testing.assert_allclose(np.asarray(variable), value, atol=1e-6)
