"""Sentences → padded id arrays, grouped by length.

Sequences are padded at the end (right padding, as cuDNN requires) with id 0. Each batch
carries a per-token weight array (1 for real tokens, 0 for padding) that the loss uses, so
padding never counts, whatever Keras does with masks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from postagger.vocab import BOW_ID, EOW_ID, PAD_ID, UNK_ID, Vocabulary

if TYPE_CHECKING:
    from postagger.conllu_io import Sentence


@dataclass
class EncodedSentence:
    words: np.ndarray  # (n,) int32 word ids
    chars: list[np.ndarray]  # n arrays of char ids, each framed by BOW_ID ... EOW_ID
    tags: dict[str, np.ndarray] | None  # per head: (n,) int32 tag ids; None when untagged


@dataclass
class Batch:
    """Model inputs for a group of sentences; `index` maps rows back to input positions."""

    words: np.ndarray  # (batch, time) int32
    chars: np.ndarray  # (batch, time, chars) int32
    tags: dict[str, np.ndarray] | None  # per head: (batch, time) int32
    weights: np.ndarray  # (batch, time) float32: 1 for tokens, 0 for padding
    index: list[int]

    @property
    def inputs(self) -> dict[str, np.ndarray]:
        return {"words": self.words, "chars": self.chars}


def word_chars(form: str, max_chars: int) -> str:
    """The characters the model sees: long words keep their beginning and end."""
    if len(form) <= max_chars:
        return form
    half = max_chars // 2
    return form[:half] + form[len(form) - (max_chars - half) :]


#: word forms whose ids `encode_sentence` keeps when given a cache
WORD_CACHE_FORMS = 50_000


def encode_sentence(
    forms: Sequence[str],
    vocab: Vocabulary,
    max_chars: int,
    tags: dict[str, Sequence[str]] | None = None,
    cache: dict | None = None,
) -> EncodedSentence:
    """Ids of a sentence's words and characters and, given the values of every head
    (`Vocabulary.head_tags`), of its tags (-1 for a tag the vocabulary lacks).

    With `cache` (a dict kept by the caller between calls, emptied when it holds
    `WORD_CACHE_FORMS` forms), each distinct form is encoded once: tagging meets the same
    frequent words again and again."""
    if cache is None:
        words = np.fromiter((vocab.word_id(f) for f in forms), dtype=np.int32, count=len(forms))
        chars = [char_ids(f, vocab, max_chars) for f in forms]
    else:
        entries = []
        for f in forms:
            entry = cache.get(f)
            if entry is None:
                if len(cache) >= WORD_CACHE_FORMS:
                    cache.clear()
                entry = cache[f] = (vocab.word_id(f), char_ids(f, vocab, max_chars))
            entries.append(entry)
        words = np.fromiter((e[0] for e in entries), dtype=np.int32, count=len(entries))
        chars = [e[1] for e in entries]
    tag_ids = None
    if tags is not None:
        tag_ids = {
            head: np.fromiter(
                (vocab.tagsets[head].get(t, -1) for t in values), dtype=np.int32, count=len(values)
            )
            for head, values in tags.items()
        }
    return EncodedSentence(words, chars, tag_ids)


def char_ids(form: str, vocab: Vocabulary, max_chars: int) -> np.ndarray:
    """A word's character ids, framed by BOW_ID ... EOW_ID."""
    return np.array([BOW_ID, *(vocab.chars.get(c) for c in word_chars(form, max_chars)), EOW_ID], np.int32)


