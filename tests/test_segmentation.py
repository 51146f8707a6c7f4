"""The raw-text segmenter: its training labels, what it learns, its engines, its windows."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TEST, write

from postagger import segmentation
from postagger.conllu_io import Block, parse_conllu, read_treebank
from postagger.segmentation import INSIDE, SENTENCE_END, TOKEN_END, WORD_END, treebank_paragraphs


def sentences_of(text: str):
    return parse_conllu(Block(text.encode("utf-8"), "t.conllu", 1))


def rows(*rows: str, comments: tuple[str, ...] = ()) -> str:
    """A sentence from 'id form [nospace]' rows; 'a-b form' is a multiword token's range."""
    lines = [f"# {c}" for c in comments]
    for row in rows:
        token_id, form, *rest = row.split(" ")
        misc = "SpaceAfter=No" if rest else "_"
        lines.append("\t".join([token_id, form, "_", "X", "_", "_", "_", "_", "_", misc]))
    return "\n".join(lines) + "\n\n"


def test_treebank_paragraphs_label_every_kind_of_end():
    text = (
        rows("1 Hi nospace", "2 !", comments=("newpar", "text = Hi!"))
        + rows("1-2 don't", "1 do", "2 n't", "3-4 del", "3 de", "4 el", comments=("text = don't del",))
        + rows("1 New", comments=("newpar",))  # no text: made from the tokens
    )
    [first, second] = treebank_paragraphs(sentences_of(text))
    assert first.text == "Hi! don't del" and second.text == "New"
    expected = [INSIDE] * len(first.text)
    expected[1], expected[2] = TOKEN_END, SENTENCE_END  # "Hi" "!" and the sentence
    expected[5] = WORD_END  # "do" + "n't" spell "don't"; "de" + "el" do not spell "del"
    expected[8], expected[12] = TOKEN_END, SENTENCE_END
    assert first.labels.tolist() == expected
    assert second.labels.tolist() == [INSIDE, INSIDE, SENTENCE_END]


def toy_treebank(rng, n: int, numbers: bool = True) -> str:
    """A made-up language: "-" splits off after a number ("12-ka" is "12" "-" "ka") but
    stays inside words ("ta-ka" is one token); a sentence ends after the word "ok", which
    no punctuation follows, before a word that may well be in lower case."""
    stems = ["ta", "ka", "mo", "zi", "ru", "po", "le", "ni"]
    blocks = []
    for i in range(n):
        tokens = []
        for _ in range(rng.integers(2, 6)):
            kind = rng.integers(0, 3)
            if kind == 0 and numbers:
                tokens += [(str(rng.integers(1, 99)), False), ("-", False), (str(rng.choice(stems)), True)]
            elif kind == 1:
                tokens.append((f"{rng.choice(stems)}-{rng.choice(stems)}", True))
            else:
                tokens.append((str(rng.choice(stems)), True))
        tokens.append(("ok", True))
        lines = [f"{j}\t{form}\t_\tX\t_\t_\t_\t_\t_\t{'_' if space else 'SpaceAfter=No'}"
                 for j, (form, space) in enumerate(tokens, 1)]  # fmt: skip
        blocks.append(("# newpar\n" if i % 5 == 0 else "") + "\n".join(lines) + "\n\n")
    return "".join(blocks)


