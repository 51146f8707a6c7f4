"""Joint decoding: each word gets the most probable tag combination seen in training."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from conftest import DEV, TRAIN

from postagger.conllu_io import read_treebank
from postagger.decoding import JointChoice
from postagger.vocab import BOW, EOW, PAD, UNK, Index, Vocabulary


def two_head_vocab(combinations) -> Vocabulary:
    return Vocabulary(
        Index([PAD, UNK]), Index([PAD, UNK, BOW, EOW]),
        {"upos": Index([PAD, "A", "B", "C"]), "xpos": Index([PAD, "a", "b", "c", "d"])},
        ["upos", "xpos"], {}, combinations,
    )  # fmt: skip


@pytest.mark.parametrize("seed", range(5))
def test_the_choice_is_the_best_allowed_combination_and_the_argmax_when_allowed(seed):
    rng = np.random.default_rng(seed)
    pairs = list(itertools.product("ABC", "abcd"))
    allowed = [pairs[i] for i in sorted(rng.choice(len(pairs), 5, replace=False))]
    vocab = two_head_vocab(allowed)
    upos, xpos = (
        rng.dirichlet(np.ones(4), 300).astype(np.float32),
        rng.dirichlet(np.ones(5), 300).astype(np.float32),
    )
    upos[:, 0] = xpos[:, 0] = 1e-6  # the padding tag keeps a trace, as a softmax does
    chosen = JointChoice(vocab).best([upos, xpos], batch=64).T
    ids = {(vocab.tagsets["upos"].ids[u], vocab.tagsets["xpos"].ids[x]) for u, x in allowed}
    argmax_allowed = 0
    for word, (u, x) in enumerate(chosen):
        assert (u, x) in ids
        best = max(ids, key=lambda c: upos[word, c[0]] * xpos[word, c[1]])
        assert upos[word, u] * xpos[word, x] == pytest.approx(upos[word, best[0]] * xpos[word, best[1]])
        independent = (int(upos[word].argmax()), int(xpos[word].argmax()))
        if independent in ids:
            argmax_allowed += 1
            assert (u, x) == independent
    assert 0 < argmax_allowed < len(chosen)  # both cases were met


def test_the_table_and_the_byte_comparison_agree_and_best_ids_change_nothing(monkeypatch):
    rng = np.random.default_rng(7)
    pairs = list(itertools.product("ABC", "abcd"))
    vocab = two_head_vocab([pairs[i] for i in sorted(rng.choice(len(pairs), 6, replace=False))])
    upos, xpos = (
        rng.dirichlet(np.ones(4), 500).astype(np.float32),
        rng.dirichlet(np.ones(5), 500).astype(np.float32),
    )
    upos[:50, 0] = 0.99  # words whose best tag is padding: scored like the others
    table = JointChoice(vocab)
    assert table.table is not None
    chosen = table.best([upos, xpos], batch=64)
    best_ids = [p[:, 1:].argmax(-1) + 1 for p in (upos, xpos)]  # as the engines give them
    assert (table.best([upos, xpos], best_ids=best_ids) == chosen).all()
    monkeypatch.setattr(JointChoice, "TABLE_LIMIT", 0)
    keys = JointChoice(vocab)
    assert keys.table is None
    assert (keys.best([upos, xpos], batch=64) == chosen).all()
    assert (keys.best([upos, xpos], best_ids=best_ids) == chosen).all()


def test_training_records_the_combinations_and_the_vocabulary_keeps_them(joint_model):
    from postagger.modeldir import load_model_info

    vocab = load_model_info(joint_model).vocab
    seen = set()
    for sentence in read_treebank([TRAIN]):
        seen.update(zip(*vocab.head_tags(sentence).values()))
    assert set(vocab.combinations) == seen and len(vocab.combinations) == len(seen)
    assert all(len(c) == len(vocab.tagsets) > 3 for c in vocab.combinations)  # UPOS, XPOS, a head per feature
    data = json.loads((joint_model / "vocab.json").read_text(encoding="utf-8"))
    data["combinations"][0][0] = "NOT-A-TAG"
    with pytest.raises(Exception, match="does not fit the tag tables"):
        Vocabulary.from_json(data)


@pytest.mark.slow
def test_every_engine_gives_the_same_joint_tags_and_only_seen_combinations(joint_model):
    from postagger.tagger import Tagger

    forms = [s.forms for s in read_treebank([DEV])]
    tagged = {
        e: Tagger.load(joint_model, e).tag_sentences(forms, top_k=2) for e in ("numpy", "onnx", "keras")
    }
    tags = {e: [t.tags for t in found] for e, found in tagged.items()}
    assert tags["numpy"] == tags["onnx"] == tags["keras"]
    tagger = Tagger.load(joint_model, "numpy")
    allowed = {tagger.info.vocab.columns_of(dict(zip(tagger.info.vocab.tagsets, [[v] for v in c])))
               ["feats"][0] + "|" + "|".join(c[:2]) for c in tagger.info.vocab.combinations}  # fmt: skip
    for sentence in tags["numpy"]:
        for upos, xpos, feats in zip(sentence["upos"], sentence["xpos"], sentence["feats"]):
            assert f"{feats}|{upos}|{xpos}" in allowed
    independent = [t.tags for t in tagger.tag_sentences(forms, joint=False)]
    assert independent != tags["numpy"]  # joint decoding changed some words
    # the scores stay the first column's own probabilities
    assert [t.scores for t in tagged["numpy"]] == [
        t.scores for t in tagger.tag_sentences(forms, top_k=2, joint=False)
    ]
