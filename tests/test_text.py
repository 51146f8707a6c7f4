from __future__ import annotations

from conftest import TRAIN, write

from postagger.conllu_io import read_conllu, read_treebank
from postagger.text import Tokenizer, TokenizerRules, learn_rules


def forms(sentences):
    return [[t.form for t in s] for s in sentences]


def test_base_rules_split_edge_punctuation_and_keep_inner():
    tok = Tokenizer()
    [sentence] = tok.sentences('He paid $3.50 for "e-mail" (really)...')
    assert [t.form for t in sentence] == [
        "He",
        "paid",
        "$",
        "3.50",
        "for",
        '"',
        "e-mail",
        '"',
        "(",
        "really",
        ")",
        "...",
    ]
    assert [t.space_after for t in sentence][-4:] == [False, False, False, True]


def test_urls_and_emails_stay_whole_without_trailing_punctuation():
    [s] = Tokenizer().sentences("See https://example.org/a?b=1, or mail a.b@c.org.")
    assert [t.form for t in s] == ["See", "https://example.org/a?b=1", ",", "or", "mail", "a.b@c.org", "."]


def test_sentence_splitting_is_script_independent():
    tok = Tokenizer()
    assert forms(tok.sentences("Первое предложение. Второе!")) == [
        ["Первое", "предложение", "."],
        ["Второе", "!"],
    ]
    assert forms(tok.sentences("今日は晴れ。明日は雨。")) == [["今日は晴れ", "。"], ["明日は雨", "。"]]
    # a lower-case continuation does not start a sentence; a blank line always does
    assert len(list(tok.sentences("a.b. and so on. Next"))) == 2
    assert len(list(tok.sentences("no final punctuation\n\nnew paragraph"))) == 2


def test_rules_learned_from_multiword_tokens_split_contractions(tmp_path):
    block = (
        "1-2\t{s}\t_\t_\t_\t_\t_\t_\t_\t_\n1\t{a}\t_\tAUX\t_\t_\t_\t_\t_\t_\n2\t{b}\t_\tPART\t_\t_\t_\t_\t_\t_\n"
        "3\tgo\t_\tVERB\t_\t_\t_\t_\t_\t_\n\n"
    )
    pairs = [("do", "n't"), ("did", "n't"), ("ca", "n't"), ("does", "n't"), ("ca", "n't")]
    text = "".join(block.format(s=a + b, a=a, b=b) for a, b in pairs)
    path = write(tmp_path / "t.conllu", text)
    rules = learn_rules(read_treebank([path]))
    assert rules.suffixes == {"n't": True}
    assert rules.multiword["can't"] == ["ca", "n't"]
    [s] = Tokenizer(rules).sentences("Shouldn't I go? ")
    assert [(t.form, t.words) for t in s][:2] == [("Shouldn't", ("Should", "n't")), ("I", ("I",))]


def test_prefix_clitics_learned_from_space_after(tmp_path):
    # French-style: "l'" is its own token, written attached to the next word
    rows = []
    for host in ("homme", "eau", "ami", "arbre"):
        rows.append(f"1\tl'\t_\tDET\t_\t_\t_\t_\t_\tSpaceAfter=No\n2\t{host}\t_\tNOUN\t_\t_\t_\t_\t_\t_\n\n")
    rules = learn_rules(read_treebank([write(tmp_path / "fr.conllu", "".join(rows))]))
    assert rules.prefixes == {"l'": False}
    [s] = Tokenizer(rules).sentences("L'enfant dort.")
    assert [t.form for t in s] == ["L'", "enfant", "dort", "."]
    assert s[0].space_after is False


def test_rules_learned_from_the_ewt_sample():
    rules = learn_rules(read_treebank([TRAIN]))
    assert "-" in rules.split_inside  # EWT writes Al-Zaman as Al - Zaman
    [s] = Tokenizer(rules).sentences("Al-Zaman is here.")
    assert [t.form for t in s][:3] == ["Al", "-", "Zaman"]


def test_rules_json_round_trip():
    rules = TokenizerRules({"dr."}, {"-"}, {"n't": True}, {"l'": False}, {"cannot": ["can", "not"]})
    assert TokenizerRules.from_json(rules.to_json()) == rules


def test_tokenizer_words_rebuild_the_text(tmp_path):
    text = "Dr. Who didn't (can't?) say: \"no\"."
    rules = TokenizerRules(abbreviations={"dr."}, suffixes={"n't": True}, multiword={"can't": ["ca", "n't"]})
    [s] = Tokenizer(rules).sentences(text)
    assert "".join(t.form + (" " if t.space_after else "") for t in s).strip() == text
    assert [t.form for t in s][0] == "Dr."


def test_every_treebank_sentence_round_trips_through_conllu_reader(tmp_path):
    # guards surface_tokens: multiword surface forms are taken from the range lines
    from postagger.text import surface_tokens

    for sentence in read_conllu(TRAIN):
        if sentence.words:
            tokens = surface_tokens(sentence)
            assert sum(len(w) for _, w, _ in tokens) == len(sentence.words)


def test_kept_chunk_tokens_are_the_ones_computed_afresh(monkeypatch):
    """Tokenize keeps each chunk's tokens (emptied when full): with a 3-chunk store that
    is emptied all the time, and over two passes, the tokens are those of a fresh
    tokenizer chunk by chunk; chunks are split at every Unicode space, as re's \\S+."""
    import re

    from postagger import text as text_module

    rules = learn_rules(read_treebank([TRAIN]))
    texts = [ln.split("=", 1)[1].strip() for s in read_treebank([TRAIN]) for ln in s.lines
             if ln.startswith("# text")]  # fmt: skip
    sample = " ".join(texts) + " a\u00a0b\u3000c\x1cd\u2028e don't (U.S.)"
    assert sample.split() == re.findall(r"\S+", sample)
    expected = [t for chunk in sample.split() for t in Tokenizer(rules).tokenize(chunk)]
    monkeypatch.setattr(text_module, "CHUNK_CACHE", 3)
    tokenizer = Tokenizer(rules)
    for _ in range(2):
        assert tokenizer.tokenize(sample) == expected
        assert tokenizer.kept_chunks <= 3