def pad_batch(sentences: Sequence[EncodedSentence], index: list[int]) -> Batch:
    length = max(len(s.words) for s in sentences)
    width = max((len(c) for s in sentences for c in s.chars), default=1)
    words = np.zeros((len(sentences), length), dtype=np.int32)
    chars = np.zeros((len(sentences), length, max(width, 1)), dtype=np.int32)
    weights = np.zeros((len(sentences), length), dtype=np.float32)
    tagged = all(s.tags is not None for s in sentences)
    tags = (
        {head: np.zeros((len(sentences), length), dtype=np.int32) for head in sentences[0].tags}
        if tagged
        else None
    )
    # every word's character ids laid out in one scatter: (row, column, position) of each id
    all_chars = [c for s in sentences for c in s.chars]
    if all_chars:
        n_words = np.array([len(s.words) for s in sentences])
        word_rows = np.repeat(np.arange(len(sentences)), n_words)
        word_cols = np.arange(len(word_rows)) - np.repeat(np.cumsum(n_words) - n_words, n_words)
        n_chars = np.fromiter(map(len, all_chars), dtype=np.intp, count=len(all_chars))
        position = np.arange(n_chars.sum()) - np.repeat(np.cumsum(n_chars) - n_chars, n_chars)
        at = (np.repeat(word_rows, n_chars), np.repeat(word_cols, n_chars), position)
        chars[at] = np.concatenate(all_chars)
    for row, s in enumerate(sentences):
        n = len(s.words)
        words[row, :n] = s.words
        weights[row, :n] = 1.0
        if tags is not None:
            for head, ids in s.tags.items():
                tags[head][row, :n] = ids
    return Batch(words, chars, tags, weights, index)


def length_batches(
    sentences: Sequence[EncodedSentence],
    batch_size: int,
    rng: np.random.Generator | None = None,
    max_tokens: int = 8192,
) -> Iterator[Batch]:
    """Batches of sentences of similar length (the groups of `length_groups`), padded."""
    groups = length_groups([len(s.words) for s in sentences], batch_size, rng, max_tokens)
    for group in groups:
        yield pad_batch([sentences[i] for i in group], group)


def length_groups(
    lengths: Sequence[int],
    batch_size: int,
    rng: np.random.Generator | None = None,
    max_tokens: int = 8192,
    max_padding: float | None = None,
) -> list[list[int]]:
    """The indexes of sentences of the given lengths, grouped into batches of similar length.

    Without `rng` the order is deterministic (sorted by length). With `rng`, sentences of
    equal length are shuffled and the batch order is shuffled, as training wants. A batch
    holds at most `batch_size` sentences and, beyond one sentence, about `max_tokens` padded
    tokens, so that very long sentences do not blow up memory. With `max_padding`, a batch
    also ends before its padding would exceed that fraction of its real words (long
    sentences are few and of scattered lengths: 13% of EWT train's padded batches was
    padding, which the recurrence computes all the same).
    """
    lengths = np.asarray(lengths)
    tiebreak = rng.random(len(lengths)) if rng is not None else np.arange(len(lengths))
    order = np.lexsort((tiebreak, lengths))
    groups: list[list[int]] = []
    current: list[int] = []
    words = 0  # in the current batch
    for i in order:
        longest = int(lengths[i])  # ascending order
        padded = longest * (len(current) + 1)
        wasteful = max_padding is not None and padded > (1.0 + max_padding) * (words + longest)
        if current and (len(current) >= batch_size or padded > max_tokens or wasteful):
            groups.append(current)
            current, words = [], 0
        current.append(int(i))
        words += longest
    if current:
        groups.append(current)
    if rng is not None:
        rng.shuffle(groups)
    return groups


def document_counts(sentences: Iterable[Sentence]) -> Counter[str] | None:
    """In how many documents each word form occurs, a document being the sentences from
    one `# newdoc` comment to the next; None when no sentence opens a document."""
    counts: Counter[str] = Counter()
    forms: set[str] = set()
    found = False
    for sentence in sentences:
        if sentence.starts_document:
            found = True
            counts.update(forms)
            forms = set()
        forms.update(sentence.forms)
    counts.update(forms)
    return counts if found else None


def drop_words(words: np.ndarray, keep_probability: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Word dropout: replace real words by <unk> with probability 1 - keep_probability[id]."""
    replace = (rng.random(words.shape) >= keep_probability[words]) & (words != PAD_ID)
    return np.where(replace, UNK_ID, words).astype(np.int32)


def keep_probabilities(
    vocab: Vocabulary, alpha: float, counts: Mapping[str, int] | None = None
) -> np.ndarray:
    """p(keep word id) = n / (alpha + n), n its training count (frequent words are kept), or
    its count in `counts` (`document_counts`)."""
    counts = vocab.word_counts if counts is None else counts
    counts = np.array([counts.get(w, 0) for w in vocab.words.items], dtype=np.float64)
    if alpha <= 0:
        return np.ones(len(counts))
    keep = counts / (alpha + counts)
    keep[PAD_ID] = keep[UNK_ID] = 1.0
    return keep
