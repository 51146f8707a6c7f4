"""From a network's outputs to tags: each head's best tag ids become tag strings, feature
heads are joined into FEATS, and with `top_k` each word gets its best tags of the primary
column with their probabilities. One `TaggedSentence` per sentence, whatever the engine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from postagger.vocab import PAD_ID, Vocabulary


@dataclass(frozen=True)
class TaggedSentence:
    """A sentence's tags: `tags` maps every column the model fills ("upos", "xpos",
    "feats") to one tag per word; `scores`, when asked for, holds for each word its best
    (tag, probability) pairs of the primary column, best first, else None. Sentences found
    in raw text (`Tagger.tag_text`) also have their `words` and each word's `span` (start,
    end) in the text: its token's characters (the words of a multiword token share them)."""

    tags: dict[str, list[str]]
    scores: list[list[tuple[str, float]]] | None = None
    words: list[str] | None = None
    spans: list[tuple[int, int]] | None = None


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


class JointChoice:
    """Consistent tags for a model of several heads: each word gets the combination of head
    values, among those its training words have (`Vocabulary.combinations`), whose product
    of the heads' probabilities is highest. Where the heads' own best values form such a
    combination, that is it; else the nearest one that makes sense together (no PROPN
    tagged NN)."""

    #: combinations are looked up in a table of every possible one up to this many
    TABLE_LIMIT = 1 << 24

    def __init__(self, vocab: Vocabulary):
        ids = [[index.ids[v] for v, index in zip(c, vocab.tagsets.values())] for c in vocab.combinations]
        self.allowed = np.array(ids, dtype=np.intp).T  # (heads, combinations)
        sizes = [len(index) for index in vocab.tagsets.values()]
        self.radix = self.table = None
        if np.prod(sizes, dtype=np.float64) <= self.TABLE_LIMIT:
            # each combination's place among all possible ones: mixed radix over the heads' sizes
            self.radix = np.cumprod([1, *sizes[:0:-1]])[::-1].astype(np.intp)
            self.table = np.zeros(int(np.prod(sizes)), bool)
            self.table[self.radix @ self.allowed] = True
        else:  # too many possible combinations (a head per feature): compared as bytes
            self.keys = _row_keys(self.allowed.T)

    @classmethod
    def of(cls, vocab: Vocabulary) -> JointChoice | None:
        """The joint choice of a model of several heads that knows its training data's
        combinations; None for others (models of one column, or older ones)."""
        return cls(vocab) if vocab.combinations and len(vocab.tagsets) > 1 else None

    def is_allowed(self, chosen: np.ndarray) -> np.ndarray:
        """For each word of (heads, words) ids, whether its combination is allowed."""
        if self.table is not None:
            return self.table[self.radix @ chosen]
        return np.isin(_row_keys(chosen.T), self.keys)

    def best(
        self,
        probs: list[np.ndarray],
        batch: int = 1024,
        best_ids: list[np.ndarray] | None = None,
        rows: np.ndarray | None = None,
    ) -> np.ndarray:
        """(heads, words) ids of the best allowed combination, given each head's
        (words, tags) probabilities and, where the engine gave them, each head's best ids
        (`best_ids`, the padding tag left out: as no allowed combination holds it, the
        choice is the same). With `rows`, the words' probabilities are those rows of
        `probs` (only the few words scored are copied out of a batch's padded outputs).
        A word whose heads' own best tags are allowed together keeps them (no other
        combination can score higher); the others (a few in a hundred) are scored against
        every combination, `batch` words at a time."""
        if best_ids is None:  # a padding id is never allowed: such a word is scored below
            best_ids = [p.argmax(-1) if rows is None else p[rows].argmax(-1) for p in probs]
        chosen = np.stack(best_ids).astype(np.intp, copy=False)
        others = np.flatnonzero(~self.is_allowed(chosen))
        at = others if rows is None else rows[others]
        logs = [np.log(np.maximum(p[at], 1e-30, dtype=np.float32)) for p in probs]
        for start in range(0, len(others), batch):
            part = slice(start, start + batch)
            score = logs[0][part][:, self.allowed[0]]
            for log, allowed in zip(logs[1:], self.allowed[1:]):
                score += log[part][:, allowed]
            chosen[:, others[part]] = self.allowed[:, score.argmax(-1)]
        return chosen


def _row_keys(rows: np.ndarray) -> np.ndarray:
    """Each row of an integer array as one comparable value (its bytes)."""
    rows = np.ascontiguousarray(rows, dtype=np.intp)
    return rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))).ravel()


class Decoder:
    """Collects a network's outputs batch by batch into one `TaggedSentence` per sentence."""

    def __init__(self, vocab: Vocabulary, sentences: int, top_k: int = 0, joint: JointChoice | None = None):
        """`joint`: tag combinations as this `JointChoice` picks them (`JointChoice.of`);
        None: each head's own best tag."""
        self.vocab = vocab
        self.joint = joint
        self._sentences: list[TaggedSentence | None] = [None] * sentences
        self.top_k = min(top_k, len(vocab.tags) - 1)
        self.names = vocab.output_names  # head → output name
        self.tags = vocab.tags.items
        # tag strings by id as object arrays: a batch's ids become strings in one indexing
        self.strings = {head: np.array(vocab.tagsets[head].items, dtype=object) for head in self.names}

    @property
    def sentences(self) -> list[TaggedSentence]:
        """Every sentence's tags, in input order (no tags for an empty sentence)."""
        columns, scored = self.vocab.columns, self.top_k > 0
        return [
            TaggedSentence({column: [] for column in columns}, [] if scored else None) if s is None else s
            for s in self._sentences
        ]

    @property
    def outputs(self) -> list[str]:
        """The network outputs `add` needs: each head's best ids; with joint decoding every
        head's probabilities, else the first head's when scores are asked for."""
        ids = [f"{name}_ids" for name in self.names.values()]
        if self.joint is not None:
            return ids + list(self.names.values())
        return ids + (["tags"] if self.top_k > 0 else [])

    def add(
        self, index: list[int], sizes: list[int], outputs: dict[str, np.ndarray], real: np.ndarray
    ) -> None:
        """A batch of sentences (their positions and lengths): `outputs` as the network
        gave them (batch, time, ...), `real` the (batch, time) mask of the real words."""
        best = [outputs[f"{name}_ids"][real] for name in self.names.values()]
        if self.joint is not None:
            probs = [outputs[name].reshape(-1, outputs[name].shape[-1]) for name in self.names.values()]
            best = self.joint.best(probs, best_ids=best, rows=np.flatnonzero(real))
        # the batch's columns at once, then each sentence's slice of them
        columns = self.vocab.columns_of(
            {head: self.strings[head][ids].tolist() for head, ids in zip(self.names, best)}
        )
        if self.top_k > 0:
            top, top_probs = top_tag_ids(outputs["tags"][real], self.top_k)
            top, top_probs = top.tolist(), top_probs.tolist()
        start = 0
        for i, n in zip(index, sizes):
            end = start + n
            tags = {column: values[start:end] for column, values in columns.items()}
            scores = None
            if self.top_k > 0:
                scores = [
                    [(self.tags[t], p) for t, p in zip(top[j], top_probs[j])] for j in range(start, end)
                ]
            self._sentences[i] = TaggedSentence(tags, scores)
            start = end
