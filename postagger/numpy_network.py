"""The trained network's forward pass in NumPy: tagging without importing TensorFlow.

`postagger tag` is started often on small inputs; importing TensorFlow alone takes seconds.
The same computation as `postagger.model.build_model` (inference mode: dropout off) is
written here with NumPy from the weights saved in `weights.npz`, in the two stages every
engine runs (`postagger.engines`):

- `NumpyWordEncoder`, each word on its own: word embedding lookup (with dual embeddings:
  the trained one, words added from the vectors read as unknown, beside the frozen
  pretrained one); character CNN: embedding (zero for padding), 1-D convolution with
  "same" padding, ReLU, max over the word's real characters (zeros for an all-padding
  word); or character BiLSTM: embedding, both directions over the real characters (a
  padding step keeps the state), the two final states side by side;
- `NumpySentenceNetwork`, the sentence: each BiLSTM layer computes the input projections
  of all time steps in one matrix product, then the recurrence step by step for both
  directions; a padded step leaves the state unchanged, so with right padding the backward
  direction starts at each sentence's last real word, as Keras does with a mask; then the
  softmax heads (the padding tag is never chosen).

`tests/test_engines.py` checks that both give Keras's values (to 1e-5).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from postagger.config import ModelConfig
from postagger.vocab import PAD_ID, UNK_ID

IDS = "_ids"  # suffix of the output holding a head's best tag ids ("tags_ids")


def best_tag_ids(probs: np.ndarray) -> np.ndarray:
    """The best tag id of each step; the padding tag (id 0) is never chosen."""
    p = np.array(probs)
    p[..., PAD_ID] = -1.0
    return p.argmax(-1)


def sizes_problem(weights: Mapping[str, np.ndarray], sizes: dict[str, int]) -> str | None:
    """Why `weights` (arrays by "<layer>/<index>") cannot belong to a vocabulary of these
    `sizes` ("words", "chars", and each output's tag count), or None."""
    found = _sizes(weights)
    expected = {k: v for k, v in sizes.items() if k in found or k.startswith("tags")}
    if found != expected:
        return f"weights of sizes {found} do not belong to this vocabulary {sizes}"
    return None


def _sizes(w: Mapping[str, np.ndarray]) -> dict[str, int]:
    found = {name: w[f"{name}/0"].shape[1] for name in head_names(w)}
    if "pretrained_embedding/0" in w:
        found["words"] = w["pretrained_embedding/0"].shape[0]
    elif "word_embedding/0" in w:
        found["words"] = w["word_embedding/0"].shape[0]
    char = w.get("char_cnn/0", w.get("char_lstm/0"))
    if char is not None:
        found["chars"] = char.shape[0]
    return found


def head_names(weights: Mapping[str, np.ndarray]) -> list[str]:
    """The output heads: "tags", then "tags_1", "tags_2", ... (see Vocabulary.output_names)."""
    names = ["tags"]
    while f"tags_{len(names)}/0" in weights:
        names.append(f"tags_{len(names)}")
    return names


class NumpyWordEncoder:
    """Word ids (n,) and character ids (n, width) → the network's input vectors (n, dim):
    word embedding(s) and character encoding side by side. A word's vector depends on that
    word alone (see `postagger.formtable.FormTable`)."""

    def __init__(self, weights: Mapping[str, np.ndarray]):
        """`weights` as weights.npz holds them; float16 tables (the frozen pretrained rows)
        stay float16 and the rows gathered are widened, which gives the widened table's values."""
        w = {k: v if v.dtype == np.float16 else np.asarray(v, np.float32) for k, v in weights.items()}
        self.word_embedding = w.get("word_embedding/0")
        self.pretrained_embedding = w.get("pretrained_embedding/0")  # dual embeddings only
        self.char_embedding = w.get("char_cnn/0", w.get("char_lstm/0"))
        self.char_kernel = w.get("char_cnn/1")
        self.char_bias = w.get("char_cnn/2")
        self.char_lstm = None
        if "char_lstm/0" in w:
            kf, uf, bf, kb, ub, bb = (_halve_sigmoid_gates(w[f"char_lstm/{j}"]) for j in range(1, 7))
            self.char_lstm = (np.concatenate([kf, kb], -1), np.concatenate([bf, bb]), uf, ub)

    def run(self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str] = ("vectors",)) -> dict:
        words, chars = inputs["words"], inputs["chars"]
        parts = []
        if self.pretrained_embedding is not None:
            trained = np.where(words >= len(self.word_embedding), UNK_ID, words)
            parts.extend([self.word_embedding[trained], self.pretrained_embedding[words].astype(np.float32)])
        elif self.word_embedding is not None:
            parts.append(self.word_embedding[words].astype(np.float32, copy=False))
        if self.char_embedding is not None:
            parts.append(self._char_cnn(chars) if self.char_lstm is None else self._char_bilstm(chars))
        return {"vectors": parts[0] if len(parts) == 1 else np.concatenate(parts, -1)}

    def _char_bilstm(self, flat: np.ndarray) -> np.ndarray:
        kernel, bias, u_forward, u_backward = self.char_lstm
        n, width = flat.shape
        units = u_forward.shape[0]
        real = flat != PAD_ID
        x = self.char_embedding[flat]
        projected = (x.reshape(n * width, -1) @ kernel + bias).reshape(n, width, 8 * units)
        projected = np.ascontiguousarray(projected.transpose(1, 0, 2))
        keep = np.ascontiguousarray(real.T[..., None])  # (width, n, 1)
        finals = []
        for backward, u in ((False, u_forward), (True, u_backward)):
            h = np.zeros((n, units), dtype=np.float32)
            c = np.zeros((n, units), dtype=np.float32)
            gates = slice(4 * units, 8 * units) if backward else slice(0, 4 * units)
            for t in range(width - 1, -1, -1) if backward else range(width):
                h_new, c_new = _lstm_step(h, c, u, projected[t, :, gates], units)
                h = np.where(keep[t], h_new, h)  # a padding character keeps the state
                c = np.where(keep[t], c_new, c)
            finals.append(h)
        return np.where(real.any(1, keepdims=True), np.concatenate(finals, -1), np.float32(0))

    def _char_cnn(self, flat: np.ndarray) -> np.ndarray:
        width = flat.shape[1]
        real = flat != PAD_ID
        x = self.char_embedding[flat] * real[..., None]
        k, dim, filters = self.char_kernel.shape
        left = (k - 1) // 2
        padded = np.pad(x, ((0, 0), (left, k - 1 - left), (0, 0)))
        # all k-character windows side by side: one matrix product for the convolution
        windows = np.concatenate([padded[:, j : j + width] for j in range(k)], -1)
        out = windows.reshape(-1, k * dim) @ self.char_kernel.reshape(k * dim, filters) + self.char_bias
        out = out.reshape(len(flat), width, filters)
        np.maximum(out, 0, out=out)
        # ReLU values are >= 0, so zeroing the padding positions leaves the max over the
        # real characters unchanged (Keras masks them with -1e9) and gives an all-padding
        # word zeros
        out *= real[..., None]
        return out.max(1)


