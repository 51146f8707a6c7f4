from __future__ import annotations

import pytest
from conftest import TRAIN, conllu_block, write

from postagger.conllu_io import format_sentence, read_conllu, read_treebank
from postagger.errors import PostaggerError

DOC = (
    "# newdoc id = d1\n"
    "# sent_id = s1\n"
    "# text = I don't know.\n"
    "1\tI\tI\tPRON\tPRP\t_\t4\tnsubj\t_\t_\n"
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_\n"
    "3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_\n"
    "4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No\n"
    "4.1\tknown\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_\n"
    "\n"
)


def test_reads_words_multiword_tokens_and_skips_empty_nodes(tmp_path):
    [sentence] = read_conllu(write(tmp_path / "a.conllu", DOC))
    assert sentence.forms == ["I", "do", "n't", "know", "."]
    assert sentence.tags("upos") == ["PRON", "AUX", "PART", "VERB", "PUNCT"]
    assert sentence.tags("xpos") == ["PRP", "VBP", "RB", "VB", "."]
    [mwt] = sentence.multiword
    assert (mwt.first, mwt.last, mwt.form) == (2, 3, "don't")
    assert not sentence.words[3].space_after and sentence.words[0].space_after


def test_with_columns_changes_only_those_columns(tmp_path):
    [sentence] = read_conllu(write(tmp_path / "a.conllu", DOC))
    lines = sentence.with_columns({"upos": ["X"] * 5})
    before, after = DOC.splitlines(keepends=True), lines
    changed = [(b, a) for b, a in zip(before, after) if a != b]
    assert len(changed) == 5
    for b, a in changed:
        b_fields, a_fields = b.split("\t"), a.split("\t")
        assert a_fields[3] == "X"
        assert a_fields[:3] + a_fields[4:] == b_fields[:3] + b_fields[4:]


def test_crlf_bom_and_missing_final_blank_line_round_trip(tmp_path):
    text = "\ufeff" + DOC.replace("\n", "\r\n").rstrip("\r\n") + "\r\n"
    path = tmp_path / "crlf.conllu"
    path.write_bytes(text.encode("utf-8"))
    sentences = list(read_conllu(path))
    assert sentences[0].forms == ["I", "do", "n't", "know", "."]
    assert "".join(line for s in sentences for line in s.lines) == text


def test_comment_only_blocks_are_kept_for_pass_through(tmp_path):
    text = DOC + "# trailing comment\n"
    sentences = list(read_conllu(write(tmp_path / "a.conllu", text)))
    assert [len(s.words) for s in sentences] == [5, 0]
    assert "".join(line for s in sentences for line in s.lines) == text
    assert len(list(read_treebank([tmp_path / "a.conllu"]))) == 1


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("1\tI\t_\tPRON\t_\t_\t_\t_\t_\n", 2, "expected 10 tab-separated columns, found 9"),
        ("1\tI\t_\tPRON\t_\t_\t_\t_\t_\t_\t_\n", 2, "found 11"),
        ("1 I _ PRON _ _ _ _ _ _\n", 2, "tabs, not spaces"),
        ("one\tI\t_\tPRON\t_\t_\t_\t_\t_\t_\n", 2, "invalid ID 'one'"),
        ("1\tI\t_\tPRON\t_\t_\t_\t_\t_\t_\n3\tx\t_\tX\t_\t_\t_\t_\t_\t_\n", 3, "out of sequence"),
        ("1-3\tdont\t_\t_\t_\t_\t_\t_\t_\t_\n1\tdo\t_\tAUX\t_\t_\t_\t_\t_\t_\n", 2, "ends at word 3"),
        ("1\t\t_\tPRON\t_\t_\t_\t_\t_\t_\n", 2, "empty FORM"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, body, line, message):
    path = write(tmp_path / "bad.conllu", "# sent_id = 1\n" + body + "\n")
    with pytest.raises(PostaggerError) as err:
        list(read_conllu(path))
    assert str(err.value).startswith(f"{path}:{line}: ")
    assert message in str(err.value)


