"""Subword pretraining of the character encoder ("Mimick", Pinter, Guthrie and Eisenstein
2017, EMNLP): before tagging is learnt, the tagger's own character encoder (with a linear
projection on top, dropped afterwards) is trained to reproduce the pretrained vectors of
the vectors file's most frequent words from their characters alone. A word that has no
pretrained row and never occurs in training then still gets a character vector shaped by
millions of words' spellings and meanings, instead of by the training treebank's few
thousand word types. Any language's vectors work (fastText `.bin`/`.vec`, GloVe text).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from postagger.config import ModelConfig
from postagger.vocab import Vocabulary

#: pretrained words the encoder learns from (the file's first ones: the most frequent)
MIMICK_WORDS = 100_000
MIMICK_EPOCHS = 5
MIMICK_BATCH = 256


def pretrain_char_encoder(
    config: ModelConfig,
    vocab: Vocabulary,
    vectors: str | Path,
    notify: Callable[[str, dict], None],
    words: int = MIMICK_WORDS,
    epochs: int = MIMICK_EPOCHS,
) -> dict[str, np.ndarray]:
    """The weights of the tagger's character layer ("char_cnn" or "char_lstm", by
    "<layer>/<index>" as `postagger.model.weight_arrays` names them) after learning to map
    the spelling of the vectors file's first `words` words to their vectors (mean squared
    error of the vectors scaled to unit average norm). Capitalised copies of a third of the
    words are seen too (many vectors files are lower-cased; tagged text is not)."""
    from postagger.backend import load_tensorflow

    _, keras = load_tensorflow()
    from postagger.batching import char_ids
    from postagger.model import CharCNN, CharLSTM, weight_arrays
    from postagger.vectors import read_vectors

    table = read_vectors(vectors, set(), extra=words)
    forms = [w for w, _ in table.extra]
    targets = np.stack([v for _, v in table.extra]).astype(np.float32)
    targets /= np.mean(np.linalg.norm(targets, axis=1)) or 1.0
    rng = np.random.default_rng(config.seed)
    capitalised = rng.random(len(forms)) < 1 / 3
    forms = [f[:1].upper() + f[1:] if c else f for f, c in zip(forms, capitalised)]
    ids = [char_ids(f, vocab, config.max_word_chars) for f in forms]
    chars = np.zeros((len(ids), 1, max(map(len, ids))), np.int32)
    for i, row in enumerate(ids):
        chars[i, 0, : len(row)] = row

    keras.utils.set_random_seed(config.seed)
    if config.char_encoder == "lstm":
        encoder = CharLSTM(len(vocab.chars), config.char_dim, config.char_units, name="char_lstm")
    else:
        encoder = CharCNN(
            len(vocab.chars), config.char_dim, config.char_filters, config.char_kernel, name="char_cnn"
        )
    inputs = keras.Input(shape=(1, None), dtype="int32", name="chars")
    outputs = keras.layers.Dense(targets.shape[1], name="projection")(encoder(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse")
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(ids))
        history = model.fit(
            chars[order], targets[order, None, :], batch_size=MIMICK_BATCH, epochs=1, verbose=0
        )
        loss = float(history.history["loss"][-1])
        notify("mimick_epoch_end", {"epoch": epoch, "epochs": epochs, "loss": loss, "words": len(ids)})
    return {
        name: array for name, array in weight_arrays(model).items() if name.startswith(encoder.name + "/")
    }
