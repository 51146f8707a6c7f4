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

from postagger.config import ModelConfig, SegmenterConfig  # noqa: E402
from postagger.segmentation import LABELS  # noqa: E402
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


class LengthMask(layers.Layer):
    """True for the first `length` steps of each row (right padding): the tagging stage's
    mask, from sentence lengths instead of padding ids."""

    def call(self, vectors, lengths):
        steps = ops.arange(ops.shape(vectors)[1], dtype="int32")
        return ops.less(ops.expand_dims(steps, 0), ops.expand_dims(lengths, 1))

    def compute_output_shape(self, vectors_shape, lengths_shape):
        return vectors_shape[:2]


class BestTagIds(layers.Layer):
    """The best tag id of each step, never the padding tag (id 0)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # one id per step: the steps' mask still holds

    def call(self, probs):
        return ops.argmax(probs[..., 1:], axis=-1) + 1

    def compute_output_shape(self, input_shape):
        return input_shape[:-1]


class CharacterEncoder(layers.Layer):
    """What the character encoders share: (batch, words, chars) ids → (batch, words, size).

    Words are flattened to (batch·words, chars) for `encode` (Conv1D and LSTM take 3-D input
    only); padding characters never count, so a word's vector does not depend on how much
    padding surrounds it; all-padding words get zeros.
    """

    def __init__(self, n_chars, char_dim, size, **kwargs):
        super().__init__(**kwargs)
        self.n_chars, self.char_dim, self.size = n_chars, char_dim, size
        self.embedding = layers.Embedding(n_chars, char_dim, name="char_embedding")

    def encode(self, flat, real):
        """(words, chars) ids and their real-character mask → (words, size)."""
        raise NotImplementedError

    def call(self, chars):
        shape = ops.shape(chars)
        flat = ops.reshape(chars, (-1, shape[2]))
        real = ops.not_equal(flat, PAD_ID)
        x = self.encode(flat, real)
        x = ops.where(ops.expand_dims(ops.any(real, axis=1), -1), x, ops.zeros_like(x))
        return ops.reshape(x, (shape[0], shape[1], self.size))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.size)

    def get_config(self):
        return {**super().get_config(), "n_chars": self.n_chars, "char_dim": self.char_dim}


@keras.saving.register_keras_serializable(package="postagger")
class CharCNN(CharacterEncoder):
    """Each word's characters → embedding → 1-D convolution → max over real characters
    (padding characters have a zero embedding and are left out of the max)."""

    def __init__(self, n_chars, char_dim, filters, kernel, **kwargs):
        super().__init__(n_chars, char_dim, filters, **kwargs)
        self.filters, self.kernel = filters, kernel
        self.conv = layers.Conv1D(filters, kernel, padding="same", activation="relu", name="char_conv")

    def build(self, input_shape):
        self.embedding.build((None, None))
        self.conv.build((None, None, self.char_dim))

    def encode(self, flat, real):
        x = self.embedding(flat) * ops.expand_dims(ops.cast(real, self.compute_dtype), -1)
        x = self.conv(x)
        x = ops.where(ops.expand_dims(real, -1), x, ops.full_like(x, -1e9))
        return ops.max(x, axis=1)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel": self.kernel}


@keras.saving.register_keras_serializable(package="postagger")
class CharLSTM(CharacterEncoder):
    """Each word's characters → embedding → bidirectional LSTM over the real characters →
    both final states: the forward state after the word's last character and the backward
    state after its first (2·units)."""

    def __init__(self, n_chars, char_dim, units, **kwargs):
        super().__init__(n_chars, char_dim, 2 * units, **kwargs)
        self.units = units
        self.lstm = layers.Bidirectional(layers.LSTM(units), name="char_bilstm")

    def build(self, input_shape):
        self.embedding.build((None, None))
        self.lstm.build((None, None, self.char_dim))

    def encode(self, flat, real):
        return self.lstm(self.embedding(flat), mask=real)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def build_model(config: ModelConfig, vocab: Vocabulary, embeddings: np.ndarray | None = None) -> keras.Model:
    """The tagger network for `config`, sized by `vocab`, for training: word ids (batch,
    time) and character ids (batch, time, chars) in, each head's tag probabilities out.

    `embeddings` (vocabulary size × word_dim) initialises the word embedding, e.g. from
    pretrained vectors; it is passed as layer weights, not as an initializer, so that the
    matrix is not copied into the saved model config.
    """
    words = keras.Input(shape=(None,), dtype="int32", name="words")
    chars = keras.Input(shape=(None, None), dtype="int32", name="chars")
    mask = PaddingMask(name="padding_mask")(words)
    layer = _create_layers(config, vocab, embeddings).__getitem__
    x = _represent(config, layer, words, chars)
    outputs = _sentence(config, layer, x, mask, list(vocab.output_names.values()))
    return keras.Model({"words": words, "chars": chars}, outputs, name="postagger")


def _create_layers(config: ModelConfig, vocab: Vocabulary, embeddings: np.ndarray | None) -> dict:
    """Every layer of the network by name (the names are the weights' names in weights.npz)."""
    made = []
    if config.word_repr in ("word", "both") and config.dual_embeddings:
        # UDPipe 2 style: a trained embedding for the training words (started from the
        # vectors) beside the frozen pretrained vectors of every word, so that a word unseen
        # in training but known to the vectors keeps its pretrained meaning
        n = vocab.trained_words()
        initial = None if embeddings is None else [embeddings[:n]]
        made.append(layers.Embedding(n, config.word_dim, weights=initial, name="word_embedding"))
        made.append(TrainedWordIds(n, name="trained_word_ids"))
        made.append(layers.Embedding(
            len(vocab.words), config.word_dim, weights=None if embeddings is None else [embeddings],
            trainable=False, name="pretrained_embedding",
        ))  # fmt: skip
    elif config.word_repr in ("word", "both"):
        made.append(layers.Embedding(
            len(vocab.words), config.word_dim, mask_zero=True,
            weights=None if embeddings is None else [embeddings],
            trainable=not config.freeze_embeddings, name="word_embedding",
        ))  # fmt: skip
    if config.word_repr in ("chars", "both"):
        if config.char_encoder == "lstm":
            made.append(CharLSTM(len(vocab.chars), config.char_dim, config.char_units, name="char_lstm"))
        else:
            filters, kernel = config.char_filters, config.char_kernel
            made.append(CharCNN(len(vocab.chars), config.char_dim, filters, kernel, name="char_cnn"))
    made.append(layers.Concatenate(name="word_repr"))
    made.append(layers.Dropout(config.dropout, name="repr_dropout"))
    for i in range(1, config.lstm_layers + 1):
        lstm = layers.LSTM(config.lstm_units, return_sequences=True)
        made.append(layers.Bidirectional(lstm, name=f"bilstm_{i}"))
        made.append(layers.Dropout(config.dropout, name=f"dropout_{i}"))
    # one softmax head per output (joint tagging shares everything below it); Dense on a
    # 3-D tensor is the per-timestep layer (TimeDistributed breaks on varying lengths)
    for head, name in vocab.output_names.items():
        made.append(layers.Dense(len(vocab.tagsets[head]), activation="softmax", name=name))
    return {layer.name: layer for layer in made}


def _represent(config: ModelConfig, layer, words, chars):
    """The word stage: each word's input vector from its id and character ids (`layer`
    gives each layer by name)."""
    parts = []
    if config.word_repr in ("word", "both"):
        if config.dual_embeddings:
            parts.append(layer("word_embedding")(layer("trained_word_ids")(words)))
            parts.append(layer("pretrained_embedding")(words))
        else:
            parts.append(layer("word_embedding")(words))
    if config.word_repr in ("chars", "both"):
        parts.append(layer("char_lstm" if config.char_encoder == "lstm" else "char_cnn")(chars))
    return parts[0] if len(parts) == 1 else layer("word_repr")(parts)


def _sentence(config: ModelConfig, layer, x, mask, heads: list[str]) -> dict:
    """The sentence stage: stacked BiLSTM over the words' vectors, one softmax per head."""
    x = layer("repr_dropout")(x)
    for i in range(1, config.lstm_layers + 1):
        x = layer(f"bilstm_{i}")(x, mask=mask)
        x = layer(f"dropout_{i}")(x)
    return {name: layer(name)(x) for name in heads}


def tagging_stages(
    model: keras.Model, config: ModelConfig, heads: list[str]
) -> tuple[keras.Model, keras.Model]:
    """The two stages every tagging engine runs (`postagger.engines`), as Keras models that
    share the layers (and so the weights) of `model`, a network of `build_model`:

    - words: "words" (n,) word ids and "chars" (n, width) character ids → "vectors" (n, dim);
    - sentences: "vectors" (batch, time, dim) and "lengths" (batch,) → each of the output
      `heads`' probabilities (batch, time, tags) and best tag ids "<head>_ids" (never padding).
    """
    layer = model.get_layer
    words = keras.Input(shape=(), dtype="int32", name="words")
    chars = keras.Input(shape=(None,), dtype="int32", name="chars")
    x = _represent(config, layer, ops.expand_dims(words, 0), ops.expand_dims(chars, 0))
    word_stage = keras.Model({"words": words, "chars": chars}, {"vectors": ops.squeeze(x, 0)})
    vectors = keras.Input(shape=(None, x.shape[-1]), dtype="float32", name="vectors")
    lengths = keras.Input(shape=(), dtype="int32", name="lengths")
    probs = _sentence(config, layer, vectors, LengthMask(name="length_mask")(vectors, lengths), heads)
    ids = {f"{name}_ids": BestTagIds(name=f"{name}_best")(p) for name, p in probs.items()}
    sentence_stage = keras.Model({"vectors": vectors, "lengths": lengths}, {**probs, **ids})
    for stage in (word_stage, sentence_stage):
        stage.jit_compile = False  # shapes vary per batch: XLA would recompile each one
    return word_stage, sentence_stage


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


def weight_arrays(model: keras.Model) -> dict[str, np.ndarray]:
    """The model's weights named "<layer name>/<index>" (what weights.npz holds): the layer
    names are ours, unlike Keras's variable paths, which get suffixes when several models
    are built in one process."""
    return {
        f"{layer.name}/{i}": np.asarray(variable)
        for layer in model.layers
        for i, variable in enumerate(layer.weights)
    }


def set_weight_arrays(model: keras.Model, arrays: dict, source, only: dict | None = None) -> None:
    """Give the model the weights of `weight_arrays` (read from `source`), checking every
    shape; with `only`, just the layers that have weights in it."""
    from postagger.errors import ModelError

    for layer in model.layers:
        if not layer.weights or (only is not None and f"{layer.name}/0" not in only):
            continue
        values = []
        for i, variable in enumerate(layer.weights):
            value = arrays.get(f"{layer.name}/{i}")
            if value is None or tuple(value.shape) != tuple(variable.shape):
                found = "missing" if value is None else f"of shape {tuple(value.shape)}"
                raise ModelError(
                    f"weights {layer.name}/{i} {found}, the network needs {tuple(variable.shape)}: "
                    "they do not belong to this config and vocabulary",
                    source,
                )
            values.append(value)
        layer.set_weights(values)


class RealCharacters(layers.Layer):
    """1.0 for real characters (id != 0), 0.0 for padding: (batch, time, 1)."""

    def call(self, chars):
        return ops.expand_dims(ops.cast(ops.not_equal(chars, PAD_ID), self.compute_dtype), -1)

    def compute_output_shape(self, input_shape):
        return (*input_shape, 1)


def build_segmenter(config: SegmenterConfig, n_chars: int, n_categories: int) -> keras.Model:
    """The raw-text segmenter (`postagger.segmentation`): "chars" and "categories" ids
    (batch, time) → "boundaries" (batch, time, 4): each character's probabilities of each
    label (`postagger.segmentation`: inside a token, a token's end, a sentence's end, a
    word's end inside a multiword token).

    Every layer's output is zeroed on padding, so that a character's label depends on the
    real characters within `config.radius` of it only, however the text is cut into rows."""
    chars = keras.Input(shape=(None,), dtype="int32", name="chars")
    categories = keras.Input(shape=(None,), dtype="int32", name="categories")
    real = RealCharacters(name="seg_real")(chars)
    embedded = [
        layers.Embedding(n_chars, config.char_dim, name="seg_char_embedding")(chars),
        layers.Embedding(n_categories, config.category_dim, name="seg_category_embedding")(categories),
    ]
    x = layers.Multiply(name="seg_input")([layers.Concatenate(name="seg_concat")(embedded), real])
    for i, dilation in enumerate(config.dilations, 1):
        conv = layers.Conv1D(
            config.filters, config.kernel, dilation_rate=dilation, padding="same", activation="relu",
            name=f"seg_conv_{i}",
        )  # fmt: skip
        h = layers.Multiply(name=f"seg_masked_{i}")([conv(x), real])
        x = layers.Add(name=f"seg_residual_{i}")([x, h]) if x.shape[-1] == config.filters else h
        x = layers.Dropout(config.dropout, name=f"seg_dropout_{i}")(x)
    boundaries = layers.Dense(LABELS, activation="softmax", name="seg_boundaries")(x)
    return keras.Model(
        {"chars": chars, "categories": categories}, {"boundaries": boundaries}, name="segmenter"
    )
