from __future__ import annotations

import numpy as np
from conftest import TRAIN, conllu_block, write

from postagger.batching import (
    document_counts,
    drop_words,
    encode_sentence,
    keep_probabilities,
    length_batches,
    word_chars,
)
from postagger.conllu_io import read_treebank
from postagger.vocab import PAD_ID, UNK_ID, build_vocabulary


def encoded():
    sentences = list(read_treebank([TRAIN]))
    vocab = build_vocabulary(sentences)
    return vocab, [encode_sentence(s.forms, vocab, 24, vocab.head_tags(s)) for s in sentences]


def test_right_padding_and_weights():
    _, data = encoded()
    for batch in length_batches(data, 16):
        lengths = [len(data[i].words) for i in batch.index]
        for row, n in enumerate(lengths):
            assert batch.weights[row, :n].all() and not batch.weights[row, n:].any()
            assert (batch.words[row, n:] == PAD_ID).all() and (batch.words[row, :n] != PAD_ID).all()
            tags = batch.tags["upos"]
            assert (tags[row, :n] > 0).all() and (tags[row, n:] == 0).all()
            assert (batch.chars[row, n:] == 0).all()


def test_every_sentence_once_with_similar_lengths():
    _, data = encoded()
    batches = list(length_batches(data, 16, np.random.default_rng(0)))
    assert sorted(i for b in batches for i in b.index) == list(range(len(data)))
    # length bucketing pads far less than batching in file order
    from postagger.batching import pad_batch

    def padding(bs):
        return sum(b.weights.size - b.weights.sum() for b in bs)

    in_order = [pad_batch(data[i : i + 16], list(range(i, i + 16))) for i in range(0, len(data), 16)]
    assert padding(batches) < padding(in_order) / 3


def test_shuffling_is_seeded():
    _, data = encoded()
    first = [b.index for b in length_batches(data, 16, np.random.default_rng(7))]
    again = [b.index for b in length_batches(data, 16, np.random.default_rng(7))]
    other = [b.index for b in length_batches(data, 16, np.random.default_rng(8))]
    assert first == again and first != other


def test_token_budget_splits_long_sentences_into_small_batches():
    _, data = encoded()
    for batch in length_batches(data, 64, max_tokens=200):
        assert batch.words.size <= 200 or len(batch.index) == 1


def test_a_padding_budget_ends_batches_of_scattered_lengths():
    from postagger.batching import length_groups

    rng = np.random.default_rng(3)
    lengths = np.concatenate([rng.integers(1, 30, 500), rng.integers(30, 200, 40), [0, 0]])
    plain = length_groups(lengths, 64)
    tight = length_groups(lengths, 64, max_padding=0.1)
    assert sorted(i for g in tight for i in g) == list(range(len(lengths)))

    def padding(groups):
        return sum(len(g) * lengths[g].max() - lengths[g].sum() for g in groups)

    for g in tight:
        real = lengths[g].sum()
        assert len(g) <= 64 and (len(g) == 1 or len(g) * lengths[g].max() <= 1.1 * real)
        assert list(lengths[g]) == sorted(lengths[g])
    assert padding(tight) < padding(plain) / 2
    assert [list(map(int, g)) for g in length_groups(lengths, 64, max_padding=None)] == plain


def test_long_words_keep_beginning_and_end():
    word = "a" * 10 + "b" * 5000 + "ing"
    kept = word_chars(word, 24)
    assert len(kept) == 24 and kept.startswith("a" * 10) and kept.endswith("bbbing")


def test_word_dropout_spares_padding_and_frequent_words():
    vocab, data = encoded()
    keep = keep_probabilities(vocab, 0.25)
    assert keep[PAD_ID] == keep[UNK_ID] == 1.0
    batch = next(length_batches(data, 64))
    dropped = drop_words(batch.words, keep, np.random.default_rng(0))
    assert (dropped[batch.words == PAD_ID] == PAD_ID).all()
    changed = dropped != batch.words
    assert changed.any() and (dropped[changed] == UNK_ID).all()
    assert (
        drop_words(batch.words, keep_probabilities(vocab, 0.0), np.random.default_rng(0)) == batch.words
    ).all()


def test_word_dropout_can_count_documents(tmp_path):
    """With document counts, a name repeated in one document is hidden as often as a word
    seen once (alpha 1: half the time); a word in two documents a third of the time. Files
    without `# newdoc` have no document counts."""
    doc1 = conllu_block("1 Ada PROPN", "2 runs VERB", comments=("newdoc id = a", "sent_id = 1"))
    doc1 += conllu_block("1 Ada PROPN", "2 sleeps VERB", comments=("sent_id = 2",))
    doc2 = conllu_block("1 Bo PROPN", "2 runs VERB", comments=("newdoc id = b", "sent_id = 3"))
    sentences = list(read_treebank([write(tmp_path / "d.conllu", doc1 + doc2)]))
    counts = document_counts(sentences)
    assert counts == {"Ada": 1, "runs": 2, "sleeps": 1, "Bo": 1}
    vocab = build_vocabulary(sentences)
    by_documents = keep_probabilities(vocab, 1.0, counts)
    by_occurrences = keep_probabilities(vocab, 1.0)
    ada = vocab.word_id("Ada")
    assert by_occurrences[ada] == 2 / 3 and by_documents[ada] == 1 / 2
    assert by_documents[vocab.word_id("runs")] == 2 / 3
    plain = write(tmp_path / "plain.conllu", conllu_block("1 Ada PROPN", comments=("sent_id = 1",)))
    assert document_counts(list(read_treebank([plain]))) is None


def test_encoding_with_a_cache_gives_the_same_ids_and_stays_bounded(monkeypatch):
    from postagger import batching

    sentences = list(read_treebank([TRAIN]))
    vocab = build_vocabulary(sentences[:20])  # most words unknown, characters too
    monkeypatch.setattr(batching, "WORD_CACHE_FORMS", 50)
    cache: dict = {}
    for _ in range(2):
        for s in sentences:
            fresh = encode_sentence(s.forms, vocab, 8)
            cached = encode_sentence(s.forms, vocab, 8, cache=cache)
            np.testing.assert_array_equal(cached.words, fresh.words)
            assert len(cached.chars) == len(fresh.chars)
            for a, b in zip(cached.chars, fresh.chars):
                np.testing.assert_array_equal(a, b)
            assert len(cache) <= 50
