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
    vocab = build_vocabulary(read_treebank([TRAIN]), columns=["xpos"])
    assert "NNP" in vocab.tags and vocab.column == "xpos"


def test_save_load_round_trip(tmp_path):
    vocab = build_vocabulary(toy(tmp_path))
    vocab.save(tmp_path / "v.json")
    again = Vocabulary.load(tmp_path / "v.json")
    assert again.to_json() == vocab.to_json()


def test_a_mostly_untagged_column_is_an_error_with_line(tmp_path):
    path = write(tmp_path / "untagged.conllu", conllu_block("1 a DET", "2 b _"))
    with pytest.raises(PostaggerError, match=r"untagged.conllu:2: UPOS is missing \('_'\) for 1 of 2 words"):
        build_vocabulary(read_treebank([path]))


def test_a_few_untagged_words_leave_the_tagset_and_get_padding(tmp_path):
    path = write(tmp_path / "gap.conllu", conllu_block("1 a DET", "2 b _", "3 c NOUN", "4 d NOUN"))
    vocab = build_vocabulary(read_treebank([path]))
    assert vocab.tagsets["upos"].items == [PAD, "DET", "NOUN"]
    [sentence] = read_treebank([path])
    assert vocab.head_tags(sentence) == {"upos": ["DET", PAD, "NOUN", "NOUN"]}


def test_bad_vocabulary_files(tmp_path):
    with pytest.raises(PostaggerError, match="no such file"):
        Vocabulary.load(tmp_path / "none.json")
    write(tmp_path / "bad.json", "{not json")
    with pytest.raises(PostaggerError, match="not a JSON vocabulary"):
        Vocabulary.load(tmp_path / "bad.json")
    write(tmp_path / "future.json", json.dumps({"format": 99}))
    with pytest.raises(PostaggerError, match="format 99 is not supported"):
        Vocabulary.load(tmp_path / "future.json")


def test_joint_heads_whole_and_per_feature(tmp_path):
    sentences = list(read_treebank([TRAIN]))
    whole = build_vocabulary(sentences, ["upos", "xpos", "feats"])
    assert list(whole.tagsets) == ["upos", "xpos", "feats"] and whole.column == "upos"
    assert "Number=Sing" in whole.tagsets["feats"] and "_" in whole.tagsets["feats"]
    split = build_vocabulary(sentences, ["upos", "feats"], feats_heads="split")
    heads = list(split.tagsets)
    assert heads[0] == "upos" and "feats:Number" in heads and "feats:Tense" in heads
    number = split.tagsets["feats:Number"].items
    assert number[:2] == [PAD, "_"] and {"Plur", "Sing"} <= set(number)
    assert split.output_names["upos"] == "tags" and len(set(split.output_names.values())) == len(heads)
    for sentence in sentences:
        values = split.head_tags(sentence)
        # per-feature values joined back give the gold FEATS (UD order)
        assert split.columns_of(values) == {"upos": sentence.tags("upos"), "feats": sentence.tags("feats")}
    split.save(tmp_path / "v.json")
    assert Vocabulary.load(tmp_path / "v.json").to_json() == split.to_json()


def test_feats_features_are_joined_in_ud_order():
    from postagger.conllu_io import join_feats, split_feats

    assert split_feats("_") == {} and join_feats({}) == "_"
    assert join_feats({"VerbForm": "Fin", "Case": "Nom", "abbr": "Yes"}) == "abbr=Yes|Case=Nom|VerbForm=Fin"
    assert split_feats("PronType=Int,Rel|Number[psor]=Sing") == {
        "PronType": "Int,Rel",
        "Number[psor]": "Sing",
    }


def test_a_format_1_vocabulary_still_loads(tmp_path):
    old = {
        "format": 1, "column": "upos", "words": [PAD, UNK, "cat"], "chars": [PAD, UNK, BOW, EOW, "c"],
        "tags": [PAD, "NOUN"], "word_counts": {"cat": 2},
    }  # fmt: skip
    vocab = Vocabulary.from_json(old)
    assert vocab.columns == ["upos"] and vocab.tags.items == [PAD, "NOUN"]


def test_xpos_must_be_present_but_feats_may_be_empty(tmp_path):
    path = write(tmp_path / "no-xpos.conllu", conllu_block("1 a DET", "2 b NOUN"))
    vocab = build_vocabulary(read_treebank([path]), ["upos", "feats"])
    assert vocab.tagsets["feats"].items == [PAD, "_"]
    with pytest.raises(PostaggerError, match=r"no-xpos.conllu:1: XPOS is missing \('_'\) for 2 of 2 words"):
        build_vocabulary(read_treebank([path]), ["upos", "xpos"])
    with pytest.raises(PostaggerError, match="has no features"):
        build_vocabulary(read_treebank([path]), ["upos", "feats"], feats_heads="split")
    with pytest.raises(PostaggerError, match="cannot be the first"):
        build_vocabulary(read_treebank([path]), ["feats", "upos"], feats_heads="split")


def test_words_added_from_vectors_are_stored_as_one_string_and_indexed_when_needed(tmp_path):
    import dataclasses

    from postagger.vocab import Index

    vocab = build_vocabulary(toy(tmp_path))
    trained = len(vocab.words)
    added = ["zebra", "quokka", "Cat"]  # as --extend-vocab adds them: after the training words
    extended = dataclasses.replace(vocab, words=Index([*vocab.words.items, *added]))
    extended.save(tmp_path / "vocab.json")
    data = json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))
    assert data["format"] == 3 and data["added_words"] == "zebra quokka Cat" and len(data["words"]) == trained
    loaded = Vocabulary.load(tmp_path / "vocab.json")
    assert loaded == extended and loaded.words.items == extended.words.items
    assert loaded.words._indexed == trained  # the added words are not indexed yet
    assert loaded.word_id("cat") == vocab.word_id("cat") and loaded.words._indexed == trained
    assert loaded.word_id("quokka") == trained + 1 and loaded.words._indexed == trained + 3
    assert loaded.word_id("CAT") == vocab.word_id("cat") and loaded.word_id("cAT") == vocab.word_id("cat")
    assert "zebra" in Vocabulary.load(tmp_path / "vocab.json").words
    assert Vocabulary.load(tmp_path / "vocab.json").words.ids["Cat"] == trained + 2
    # a word with a space cannot be joined: the list holds them all, in format 2
    spaced = dataclasses.replace(vocab, words=Index([*vocab.words.items, "New York"]))
    data = spaced.to_json()
    assert data["format"] == 2 and "added_words" not in data and data["words"][-1] == "New York"
    assert vocab.to_json()["format"] == 2  # nothing added: readable by earlier versions
