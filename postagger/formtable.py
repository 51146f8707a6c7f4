"""The network's input vector of each distinct word form, computed once and kept between
batches: in running text most words were seen before, and the character encoder is the
costly part of the word stage."""

from __future__ import annotations

import numpy as np

from postagger.batching import char_ids
from postagger.engines import Engine
from postagger.vocab import Vocabulary

#: word forms whose input vectors a `FormTable` keeps (200 dimensions: 16 MB)
FORM_TABLE_ROWS = 20_000


class FormTable:
    """Input vectors by word form, from a network's word stage (`postagger.engines`).

    Holds at most `FORM_TABLE_ROWS` forms and is emptied when full, so memory stays bounded
    whatever the input's size. Row 0 is the padding vector (zeros)."""

    def __init__(self, word_stage: Engine, vocab: Vocabulary, max_chars: int):
        self.word_stage, self.vocab, self.max_chars = word_stage, vocab, max_chars
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
        vectors = self.word_stage.run({"words": words, "chars": chars}, ["vectors"])["vectors"]
        return np.concatenate([np.zeros((1, vectors.shape[1]), np.float32), vectors])
