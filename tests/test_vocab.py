from __future__ import annotations

import json

import pytest
from conftest import TRAIN, conllu_block, write

from postagger.conllu_io import read_treebank
from postagger.errors import PostaggerError
from postagger.vocab import BOW, EOW, PAD, PAD_ID, UNK, UNK_ID, Vocabulary, build_vocabulary


def toy(tmp_path):
    text = conllu_block("1 the DET", "2 cat NOUN", "3 sat VERB") + conllu_block("1 The DET", "2 cat NOUN")
    return list(read_treebank([write(tmp_path / "toy.conllu", text)]))


def test_reserved_ids_and_contents(tmp_path):
    vocab = build_vocabulary(toy(tmp_path))
    assert vocab.words.items[:2] == [PAD, UNK] and (PAD_ID, UNK_ID) == (0, 1)
    assert vocab.tags.items == [PAD, "DET", "NOUN", "VERB"]
    assert vocab.words.items[2] == "cat"  # most frequent first
    assert vocab.chars.items[:4] == [PAD, UNK, BOW, EOW] and "T" in vocab.chars
    assert vocab.word_id("cat") == vocab.words.get("cat")
    assert vocab.word_id("CAT") == vocab.words.get("cat")  # lower-case fallback
    assert vocab.word_id("dog") == UNK_ID


def test_min_count_keeps_rare_words_known_for_oov_accounting(tmp_path):
    vocab = build_vocabulary(toy(tmp_path), min_count=2)
    assert vocab.words.items == [PAD, UNK, "cat"]
    assert vocab.word_id("sat") == UNK_ID
    assert vocab.is_known("sat") and not vocab.is_known("dog")
    assert vocab.summary()["token_coverage"] == pytest.approx(2 / 5)


def test_xpos_column(tmp_path):
    vocab = build_vocabulary(read_treebank([TRAIN]), column="xpos")
    assert "NNP" in vocab.tags and vocab.column == "xpos"


def test_save_load_round_trip(tmp_path):
    vocab = build_vocabulary(toy(tmp_path))
    vocab.save(tmp_path / "v.json")
    again = Vocabulary.load(tmp_path / "v.json")
    assert again.to_json() == vocab.to_json()


def test_missing_tags_are_an_error_with_line(tmp_path):
    path = write(tmp_path / "untagged.conllu", conllu_block("1 a DET", "2 b _"))
    with pytest.raises(PostaggerError, match=r"untagged.conllu:2: word 'b' has no UPOS tag"):
        build_vocabulary(read_treebank([path]))


def test_bad_vocabulary_files(tmp_path):
    with pytest.raises(PostaggerError, match="no such file"):
        Vocabulary.load(tmp_path / "none.json")
    write(tmp_path / "bad.json", "{not json")
    with pytest.raises(PostaggerError, match="not a JSON vocabulary"):
        Vocabulary.load(tmp_path / "bad.json")
    write(tmp_path / "future.json", json.dumps({"format": 99}))
    with pytest.raises(PostaggerError, match="format 99 is not supported"):
        Vocabulary.load(tmp_path / "future.json")
