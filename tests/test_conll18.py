"""CoNLL 2018 scoring of output tokenized otherwise than the gold, on hand-made cases whose
figures are worked out in the comments."""

from __future__ import annotations

import pytest
from conftest import write

from postagger import conll18
from postagger.conllu_io import read_treebank
from postagger.errors import PostaggerError


def sentence(*rows: str, comments: tuple[str, ...] = ()) -> str:
    """A CoNLL-U sentence from 'id form upos [SpaceAfter=No]' rows; 'a-b form' is a range line."""
    lines = [f"# {c}" for c in comments]
    for row in rows:
        token_id, form, *rest = row.split(" ")
        upos = rest[0] if rest and "-" not in token_id else "_"
        misc = "SpaceAfter=No" if "nospace" in rest else "_"
        lines.append("\t".join([token_id, form, "_", upos, "_", "_", "_", "_", "_", misc]))
    return "\n".join(lines) + "\n\n"


def scores(tmp_path, gold: str, system: str) -> dict:
    g = list(read_treebank([write(tmp_path / "gold.conllu", gold)]))
    s = list(read_treebank([write(tmp_path / "system.conllu", system)]))
    return {
        metric: (score.correct, score.gold, score.system) for metric, score in conll18.score(g, s).items()
    }


def f1(correct: int, gold: int, system: int) -> float:
    return conll18.Score(gold, system, correct).f1


def test_the_same_file_scores_everything_right(tmp_path):
    text = sentence("1 It PRON", "2 works VERB nospace", "3 . PUNCT") + sentence("1 Yes INTJ")
    got = scores(tmp_path, text, text)
    assert got["tokens"] == (4, 4, 4) and got["sentences"] == (2, 2, 2) and got["upos"] == (4, 4, 4)
    assert all(f1(*counts) == 1.0 for counts in got.values())


def test_a_token_split_in_three(tmp_path):
    # "e-mail me." — gold: e-mail | me | . ; system: e | - | mail | me | .
    gold = sentence("1 e-mail NOUN", "2 me PRON nospace", "3 . PUNCT")
    system = sentence("1 e X nospace", "2 - PUNCT nospace", "3 mail NOUN", "4 me PRON nospace", "5 . PUNCT")
    got = scores(tmp_path, gold, system)
    # spans of "e-mailme.": gold (0,6) (6,8) (8,9); system (0,1) (1,2) (2,6) (6,8) (8,9)
    assert got["tokens"] == got["words"] == (2, 3, 5)  # "me" and "." are right
    assert got["upos"] == (2, 3, 5) and got["sentences"] == (1, 1, 1)
    assert f1(*got["tokens"]) == pytest.approx(0.5)  # P 2/5, R 2/3


def test_two_tokens_merged_into_one(tmp_path):
    # "don't" — gold: do | n't (no space between); system: don't
    gold = sentence("1 do AUX nospace", "2 n't PART", "3 go VERB")
    system = sentence("1 don't AUX", "2 go VERB")
    got = scores(tmp_path, gold, system)
    assert got["tokens"] == got["words"] == got["upos"] == (1, 3, 2)  # only "go"
    assert f1(*got["words"]) == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))


def test_multiword_tokens_align_their_words_by_common_subsequence(tmp_path):
    # Spanish "Vino del mar": the token "del" holds the words "de" and "el"
    gold = sentence("1 Vino VERB", "2-3 del", "2 de ADP", "3 el DET", "4 mar NOUN")
    # one word "del": the token is right, the words inside it are not
    got = scores(tmp_path, gold, sentence("1 Vino VERB", "2 del ADP", "3 mar NOUN"))
    assert got["tokens"] == (3, 3, 3) and got["words"] == (2, 4, 3)
    # expanded right, with one tag wrong: every word aligned
    got = scores(tmp_path, gold, sentence("1 Vino VERB", "2-3 del", "2 de ADP", "3 el PRON", "4 mar NOUN"))
    assert got["words"] == (4, 4, 4) and got["upos"] == (3, 4, 4)
    # expanded wrong ("de" + "l"): the common subsequence keeps "de"
    got = scores(tmp_path, gold, sentence("1 Vino VERB", "2-3 del", "2 de ADP", "3 l DET", "4 mar NOUN"))
    assert got["words"] == (3, 4, 4) and got["upos"] == (3, 4, 4)
    # case does not matter for the alignment
    got = scores(tmp_path, gold, sentence("1 Vino VERB", "2-3 del", "2 DE ADP", "3 El DET", "4 mar NOUN"))
    assert got["words"] == (4, 4, 4)


def test_a_missed_sentence_boundary(tmp_path):
    gold = sentence("1 Hi INTJ", "2 . PUNCT") + sentence("1 Bye INTJ", "2 . PUNCT")
    system = sentence("1 Hi INTJ", "2 . PUNCT", "3 Bye INTJ", "4 . PUNCT")
    got = scores(tmp_path, gold, system)
    assert got["sentences"] == (0, 2, 1) and got["tokens"] == (4, 4, 4) and got["upos"] == (4, 4, 4)
    # one boundary found of two: the second sentence's span is right, the first's is not
    got = scores(tmp_path, gold + sentence("1 Ok INTJ"), system + sentence("1 Ok INTJ"))
    assert got["sentences"] == (1, 3, 2)


def test_different_text_is_an_error_naming_the_system_line(tmp_path):
    gold = sentence("1 The DET", "2 cat NOUN") + sentence("1 It PRON", "2 sleeps VERB")
    system = sentence("1 The DET", "2 cat NOUN") + sentence("1 It PRON", "2 slept VERB")
    # "ThecatItsleeps" against "ThecatItslept": they part at the 12th character, on line 5
    message = r"system.conllu:5: the text differs .*gold.conllu:5\) at its character 12 .*'pt' against 'eps'"
    with pytest.raises(PostaggerError, match=message):
        scores(tmp_path, gold, system)
    with pytest.raises(
        PostaggerError, match=r"system.conllu:2: .* at its character 7 .*'' against 'Itsleeps'"
    ):
        scores(tmp_path, gold, sentence("1 The DET", "2 cat NOUN"))  # a sentence missing


def test_raw_text_joins_a_paragraphs_sentences_and_separates_paragraphs():
    from postagger.conllu_io import Block, parse_conllu

    text = (
        sentence("1 One NUM", comments=("newdoc id = d1", "newpar id = p1", "text = One"))
        + sentence("1 Two NUM", "2 . PUNCT", comments=("text = Two.",))
        + sentence("1 Three NUM", "2 ! PUNCT", comments=("newpar",))  # no text: from SpaceAfter
    )
    sentences = parse_conllu(Block(text.encode(), "t.conllu", 1))
    assert conll18.raw_text(sentences) == "One Two.\n\nThree !\n\n"