class NumpySentenceNetwork:
    """Input vectors (batch, time, dim) of sentences of the given lengths (right padding)
    → for each head, its probabilities (batch, time, tags) and best tag ids ("<head>_ids",
    never the padding tag)."""

    def __init__(self, config: ModelConfig, weights: Mapping[str, np.ndarray]):
        w = {k: v.astype(np.float32) for k, v in weights.items()}
        self.layers = []
        for i in range(1, config.lstm_layers + 1):
            # forward kernel, recurrent kernel, bias, then the same for the backward LSTM
            kf, uf, bf, kb, ub, bb = (w[f"bilstm_{i}/{j}"] for j in range(6))
            # sigmoid(z) = (tanh(z/2) + 1) / 2: halving the input, forget and output gates'
            # weights (exact in floating point) lets one tanh serve all four gates
            kf, uf, bf, kb, ub, bb = (_halve_sigmoid_gates(a) for a in (kf, uf, bf, kb, ub, bb))
            # one product for both directions' input projections
            self.layers.append((np.concatenate([kf, kb], -1), np.concatenate([bf, bb]), uf, ub))
        self.heads = {name: (w[f"{name}/0"], w[f"{name}/1"]) for name in head_names(w)}

    def run(self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]) -> dict[str, np.ndarray]:
        x, lengths = inputs["vectors"], inputs["lengths"]
        mask = np.arange(x.shape[1]) < lengths[:, None]
        for layer in self.layers:
            x = _bilstm(x, mask, *layer)
        batch, time, dim = x.shape
        flat = x.reshape(-1, dim)
        result = {}
        for name, (kernel, bias) in self.heads.items():
            if name not in outputs and name + IDS not in outputs:
                continue
            logits = (flat @ kernel + bias).reshape(batch, time, -1)
            logits -= logits.max(-1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(-1, keepdims=True)
            result[name] = p
            if name + IDS in outputs:
                result[name + IDS] = best_tag_ids(p)
        return {name: result[name] for name in outputs}


def _bilstm(x, mask, kernel, bias, u_forward, u_backward) -> np.ndarray:
    batch, time, dim = x.shape
    units = u_forward.shape[0]
    # input projections of every step for both directions, laid out time-major
    projected = (x.reshape(-1, dim) @ kernel + bias).reshape(batch, time, 8 * units)
    projected = np.ascontiguousarray(projected.transpose(1, 0, 2))
    real = np.ascontiguousarray(mask.T[..., None], dtype=np.float32)  # (time, batch, 1)
    out = np.empty((time, batch, 2 * units), dtype=np.float32)
    for backward, u in ((False, u_forward), (True, u_backward)):
        h = np.zeros((batch, units), dtype=np.float32)
        c = np.zeros((batch, units), dtype=np.float32)
        gates = slice(4 * units, 8 * units) if backward else slice(0, 4 * units)
        column = slice(units, 2 * units) if backward else slice(0, units)
        for t in range(time - 1, -1, -1) if backward else range(time):
            h, c = _lstm_step(h, c, u, projected[t, :, gates], units)
            if backward:
                # right padding: the backward pass meets a sentence's padding first,
                # and must start from a zero state at its last real word
                c *= real[t]
                h *= real[t]
            out[t, :, column] = h
    return out.transpose(1, 0, 2)


def _lstm_step(h, c, u, projected, units: int):
    """One LSTM step for weights prepared by `_halve_sigmoid_gates`; updates `c` in place."""
    z = h @ u
    z += projected
    np.tanh(z, out=z)
    z[:, : 2 * units] += 1.0  # input and forget gates: sigmoid = (tanh + 1) / 2
    z[:, : 2 * units] *= 0.5
    z[:, 3 * units :] += 1.0  # output gate
    z[:, 3 * units :] *= 0.5
    c = c * z[:, units : 2 * units]
    c += z[:, :units] * z[:, 2 * units : 3 * units]
    h = np.tanh(c)
    h *= z[:, 3 * units :]
    return h, c


def _halve_sigmoid_gates(a: np.ndarray) -> np.ndarray:
    """Multiply the input, forget and output gate blocks (Keras order i, f, c, o) by 1/2."""
    units = a.shape[-1] // 4
    scale = np.full(a.shape[-1], 0.5, dtype=np.float32)
    scale[2 * units : 3 * units] = 1.0
    return a * scale


class NumpySegmenter:
    """The segmenter (`postagger.model.build_segmenter`) in NumPy: "chars" and "categories"
    ids (batch, time) → "boundaries" (batch, time, labels) probabilities."""

    def __init__(self, dilations: list[int], weights: Mapping[str, np.ndarray]):
        w = {k: v.astype(np.float32) for k, v in weights.items()}
        self.char_embedding = w["seg_char_embedding/0"]
        self.category_embedding = w["seg_category_embedding/0"]
        # each convolution: (kernel width × input, filters) for one product over all windows
        self.convs = []
        for i, dilation in enumerate(dilations, 1):
            kernel, bias = w[f"seg_conv_{i}/0"], w[f"seg_conv_{i}/1"]
            width, dim, filters = kernel.shape
            self.convs.append((kernel.reshape(width * dim, filters), bias, width, dilation))
        self.dense = (w["seg_boundaries/0"], w["seg_boundaries/1"])

    def run(self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str] = ("boundaries",)) -> dict:
        chars = inputs["chars"]
        real = (chars != PAD_ID)[..., None].astype(np.float32)
        x = np.concatenate([self.char_embedding[chars], self.category_embedding[inputs["categories"]]], -1)
        x *= real
        for kernel, bias, width, dilation in self.convs:
            h = _dilated_conv(x, kernel, bias, width, dilation)
            np.maximum(h, 0, out=h)
            h *= real
            x = x + h if x.shape[-1] == h.shape[-1] else h
        logits = x @ self.dense[0] + self.dense[1]
        logits -= logits.max(-1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(-1, keepdims=True)
        return {"boundaries": probs}


def _dilated_conv(
    x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, width: int, dilation: int
) -> np.ndarray:
    """A "same" 1-D convolution over time of x (batch, time, dim): all `width` taps side by
    side, one matrix product."""
    batch, time, dim = x.shape
    side = (width - 1) // 2 * dilation
    padded = np.pad(x, ((0, 0), (side, side), (0, 0)))
    taps = np.concatenate([padded[:, j * dilation : j * dilation + time] for j in range(width)], -1)
    return (taps.reshape(batch * time, width * dim) @ kernel + bias).reshape(batch, time, -1)
