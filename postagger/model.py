"""The Keras network: word embedding and/or character encoder → stacked BiLSTM → softmax.

Imports TensorFlow/Keras; only the commands that need the network import this module.
"""

from __future__ import annotations

from postagger.backend import load_tensorflow

load_tensorflow()

from collections import Counter  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers, ops  # noqa: E402

from postagger.config import ModelConfig  # noqa: E402
from postagger.vocab import PAD_ID, UNK_ID, Vocabulary, head_column  # noqa: E402


@keras.saving.register_keras_serializable(package="postagger")
class PaddingMask(layers.Layer):
    """True for real tokens (word id != 0): the mask handed explicitly to every BiLSTM."""

    def call(self, words):
        return ops.not_equal(words, PAD_ID)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="postagger")
class TrainedWordIds(layers.Layer):
    """Word ids, with the words beyond the first `n` (added from pretrained vectors, never
    seen in training) mapped to the unknown word: the ids for the trained embedding."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = n

    def call(self, words):
        return ops.where(ops.greater_equal(words, self.n), ops.full_like(words, UNK_ID), words)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "n": self.n}


@keras.saving.register_keras_serializable(package="postagger")
class CharCNN(layers.Layer):
    """Each word's characters → embedding → 1-D convolution → max over real characters.

    Takes (batch, words, chars) ids and returns (batch, words, filters). Words are flattened
    to (batch·words, chars) for the convolution, since Conv1D takes 3-D input only. Padding
    characters have a zero embedding and are excluded from the max, so a word's vector does
    not depend on how much padding surrounds it; all-padding words get zeros.
    """

    def __init__(self, n_chars, char_dim, filters, kernel, **kwargs):
        super().__init__(**kwargs)
        self.n_chars, self.char_dim, self.filters, self.kernel = n_chars, char_dim, filters, kernel
        self.embedding = layers.Embedding(n_chars, char_dim, name="char_embedding")
        self.conv = layers.Conv1D(filters, kernel, padding="same", activation="relu", name="char_conv")

    def build(self, input_shape):
        self.embedding.build((None, None))
        self.conv.build((None, None, self.char_dim))

    def call(self, chars):
        shape = ops.shape(chars)
        flat = ops.reshape(chars, (-1, shape[2]))
        real = ops.not_equal(flat, PAD_ID)
        x = self.embedding(flat) * ops.expand_dims(ops.cast(real, self.compute_dtype), -1)
        x = self.conv(x)
        x = ops.where(ops.expand_dims(real, -1), x, ops.full_like(x, -1e9))
        x = ops.max(x, axis=1)
        x = ops.where(ops.expand_dims(ops.any(real, axis=1), -1), x, ops.zeros_like(x))
        return ops.reshape(x, (shape[0], shape[1], self.filters))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "n_chars": self.n_chars,
            "char_dim": self.char_dim,
            "filters": self.filters,
            "kernel": self.kernel,
        }


@keras.saving.register_keras_serializable(package="postagger")
class CharLSTM(layers.Layer):
    """Each word's characters → embedding → bidirectional LSTM → both final states.

    Takes (batch, words, chars) ids and returns (batch, words, 2·units): the forward state
    after the word's last character and the backward state after its first. Padding
    characters are masked, so a word's vector does not depend on the padding around it;
    all-padding words get zeros.
    """

    def __init__(self, n_chars, char_dim, units, **kwargs):
        super().__init__(**kwargs)
        self.n_chars, self.char_dim, self.units = n_chars, char_dim, units
        self.embedding = layers.Embedding(n_chars, char_dim, name="char_embedding")
        self.lstm = layers.Bidirectional(layers.LSTM(units), name="char_bilstm")

    def build(self, input_shape):
        self.embedding.build((None, None))
        self.lstm.build((None, None, self.char_dim))

    def call(self, chars):
        shape = ops.shape(chars)
        flat = ops.reshape(chars, (-1, shape[2]))
        real = ops.not_equal(flat, PAD_ID)
        x = self.lstm(self.embedding(flat), mask=real)
        x = ops.where(ops.expand_dims(ops.any(real, axis=1), -1), x, ops.zeros_like(x))
        return ops.reshape(x, (shape[0], shape[1], 2 * self.units))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], 2 * self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "n_chars": self.n_chars,
            "char_dim": self.char_dim,
            "units": self.units,
        }


def build_model(config: ModelConfig, vocab: Vocabulary, embeddings: np.ndarray | None = None) -> keras.Model:
    """The tagger network for `config`, sized by `vocab`; outputs tag probabilities.

    `embeddings` (vocabulary size × word_dim) initialises the word embedding, e.g. from
    pretrained vectors; it is passed as layer weights, not as an initializer, so that the
    matrix is not copied into the saved model config.
    """
    words = keras.Input(shape=(None,), dtype="int32", name="words")
    chars = keras.Input(shape=(None, None), dtype="int32", name="chars")
    mask = PaddingMask(name="padding_mask")(words)
    parts = []
    if config.word_repr in ("word", "both") and config.dual_embeddings:
        # UDPipe 2 style: a trained embedding for the training words (started from the
        # vectors) beside the frozen pretrained vectors of every word, so that a word unseen
        # in training but known to the vectors keeps its pretrained meaning
        n = vocab.trained_words()
        initial = None if embeddings is None else [embeddings[:n]]
        trained = layers.Embedding(n, config.word_dim, weights=initial, name="word_embedding")
        frozen = layers.Embedding(
            len(vocab.words), config.word_dim, weights=None if embeddings is None else [embeddings],
            trainable=False, name="pretrained_embedding",
        )  # fmt: skip
        parts.append(trained(TrainedWordIds(n, name="trained_word_ids")(words)))
        parts.append(frozen(words))
    elif config.word_repr in ("word", "both"):
        embedding = layers.Embedding(
            len(vocab.words),
            config.word_dim,
            mask_zero=True,
            weights=None if embeddings is None else [embeddings],
            trainable=not config.freeze_embeddings,
            name="word_embedding",
        )
        parts.append(embedding(words))
    if config.word_repr in ("chars", "both"):
        if config.char_encoder == "lstm":
            encoder = CharLSTM(len(vocab.chars), config.char_dim, config.char_units, name="char_lstm")
        else:
            encoder = CharCNN(
                len(vocab.chars), config.char_dim, config.char_filters, config.char_kernel, name="char_cnn"
            )
        parts.append(encoder(chars))
    x = parts[0] if len(parts) == 1 else layers.Concatenate(name="word_repr")(parts)
    x = layers.Dropout(config.dropout, name="repr_dropout")(x)
    for i in range(config.lstm_layers):
        lstm = layers.LSTM(config.lstm_units, return_sequences=True)
        x = layers.Bidirectional(lstm, name=f"bilstm_{i + 1}")(x, mask=mask)
        x = layers.Dropout(config.dropout, name=f"dropout_{i + 1}")(x)
    # one softmax head per output (joint tagging shares everything below it); Dense on a
    # 3-D tensor is the per-timestep layer (TimeDistributed breaks on varying lengths)
    outputs = {
        name: layers.Dense(len(vocab.tagsets[head]), activation="softmax", name=name)(x)
        for head, name in vocab.output_names.items()
    }
    return keras.Model({"words": words, "chars": chars}, outputs, name="postagger")


def compile_model(
    model: keras.Model, config: ModelConfig, vocab: Vocabulary, batches_per_epoch: int = 1
) -> None:
    """Adam with gradient clipping; the loss is a weighted sum over the heads of each head's
    per-token mean over the real tokens only (see `head_weights`). With
    `config.average_epochs`, the optimizer also keeps a moving average of the weights
    (`use_ema`; its horizon in updates needs `batches_per_epoch`)."""
    optimizer = keras.optimizers.Adam(
        learning_rate=config.learning_rate,
        clipnorm=config.clipnorm,
        use_ema=config.average_epochs > 0,
        ema_momentum=config.ema_momentum(batches_per_epoch),
    )
    model.compile(
        optimizer=optimizer,
        loss={name: token_loss() for name in model.output_names},
        loss_weights=head_weights(vocab, config.aux_weight),
        jit_compile=False,  # sentence lengths vary per batch: XLA would recompile each shape
    )


def head_weights(vocab: Vocabulary, aux_weight: float) -> dict[str, float]:
    """Loss weight of each output: the first column weighs 1 and every other `aux_weight`
    (0.25 by default: with 1, joint training cost 0.2-0.4 points of dev UPOS on EWT; see
    docs/BENCHMARKS.md). A column's weight is shared by its heads, so that FEATS learnt as
    20 feature heads does not outweigh UPOS 20 times (with weight 1 per head the test
    suite's tiny network on the 150-sentence sample learnt little but "absent": dev UPOS
    0.17, against 0.81 with shared weights and 0.83 for UPOS alone)."""
    heads_per_column = Counter(head_column(head) for head in vocab.tagsets)
    weights = {}
    for head, name in vocab.output_names.items():
        column = head_column(head)
        weights[name] = (1.0 if column == vocab.column else aux_weight) / heads_per_column[column]
    return weights


def token_loss() -> keras.losses.Loss:
    """Cross-entropy averaged over tokens with weight 1 (padding has weight 0)."""
    return keras.losses.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight")
