"""The trained network's forward pass in NumPy: tagging without importing TensorFlow.

`postagger tag` is started often on small inputs; importing TensorFlow alone takes seconds.
The same computation as `postagger.model.build_model` (inference mode: dropout off) is
written here with NumPy from the weights saved in `weights.npz`:

- word embedding lookup (with dual embeddings: the trained one, words added from the
  vectors read as unknown, beside the frozen pretrained one); character CNN: embedding
  (zero for padding), 1-D convolution with "same" padding, ReLU, max over the word's real
  characters (zeros for an all-padding word);
  or character BiLSTM: embedding, both directions over the real characters (a padding step
  keeps the state), the two final states side by side (zeros for an all-padding word);
- each BiLSTM layer: the input projections of all time steps in one matrix product, then the
  recurrence step by step for both directions; a padded step leaves the state unchanged, so
  with right padding the backward direction starts at each sentence's last real word, as
  Keras does with a mask;
- the softmax layer (the padding tag is never chosen).

`tests/test_inference.py` checks that it gives Keras's probabilities (to 1e-5) and tags.
"""

from __future__ import annotations

import numpy as np

from postagger.batching import EncodedSentence, char_ids, length_batches, length_groups
from postagger.config import ModelConfig
from postagger.vocab import PAD_ID, UNK_ID, Vocabulary