def test_invalid_utf8_and_nul_bytes_are_reported_with_line(tmp_path):
    latin1 = tmp_path / "latin1.conllu"
    latin1.write_bytes(
        conllu_block("1 ok X").encode() + "1\tcafé\t_\tX\t_\t_\t_\t_\t_\t_\n".encode("latin-1")
    )
    with pytest.raises(PostaggerError, match=r"latin1.conllu:3: not valid UTF-8"):
        list(read_conllu(latin1))
    nul = tmp_path / "nul.conllu"
    nul.write_bytes(b"1\ta\x00\t_\tX\t_\t_\t_\t_\t_\t_\n")
    with pytest.raises(PostaggerError, match=r"nul.conllu:1: contains a NUL byte"):
        list(read_conllu(nul))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(PostaggerError, match="no such file"):
        list(read_conllu(tmp_path / "nope.conllu"))
    with pytest.raises(PostaggerError, match="is a directory"):
        list(read_conllu(tmp_path))


def test_format_sentence_writes_multiword_tokens_and_space_after():
    from postagger.conllu_io import MultiwordToken

    text = format_sentence(
        ["I", "do", "n't", "."],
        {"upos": ["PRON", "AUX", "PART", "PUNCT"]},
        space_after=[True, True, False, True],
        multiword=[MultiwordToken(2, 3, "don't", False)],
        comments=["sent_id = 1"],
    )
    assert text.splitlines() == [
        "# sent_id = 1",
        "1\tI\t_\tPRON\t_\t_\t_\t_\t_\t_",
        "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\tSpaceAfter=No",
        "2\tdo\t_\tAUX\t_\t_\t_\t_\t_\t_",
        "3\tn't\t_\tPART\t_\t_\t_\t_\t_\t_",
        "4\t.\t_\tPUNCT\t_\t_\t_\t_\t_\t_",
        "",  # the blank line that ends the sentence
    ]


@pytest.mark.parametrize("scored", [False, True])
@pytest.mark.parametrize("columns", [("upos",), ("upos", "xpos", "feats")])
def test_raw_text_tokens_are_written_as_the_general_writer_writes_them(columns, scored):
    """`format_tokens`, raw text's line-by-line writer, gives `format_sentence`'s bytes:
    TokenRange after SpaceAfter=No, a multiword token's items on its range line, its
    words' MISC empty, whatever the token ends with; further MISC items (scores) after
    them on every word's line."""
    from postagger.conllu_io import MultiwordToken, format_tokens
    from postagger.text import Token

    tokens = [
        Token("Hello", ("Hello",), True),
        Token("don't", ("do", "n't"), False),
        Token("gonna", ("gon", "na"), True),
        Token("x", ("x",), False),
        Token(".", (".",), True),
    ]
    spans = [(0, 5), (6, 11), (12, 17), (18, 19), (19, 20)]
    words = [w for t in tokens for w in t.words]
    tags = {c: [f"{c}{i}" for i in range(len(words))] for c in columns}
    scores = [
        {"UPOSProb": f"0.{i}", "UPOSTop": f"A:0.{i},B:0.0"} if scored else {} for i in range(len(words))
    ]
    space_after, multiword, misc, position = [], [], [dict(items) for items in scores], 1
    for token, (start, end) in zip(tokens, spans):  # as Writer._new_conllu does with scores
        n, ranged = len(token.words), {"TokenRange": f"{start}:{end}"}
        if n > 1:
            multiword.append(
                MultiwordToken(position, position + n - 1, token.form, token.space_after, ranged)
            )
        else:
            misc[position - 1] = {**ranged, **misc[position - 1]}
        space_after.extend([True] * (n - 1) + [token.space_after])
        position += n
    comments = ["sent_id = 3", "text = Hello don't gonna x."]
    general = format_sentence(
        words, tags, space_after=space_after, multiword=multiword, comments=comments, misc=misc
    )
    assert format_tokens(tokens, spans, tags, comments, scores if scored else None) == general
    assert "SpaceAfter=No|TokenRange=6:11" in general and "\tTokenRange=12:17\n" in general
    assert ("TokenRange=0:5|UPOSProb=0.0|UPOSTop=A:0.0,B:0.0\n" in general) == scored


def test_output_is_valid_for_the_conllu_library():
    import conllu

    text = format_sentence(["Hi", "!"], {"upos": ["INTJ", "PUNCT"]}, space_after=[False, True])
    [parsed] = conllu.parse(text)
    assert [t["upos"] for t in parsed] == ["INTJ", "PUNCT"]
    assert parsed[0]["misc"] == {"SpaceAfter": "No"}


def test_sample_treebank_reads_like_the_conllu_library():
    import conllu

    ours = list(read_treebank([TRAIN]))
    theirs = conllu.parse(TRAIN.read_text(encoding="utf-8"))
    assert len(ours) == len(theirs) == 150
    for a, b in zip(ours, theirs):
        assert a.forms == [t["form"] for t in b if isinstance(t["id"], int)]