@pytest.mark.slow
def test_a_toy_language_teaches_boundaries_no_rule_gives(tmp_path):
    from postagger.config import SegmenterConfig
    from postagger.engines import KerasEngine
    from postagger.segmenter_training import train_segmenter
    from postagger.text import Tokenizer, TokenizerRules, learn_rules

    rng = np.random.default_rng(0)
    train = list(read_treebank([write(tmp_path / "train.conllu", toy_treebank(rng, 400))]))
    dev = list(read_treebank([write(tmp_path / "dev.conllu", toy_treebank(rng, 60))]))
    trained = train_segmenter(train, dev, SegmenterConfig(filters=24, layers=3, epochs=12, seed=3))
    assert trained.info.scores["tokens"] > 0.99 and trained.info.scores["sentences"] > 0.95
    from postagger.model import build_segmenter, set_weight_arrays

    model = build_segmenter(
        trained.info.config, len(trained.info.chars) + 2, len(segmentation.CATEGORIES) + 2
    )
    set_weight_arrays(model, trained.weights, "toy")
    segmenter = segmentation.Segmenter(KerasEngine(model), trained.info, TokenizerRules())
    text = "ta-ka 12-mo ok zi 7-ru le-po ok mo ok"
    found = [[t.form for t in sentence] for sentence in segmenter.sentences(text)]
    assert found == [["ta-ka", "12", "-", "mo", "ok"], ["zi", "7", "-", "ru", "le-po", "ok"], ["mo", "ok"]]
    # the rules learnt from the same treebank cannot tell the two hyphens apart, nor end
    # a sentence without punctuation
    rules = Tokenizer(learn_rules(train))
    assert [[t.form for t in s] for s in rules.sentences(text)] != found
    assert len(list(rules.sentences(text))) == 1


@pytest.fixture(scope="module")
def segmenters(tiny_model):
    from postagger.engines import load_segmenter_network
    from postagger.modeldir import load_model_info

    info = load_model_info(tiny_model)
    return info, {engine: load_segmenter_network(info, engine) for engine in ("keras", "numpy", "onnx")}


def test_every_engine_gives_the_segmenter_s_probabilities(segmenters):
    info, networks = segmenters
    texts = [s.text for s in read_treebank([TEST])] + ["x" * 3000, "Ünïcödé ☃ 中文 !", ""]
    found = {}
    for engine, network in networks.items():
        found[engine] = segmentation.Segmenter(network, info.segmenter, info.rules).probabilities(texts)
    assert found["keras"].shape == (sum(map(len, texts)), segmentation.LABELS)
    for engine in ("numpy", "onnx"):
        np.testing.assert_allclose(found[engine], found["keras"], atol=1e-5)


def test_a_paragraph_longer_than_a_row_is_segmented_as_its_pieces_would_be(segmenters, monkeypatch):
    """Cut into rows of 40 characters (each with the network's reach of context on either
    side), a paragraph gets the probabilities, and so the tokens, of one whole row."""
    info, networks = segmenters
    paragraph = " ".join(s.text for s in read_treebank([TEST]))[:2000]
    segmenter = segmentation.Segmenter(networks["numpy"], info.segmenter, info.rules)
    whole = segmenter.probabilities([paragraph])
    sentences = segmenter.paragraph_sentences([paragraph])
    monkeypatch.setattr(segmentation, "ROW_CHARS", 40)
    monkeypatch.setattr(segmentation, "CALL_CHARS", 500)  # and a few rows a call
    cut = segmenter.probabilities([paragraph, "short one"])[: len(paragraph)]
    np.testing.assert_allclose(cut, whole, atol=1e-6)
    assert segmenter.paragraph_sentences([paragraph]) == sentences


def test_tag_text_gives_each_word_its_span(tiny_tagger):
    text = "The cat sleeps. It's late!\n\nA new paragraph"
    sentences = tiny_tagger.tag_text(text)
    for sentence in sentences:
        assert len(sentence.words) == len(sentence.spans) == len(sentence.tags["upos"])
        for word, (start, end) in zip(sentence.words, sentence.spans):
            assert word in text[start:end] or text[start:end].lower().startswith(word.lower()[:1])
    tokens = "".join(text[a:b] for s in sentences for a, b in dict.fromkeys(s.spans))
    assert tokens == text.replace(" ", "").replace("\n", "")  # every character, once


def test_sentences_without_punctuation_are_cut_to_a_bounded_length(tiny_tagger, monkeypatch):
    from postagger import formats

    monkeypatch.setattr(formats, "MAX_SENTENCE_TOKENS", 7)
    text = "word " * 50
    sentences = tiny_tagger.tag_text(text)
    assert all(len(s.spans) <= 7 for s in sentences) and sum(len(s.words) for s in sentences) == 50