def best_tag_ids(probs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Best tag id per token of every output (a dict keyed by output layer name, as
    `predict_on_batch` of a Keras model or a `NumpyNetwork` returns); the padding tag is
    never predicted."""
    best = {}
    for name, p in probs.items():
        p = np.array(p)
        p[..., PAD_ID] = -1.0
        best[name] = p.argmax(-1)
    return best


def top_tag_ids(probs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ids of the `k` best tags of each token, best first, and their probabilities.
    The padding tag is never among them: the probabilities are those of the softmax
    renormalised over the real tags (the padding class, never a training target, keeps a
    trace of probability mass), so that a word's tags sum to 1."""
    probs = np.array(probs, dtype=np.float64)
    probs[..., PAD_ID] = 0.0
    total = probs.sum(-1, keepdims=True)
    # a word whose whole mass went to padding (float32 underflow) gets uniform real tags
    probs = np.where(total > 0, probs / np.where(total > 0, total, 1.0), 1.0 / (probs.shape[-1] - 1))
    probs[..., PAD_ID] = -1.0  # below every real tag, even one of probability 0
    best = np.argsort(-probs, axis=-1, kind="stable")[..., :k]
    return best, np.take_along_axis(probs, best, -1)


def predict_heads(
    network, data: list[EncodedSentence], vocab: Vocabulary, batch_size: int = 64, top_k: int = 0
) -> tuple[list[dict], list | None]:
    """The values of every head (head name → tag strings) of encoded sentences, batched by
    length, in input order; and with `top_k` > 0 each word's `top_k` best (tag,
    probability) pairs of the first head (the primary column), best first (see
    `top_tag_ids`), from the same forward pass; else None."""
    results = _Results(vocab, len(data), top_k)
    for batch in length_batches(data, batch_size):
        probs = network.predict_on_batch(batch.inputs)
        real = batch.weights.astype(bool)
        # Keras under a distribution strategy can return more rows than the batch (the
        # replicas' padding): only the batch's own rows and steps are read
        own = (slice(real.shape[0]), slice(real.shape[1]))
        best = {name: ids[own][real] for name, ids in best_tag_ids(probs).items()}
        sizes = [len(data[i].words) for i in batch.index]
        first = np.asarray(probs["tags"])[own][real] if results.scores is not None else None
        results.add(batch.index, sizes, best, first)
    return results.heads, results.scores


class _Results:
    """Each sentence's tag strings per head (and with `top_k` > 0 each word's `top_k` best
    (tag, probability) pairs of the first head), filled in batch by batch."""

    def __init__(self, vocab: Vocabulary, sentences: int, top_k: int):
        self.heads: list[dict] = [{} for _ in range(sentences)]
        self.scores: list | None = [[] for _ in range(sentences)] if top_k > 0 else None
        self.names = vocab.output_names
        self.tags = vocab.tags.items
        self.k = min(top_k, len(self.tags) - 1)
        # tag strings by id as object arrays: a batch's ids become strings in one indexing
        self.strings = {head: np.array(vocab.tagsets[head].items, dtype=object) for head in self.names}

    def add(self, index: list[int], sizes: list[int], best: dict[str, np.ndarray], probs) -> None:
        """A batch of sentences (their positions and lengths): `best` holds each output's
        tag ids of the batch's real words in reading order, sentence after sentence;
        `probs` the first output's probabilities of those words (with scores only)."""
        values = {head: self.strings[head][best[name]].tolist() for head, name in self.names.items()}
        if self.scores is not None:
            top, top_probs = top_tag_ids(probs, self.k)
            top, top_probs = top.tolist(), top_probs.tolist()
        start = 0
        for i, n in zip(index, sizes):
            end = start + n
            self.heads[i] = {head: column[start:end] for head, column in values.items()}
            if self.scores is not None:
                self.scores[i] = [
                    [(self.tags[t], p) for t, p in zip(top[j], top_probs[j])] for j in range(start, end)
                ]
            start = end


def weight_arrays(model) -> dict[str, np.ndarray]:
    """The Keras model's weights named "<layer name>/<index>": the layer names are ours
    (model.py), unlike Keras's variable paths, which get suffixes when several models
    are built in one process."""
    return {
        f"{layer.name}/{i}": np.asarray(variable)
        for layer in model.layers
        for i, variable in enumerate(layer.weights)
    }


#: word forms whose input vectors a `FormTable` keeps (200 dimensions: 16 MB)
FORM_TABLE_ROWS = 20_000
#: tagging batches end before padding exceeds this fraction of their words (see
#: `length_groups`): the LSTM computes padded steps too, and smaller batches of long
#: sentences cost less than that (EWT train: 13% padding → 4%, 10% faster)
MAX_PADDING = 0.1


class FormTable:
    """The network's input vector of each distinct word form (`NumpyNetwork.represent`:
    word embedding and character encoding), computed once and kept between batches: in
    running text most words were seen before, and the character encoder is the costly part.

    Holds at most `FORM_TABLE_ROWS` forms and is emptied when full, so memory stays bounded
    whatever the input's size. Row 0 is the padding vector (zeros)."""

    def __init__(self, network: NumpyNetwork, vocab: Vocabulary, max_chars: int):
        self.network, self.vocab, self.max_chars = network, vocab, max_chars
        self.index: dict[str, int] = {}
        self.vectors: np.ndarray | None = None

    def rows(self, forms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(rows, vectors): the vectors of `forms` are vectors[rows]. The vectors are the
        table's, or fresh ones for a batch with more distinct forms than the table holds."""
        index = self.index
        new = [f for f in dict.fromkeys(forms) if f not in index]
        if new and len(index) + len(new) >= FORM_TABLE_ROWS:
            index.clear()
            new = list(dict.fromkeys(forms))
            if len(new) >= FORM_TABLE_ROWS:  # more distinct forms than the table holds
                vectors = self._represent(new)
                place = {f: i for i, f in enumerate(new, 1)}
                return np.fromiter(map(place.__getitem__, forms), np.intp, len(forms)), vectors
        if new:
            vectors = self._represent(new)
            if self.vectors is None:
                self.vectors = np.zeros((FORM_TABLE_ROWS, vectors.shape[1]), np.float32)
            start = len(index) + 1
            self.vectors[start : start + len(new)] = vectors[1:]
            index.update(zip(new, range(start, start + len(new))))
        return np.fromiter(map(index.__getitem__, forms), np.intp, len(forms)), self.vectors

    def _represent(self, forms: list[str]) -> np.ndarray:
        """Vectors of `forms` in rows 1.. (row 0: zeros, the padding vector)."""
        vocab = self.vocab
        words = np.fromiter(map(vocab.word_id, forms), np.int32, len(forms))
        ids = [char_ids(f, vocab, self.max_chars) for f in forms]
        chars = np.zeros((len(forms), max(map(len, ids))), np.int32)
        for row, word in zip(chars, ids):
            row[: len(word)] = word
        vectors = self.network.represent(words, chars)
        return np.concatenate([np.zeros((1, vectors.shape[1]), np.float32), vectors])


def tag_with_table(
    network: NumpyNetwork, table: FormTable, forms: list[list[str]], batch_size: int = 64, top_k: int = 0
) -> tuple[list[dict], list | None]:
    """`predict_heads` for the NumPy and ONNX engines, from word forms: each head's tag
    strings per sentence (non-empty ones), and with `top_k` > 0 each word's `top_k` best
    (tag, probability) pairs of the primary column; batched by length, in input order.
    Input vectors come from the `table`; only the tag ids of real words leave the network."""
    results = _Results(table.vocab, len(forms), top_k)
    lengths = np.fromiter(map(len, forms), np.intp, len(forms))
    for group in length_groups(lengths, batch_size, max_padding=MAX_PADDING):
        sizes = lengths[group]
        rows, vectors = table.rows([f for i in group for f in forms[i]])
        mask = np.arange(sizes.max()) < sizes[:, None]
        at = np.zeros(mask.shape, np.intp)
        at[mask] = rows
        scored = results.scores is not None
        probs, best = network.heads_of(vectors[at], sizes.astype(np.int32), ids=True, scores=scored)
        first = probs["tags"][mask] if scored else None
        results.add(group, sizes.tolist(), {name: ids[mask] for name, ids in best.items()}, first)
    return results.heads, results.scores


class NumpyNetwork:
    """The tagger network evaluated with NumPy, from a `weights.npz` written at save time."""

    def __init__(self, config: ModelConfig, weights: dict[str, np.ndarray], onnx: bool = False):
        """With `onnx`, the BiLSTM layers and heads run in ONNX Runtime
        (`postagger.onnx_engine`), the word and character representations in NumPy."""
        self.config = config
        w = {k: v.astype(np.float32) for k, v in weights.items()}
        self.word_embedding = w.get("word_embedding/0")
        self.pretrained_embedding = w.get("pretrained_embedding/0")  # dual embeddings only
        self.char_embedding = w.get("char_cnn/0", w.get("char_lstm/0"))
        self.char_kernel = w.get("char_cnn/1")
        self.char_bias = w.get("char_cnn/2")
        self.char_lstm = None
        if "char_lstm/0" in w:
            kf, uf, bf, kb, ub, bb = (_halve_sigmoid_gates(w[f"char_lstm/{j}"]) for j in range(1, 7))
            self.char_lstm = (np.concatenate([kf, kb], -1), np.concatenate([bf, bb]), uf, ub)
        self.layers = []
        for i in range(1, config.lstm_layers + 1):
            # forward kernel, recurrent kernel, bias, then the same for the backward LSTM
            kf, uf, bf, kb, ub, bb = (w[f"bilstm_{i}/{j}"] for j in range(6))
            # sigmoid(z) = (tanh(z/2) + 1) / 2: halving the input, forget and output gates'
            # weights (exact in floating point) lets one tanh serve all four gates
            kf, uf, bf, kb, ub, bb = (_halve_sigmoid_gates(a) for a in (kf, uf, bf, kb, ub, bb))
            # one product for both directions' input projections
            self.layers.append((np.concatenate([kf, kb], -1), np.concatenate([bf, bb]), uf, ub))
        # output heads: "tags", then "tags_1", "tags_2", ... (see Vocabulary.output_names)
        self.heads = {"tags": (w["tags/0"], w["tags/1"])}
        i = 1
        while f"tags_{i}/0" in w:
            self.heads[f"tags_{i}"] = (w[f"tags_{i}/0"], w[f"tags_{i}/1"])
            i += 1
        self.onnx = None
        if onnx:
            from postagger.onnx_engine import OnnxSentenceNetwork

            self.onnx = OnnxSentenceNetwork(w, config.lstm_layers, list(self.heads))

    def sizes(self) -> dict[str, int]:
        """Vocabulary sizes the weights were trained for."""
        sizes = {name: kernel.shape[1] for name, (kernel, _) in self.heads.items()}
        if self.pretrained_embedding is not None:
            sizes["words"] = self.pretrained_embedding.shape[0]
        elif self.word_embedding is not None:
            sizes["words"] = self.word_embedding.shape[0]
        if self.char_embedding is not None:
            sizes["chars"] = self.char_embedding.shape[0]
        return sizes

    def predict_on_batch(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Tag probabilities (batch, time, tags) of each output, as the Keras model's
        `predict_on_batch`."""
        words = inputs["words"]
        batch, time = words.shape
        chars = inputs.get("chars")
        flat_chars = None if chars is None else chars.reshape(batch * time, -1)
        x = self.represent(words.reshape(-1), flat_chars).reshape(batch, time, -1)
        lengths = (words != PAD_ID).sum(1).astype(np.int32)
        return self.heads_of(x, lengths)[0]

    def represent(self, words: np.ndarray, chars: np.ndarray | None) -> np.ndarray:
        """The network's input vectors (n, dim) of n words given their ids (n,) and
        character ids (n, width): word embedding(s) and character encoding side by side.
        A word's vector depends on that word alone (see `FormTable`)."""
        parts = []
        if self.pretrained_embedding is not None:
            trained = np.where(words >= len(self.word_embedding), UNK_ID, words)
            parts.extend([self.word_embedding[trained], self.pretrained_embedding[words]])
        elif self.word_embedding is not None:
            parts.append(self.word_embedding[words])
        if self.char_embedding is not None:
            parts.append(self._char_cnn(chars) if self.char_lstm is None else self._char_bilstm(chars))
        return parts[0] if len(parts) == 1 else np.concatenate(parts, -1)

    def heads_of(
        self, x: np.ndarray, lengths: np.ndarray, ids: bool = False, scores: bool = True
    ) -> tuple[dict, dict]:
        """The sentence-level network on input vectors x (batch, time, dim) of sentences of
        the given lengths (right padding): the probabilities (batch, time, tags) of every
        output; or with `ids`, each output's best tag ids (batch, time), never the padding
        tag (as `best_tag_ids`), and the probabilities of the first output ("tags") only
        when `scores` are wanted."""
        if self.onnx is not None:
            return self.onnx(x, lengths, ids, scores)
        mask = np.arange(x.shape[1]) < lengths[:, None]
        for layer in self.layers:
            x = self._bilstm(x, mask, *layer)
        batch, time, dim = x.shape
        flat = x.reshape(-1, dim)
        probs = {}
        for name, (kernel, bias) in self.heads.items():
            logits = (flat @ kernel + bias).reshape(batch, time, -1)
            logits -= logits.max(-1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(-1, keepdims=True)
            probs[name] = p
        if not ids:
            return probs, {}
        return ({"tags": probs["tags"]} if scores else {}), best_tag_ids(probs)

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

    @staticmethod
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
