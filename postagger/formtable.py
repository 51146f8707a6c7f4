"""The network's input vector of each distinct word form, computed once and kept between
batches: in running text most words were seen before, and the character encoder is the
costly part of the word stage."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from postagger.batching import char_ids
from postagger.engines import Engine
from postagger.vocab import Vocabulary

#: word forms whose input vectors a `FormTable` keeps (200 dimensions: 16 MB)
FORM_TABLE_ROWS = 20_000
#: new forms go through the word stage this many at a time, grouped by length
REPRESENT_GROUP = 512


class FormTable:
    """Input vectors by word form, from a network's word stage (`postagger.engines`).

    Holds at most `FORM_TABLE_ROWS` forms and is emptied when full, so memory stays bounded
    whatever the input's size. Row 0 is the padding vector (zeros)."""

    def __init__(self, word_stage: Engine, vocab: Vocabulary, max_chars: int):
        self.word_stage, self.vocab, self.max_chars = word_stage, vocab, max_chars
        self.index: dict[str, int] = {}
        self.vectors: np.ndarray | None = None

    def prepare(self, forms: Iterable[str]) -> None:
        """Compute the vectors of the `forms` not in the table yet, all in one pass, where
        they fit in it: the word stage then pads groups of similar length (batch by batch,
        each batch's few new forms would be padded to its longest; 3 times the character
        encoder's work on a block of English)."""
        new = self._new(forms)
        if new and len(self.index) + len(new) < FORM_TABLE_ROWS:
            self._store(new)

    def rows(self, forms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(rows, vectors): the vectors of `forms` are vectors[rows]. The vectors are the
        table's, or fresh ones for a batch with more distinct forms than the table holds."""
        index = self.index
        try:  # every form is in the table, as after `prepare`
            return np.fromiter(map(index.__getitem__, forms), np.intp, len(forms)), self.vectors
        except KeyError:
            pass
        new = self._new(forms)
        if len(index) + len(new) >= FORM_TABLE_ROWS:
            index.clear()
            new = list(dict.fromkeys(forms))
            if len(new) >= FORM_TABLE_ROWS:  # more distinct forms than the table holds
                vectors = self._represent(new)
                place = {f: i for i, f in enumerate(new, 1)}
                return np.fromiter(map(place.__getitem__, forms), np.intp, len(forms)), vectors
        self._store(new)
        return np.fromiter(map(index.__getitem__, forms), np.intp, len(forms)), self.vectors

    def _new(self, forms: Iterable[str]) -> list[str]:
        """The distinct forms not in the table, in order of first occurrence."""
        index = self.index
        return [f for f in dict.fromkeys(forms) if f not in index]

    def _store(self, new: list[str]) -> None:
        """Add forms not in the table (there is room for them)."""
        vectors = self._represent(new)
        if self.vectors is None:
            self.vectors = np.zeros((FORM_TABLE_ROWS, vectors.shape[1]), np.float32)
        start = len(self.index) + 1
        self.vectors[start : start + len(new)] = vectors[1:]
        self.index.update(zip(new, range(start, start + len(new))))

    def _represent(self, forms: list[str]) -> np.ndarray:
        """Vectors of `forms` in rows 1.. (row 0: zeros, the padding vector). The forms go
        through the word stage in groups of similar length, each padded to its longest."""
        vocab = self.vocab
        words = np.fromiter(map(vocab.word_id, forms), np.int32, len(forms))
        ids = [char_ids(f, vocab, self.max_chars) for f in forms]
        lengths = np.fromiter(map(len, ids), np.intp, len(ids))
        order = np.argsort(lengths, kind="stable")
        vectors = None
        for start in range(0, len(order), REPRESENT_GROUP):
            group = order[start : start + REPRESENT_GROUP]
            chars = np.zeros((len(group), lengths[group[-1]]), np.int32)
            for row, i in zip(chars, group.tolist()):
                row[: lengths[i]] = ids[i]
            part = self.word_stage.run({"words": words[group], "chars": chars}, ["vectors"])["vectors"]
            if vectors is None:
                vectors = np.zeros((len(forms) + 1, part.shape[1]), np.float32)
            vectors[1 + group] = part
        return vectors
