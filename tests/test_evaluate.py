from __future__ import annotations

import pytest

from postagger.evaluate import accuracy_scores, tag_report


def test_scores_on_a_hand_made_pair():
    gold = [["DET", "NOUN", "VERB"], ["PRON", "VERB"]]
    pred = [["DET", "VERB", "VERB"], ["PRON", "NOUN"]]
    forms = [["the", "dog", "barks"], ["it", "zorps"]]
    known = {"the", "dog", "barks", "it"}
    r = accuracy_scores({"upos": gold}, {"upos": pred}, forms, known.__contains__)
    assert r["tokens"] == 5 and r["upos"] == pytest.approx(3 / 5)
    assert r["oov_tokens"] == 1 and r["upos_oov"] == 0.0
    assert r["seen_tokens"] == 4 and r["upos_seen"] == pytest.approx(3 / 4)
    r = tag_report(gold, pred)
    verb = r["per_tag"]["VERB"]
    assert verb["precision"] == pytest.approx(1 / 2) and verb["recall"] == pytest.approx(1 / 2)
    assert verb["f1"] == pytest.approx(1 / 2) and verb["support"] == 2
    noun = r["per_tag"]["NOUN"]
    assert (noun["precision"], noun["recall"], noun["f1"]) == (0.0, 0.0, 0.0)
    assert r["per_tag"]["DET"]["f1"] == 1.0
    assert {(c["gold"], c["predicted"], c["count"]) for c in r["confusions"]} == {
        ("NOUN", "VERB", 1),
        ("VERB", "NOUN", 1),
    }


def test_without_a_vocabulary_there_is_no_oov_split():
    r = accuracy_scores({"upos": [["X"]]}, {"upos": [["X"]]}, [["a"]])
    assert r == {"tokens": 1, "upos": 1.0}


def test_sentences_of_different_lengths_are_refused():
    with pytest.raises(ValueError):
        accuracy_scores({"upos": [["X", "Y"]]}, {"upos": [["X"]]}, [["a", "b"]])
    with pytest.raises(ValueError):
        accuracy_scores({"upos": [["X"]]}, {"upos": [["X"]]}, [["a", "b"]], {"a"}.__contains__)
    with pytest.raises(ValueError):
        tag_report([["X", "Y"]], [["X"]])


def test_feats_ufeats_and_alltags_as_conll_2018_defines_them():
    gold = {
        "upos": [["NOUN", "VERB", "PUNCT"]],
        "xpos": [["NN", "VBZ", "."]],
        "feats": [["Number=Sing|Gender=Fem", "Mood=Ind|Typo=Yes", "_"]],
    }
    predicted = {
        "upos": [["NOUN", "VERB", "PUNCT"]],
        "xpos": [["NN", "VBD", "."]],
        # feature order does not count; Typo is not a universal feature of the CoNLL 2018
        # evaluation (UFeats ignores it, FEATS does not); '_' matches '_'
        "feats": [["Gender=Fem|Number=Sing", "Mood=Ind", "_"]],
    }
    r = accuracy_scores(gold, predicted, [["a", "b", "c"]], {"a", "c"}.__contains__)
    assert r["upos"] == 1.0 and r["xpos"] == pytest.approx(2 / 3)
    assert r["feats"] == pytest.approx(2 / 3) and r["ufeats"] == 1.0
    assert r["alltags"] == pytest.approx(2 / 3)  # the verb's XPOS is wrong
    assert r["xpos_oov"] == 0.0 and r["xpos_seen"] == 1.0 and r["alltags_seen"] == 1.0


def test_alltags_needs_all_three_columns():
    r = accuracy_scores(
        {"upos": [["X"]], "feats": [["_"]]}, {"upos": [["X"]], "feats": [["Foo=Bar"]]}, [["a"]]
    )
    assert r == {"tokens": 1, "upos": 1.0, "feats": 0.0, "ufeats": 1.0}  # Foo is no universal feature