def infix_paragraph(text: str, ends: list[int]) -> segmentation.Paragraph:
    labels = np.zeros(len(text), np.int8)
    labels[ends] = TOKEN_END
    labels[-1] = SENTENCE_END
    return segmentation.Paragraph(text, labels)


def test_infix_splits_are_learnt_per_character_from_the_training_text():
    # "a-b" cut on both sides 30 times, kept whole 20 times, cut on one side once (2% of 51);
    # "x/y" 19 times only: too few to judge; "c.d" across paragraphs never counts
    paragraphs = [infix_paragraph("a-b", [0, 1]) for _ in range(30)]
    paragraphs += [infix_paragraph("a-b", []) for _ in range(20)] + [infix_paragraph("a-b", [0])]
    paragraphs += [infix_paragraph("x/y", []) for _ in range(19)]
    paragraphs += [infix_paragraph("word. c", [3]), infix_paragraph("d", [])] * 30
    assert segmentation.InfixSplits.learn(paragraphs).allowed == {"-": ("before", "both", "none")}
    paragraphs += [infix_paragraph("a-b", [0, 1]) for _ in range(100)]  # 151: one-sided now 0.7%
    allowed = segmentation.InfixSplits.learn(paragraphs).allowed
    assert allowed == {"-": ("both", "none")}


def test_a_one_sided_cut_the_treebank_never_makes_becomes_the_likelier_allowed_one():
    splits = segmentation.InfixSplits({"-": ("both", "none"), "'": ("none",)})
    paragraphs = ["mis-matches ok", "it's 12-3", "x", "-y"]
    text = "".join(paragraphs)
    mis, its, twelve, edge = text.index("s-"), text.index("t'"), text.index("2-"), text.index("x-")
    decisions = segmentation.Decisions(*(np.zeros(len(text), bool) for _ in range(3)))
    end = np.full(len(text), 0.1, np.float32)  # each character's probability of ending a token
    for at, p in ((mis, 0.9), (twelve, 0.6)):  # "mis" | "-matches", "12" | "-3": cut before "-" only
        decisions.token_end[at], end[at] = True, p
    decisions.sentence_end[mis] = True
    end[mis + 1], end[twelve + 1] = 0.45, 0.2
    decisions.token_end[its : its + 2] = True  # "it" | "'" | "s": both sides, not allowed for "'"
    end[its : its + 2] = 0.6
    decisions.token_end[edge] = True  # "x" ends its paragraph: the next one's "-" is no infix
    vocab = segmentation.CharacterVocabulary(sorted(set(text)))
    assert splits.apply(paragraphs, vocab.encode(text), decisions, end) == 3
    cuts = decisions.token_end
    assert cuts[mis] and cuts[mis + 1]  # 0.9·0.45 > 0.1·0.55: cut on both sides
    assert not cuts[twelve] and not cuts[twelve + 1]  # 0.6·0.2 < 0.4·0.8: kept whole
    assert not cuts[its] and not cuts[its + 1] and cuts[edge] and not cuts[edge + 1]
    assert decisions.sentence_end[mis]  # still a token end: the sentence end stays
    decisions.token_end[twelve], decisions.sentence_end[twelve] = True, True
    splits.apply(paragraphs, vocab.encode(text), decisions, end)
    assert not decisions.sentence_end[twelve]  # no sentence ends inside a token


def test_infix_splits_are_stored_with_the_segmenter(tmp_path):
    import json

    from postagger.config import SegmenterConfig
    from postagger.errors import ModelError
    from postagger.modeldir import SegmenterInfo

    info = SegmenterInfo(SegmenterConfig(), ["a"], 0.5, infix={"-": ("both", "none")})
    data = json.loads(json.dumps(info.to_json()))
    assert SegmenterInfo.from_json(data, tmp_path).infix == {"-": ("both", "none")}
    del data["infix"]  # a directory from before: no constraint
    assert SegmenterInfo.from_json(data, tmp_path).infix == {}
    for bad in ({"-": ["sideways"]}, {"ab": ["none"]}, ["-"]):
        with pytest.raises(ModelError, match="damaged"):
            SegmenterInfo.from_json({**data, "infix": bad}, tmp_path)
