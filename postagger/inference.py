"""The trained network's forward pass in NumPy: tagging without importing TensorFlow.

`postagger tag` is started often on small inputs; importing TensorFlow alone takes seconds.
The same computation as `postagger.model.build_model` (inference mode: dropout off) is
written here with NumPy from the weights saved in `weights.npz` beside `model.keras`:

- word embedding lookup; character CNN: embedding (zero for padding), 1-D convolution with
  "same" padding, ReLU, max over the word's real characters (zeros for an all-padding word);
- each BiLSTM layer: the input projections of all time steps in one matrix product, then the
  recurrence step by step for both directions; a padded step leaves the state unchanged, so
  with right padding the backward direction starts at each sentence's last real word, as
  Keras does with a mask;
- the softmax layer (the padding tag is never chosen).

`tests/test_inference.py` checks that it gives Keras's probabilities (to 1e-5) and tags.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from postagger.config import ModelConfig
from postagger.vocab import PAD_ID


def predict_tag_ids(network, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Best tag id and its probability per token, from a Keras model or a `NumpyNetwork`;
    the padding tag is never predicted."""
    probs = np.array(network.predict_on_batch(inputs))
    probs[..., PAD_ID] = -1.0
    best = probs.argmax(-1)
    return best, np.take_along_axis(probs, best[..., None], -1)[..., 0]


def weight_arrays(model) -> dict[str, np.ndarray]:
    """The Keras model's weights named "<layer name>/<index>": the layer names are ours
    (model.py), unlike Keras's variable paths, which get suffixes when several models
    are built in one process."""
    return {
        f"{layer.name}/{i}": np.asarray(variable)
        for layer in model.layers
        for i, variable in enumerate(layer.weights)
    }


class NumpyNetwork:
    """The tagger network evaluated with NumPy, from a `weights.npz` written at save time."""

    def __init__(self, config: ModelConfig, weights: dict[str, np.ndarray]):
        self.config = config
        w = {k: v.astype(np.float32) for k, v in weights.items()}
        self.word_embedding = w.get("word_embedding/0")
        self.char_embedding = w.get("char_cnn/0")
        self.char_kernel = w.get("char_cnn/1")
        self.char_bias = w.get("char_cnn/2")
        self.layers = []
        for i in range(1, config.lstm_layers + 1):
            # forward kernel, recurrent kernel, bias, then the same for the backward LSTM
            kf, uf, bf, kb, ub, bb = (w[f"bilstm_{i}/{j}"] for j in range(6))
            # one product for both directions' input projections
            self.layers.append((np.concatenate([kf, kb], 1), np.concatenate([bf, bb]), uf, ub))
        self.output_kernel = w["tags/0"]
        self.output_bias = w["tags/1"]

    def sizes(self) -> dict[str, int]:
        """Vocabulary sizes the weights were trained for."""
        sizes = {"tags": self.output_kernel.shape[1]}
        if self.word_embedding is not None:
            sizes["words"] = self.word_embedding.shape[0]
        if self.char_embedding is not None:
            sizes["chars"] = self.char_embedding.shape[0]
        return sizes

    @classmethod
    def load(cls, config: ModelConfig, path: str | Path) -> NumpyNetwork:
        with np.load(path, allow_pickle=False) as data:
            return cls(config, {name: data[name] for name in data.files})

    def predict_on_batch(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Tag probabilities (batch, time, tags), as the Keras model's `predict_on_batch`."""
        words = inputs["words"]
        mask = words != PAD_ID
        parts = []
        if self.word_embedding is not None:
            parts.append(self.word_embedding[words])
        if self.char_embedding is not None:
            parts.append(self._chars(inputs["chars"]))
        x = parts[0] if len(parts) == 1 else np.concatenate(parts, -1)
        for layer in self.layers:
            x = self._bilstm(x, mask, *layer)
        logits = x @ self.output_kernel + self.output_bias
        logits -= logits.max(-1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(-1, keepdims=True)
        return probs

    def _chars(self, chars: np.ndarray) -> np.ndarray:
        batch, time, width = chars.shape
        flat = chars.reshape(-1, width)
        real = flat != PAD_ID
        x = self.char_embedding[flat] * real[..., None]
        kernel = self.char_kernel  # (k, dim, filters)
        k = kernel.shape[0]
        left = (k - 1) // 2
        padded = np.pad(x, ((0, 0), (left, k - 1 - left), (0, 0)))
        out = self.char_bias + sum(padded[:, j : j + width] @ kernel[j] for j in range(k))
        np.maximum(out, 0, out=out)
        out = np.where(real[..., None], out, np.float32(-1e9)).max(1)
        out = np.where(real.any(1, keepdims=True), out, np.float32(0))
        return out.reshape(batch, time, -1)

    @staticmethod
    def _bilstm(x, mask, kernel, bias, u_forward, u_backward) -> np.ndarray:
        batch, time, _ = x.shape
        units = u_forward.shape[0]
        projected = x @ kernel + bias  # (batch, time, 8 units): forward gates, then backward
        out = np.zeros((batch, time, 2 * units), dtype=np.float32)
        for offset, u, steps in (
            (0, u_forward, range(time)),
            (4 * units, u_backward, range(time - 1, -1, -1)),
        ):
            h = np.zeros((batch, units), dtype=np.float32)
            c = np.zeros((batch, units), dtype=np.float32)
            column = 0 if offset == 0 else units
            for t in steps:
                z = projected[:, t, offset : offset + 4 * units] + h @ u
                i = _sigmoid(z[:, :units])
                f = _sigmoid(z[:, units : 2 * units])
                g = np.tanh(z[:, 2 * units : 3 * units])
                o = _sigmoid(z[:, 3 * units :])
                c_new = f * c + i * g
                h_new = o * np.tanh(c_new)
                m = mask[:, t : t + 1]
                c = np.where(m, c_new, c)
                h = np.where(m, h_new, h)
                out[:, t, column : column + units] = h
        return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * z) + 1.0)  # = 1 / (1 + exp(-z)), without overflow warnings
