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


class Decoder:
    """Collects a network's outputs batch by batch into one `TaggedSentence` per sentence."""

    def __init__(self, vocab: Vocabulary, sentences: int, top_k: int = 0):
        self.vocab = vocab
        self.sentences = [
            TaggedSentence({column: [] for column in vocab.columns}, [] if top_k > 0 else None)
            for _ in range(sentences)
        ]  # empty sentences keep these
        self.top_k = min(top_k, len(vocab.tags) - 1)
        self.names = vocab.output_names  # head → output name
        self.tags = vocab.tags.items
        # tag strings by id as object arrays: a batch's ids become strings in one indexing
        self.strings = {head: np.array(vocab.tagsets[head].items, dtype=object) for head in self.names}

    @property
    def outputs(self) -> list[str]:
        """The network outputs `add` needs: each head's best ids, the first head's
        probabilities when scores are asked for."""
        ids = [f"{name}_ids" for name in self.names.values()]
        return ids + (["tags"] if self.top_k > 0 else [])

    def add(
        self, index: list[int], sizes: list[int], outputs: dict[str, np.ndarray], real: np.ndarray
    ) -> None:
        """A batch of sentences (their positions and lengths): `outputs` as the network
        gave them (batch, time, ...), `real` the (batch, time) mask of the real words."""
        values = {head: self.strings[head][outputs[f"{name}_ids"][real]].tolist()
                  for head, name in self.names.items()}  # fmt: skip
        if self.top_k > 0:
            top, top_probs = top_tag_ids(outputs["tags"][real], self.top_k)
            top, top_probs = top.tolist(), top_probs.tolist()
        start = 0
        for i, n in zip(index, sizes):
            end = start + n
            tags = self.vocab.columns_of({head: column[start:end] for head, column in values.items()})
            scores = None
            if self.top_k > 0:
                scores = [
                    [(self.tags[t], p) for t, p in zip(top[j], top_probs[j])] for j in range(start, end)
                ]
            self.sentences[i] = TaggedSentence(tags, scores)
            start = end
