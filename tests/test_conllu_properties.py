"""Property tests: any valid CoNLL-U survives reading and column filling byte for byte."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from postagger.conllu_io import read_conllu

# any Unicode except what CoNLL-U reserves (tab, line breaks) and surrogates; no spaces at the edges
field = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Zl", "Zp", "Cc"), blacklist_characters="\t\n\r\x0b\x0c\x85"
    ),
    min_size=1,
    max_size=8,
).filter(lambda s: s.strip() == s and s.strip() != "")


@st.composite
def sentence(draw):
    """Comments, then words 1..n, some grouped under multiword ranges, some followed by empty nodes."""
    n = draw(st.integers(1, 8))
    lines = [f"# {draw(field)}" for _ in range(draw(st.integers(0, 2)))]
    i = 1
    while i <= n:
        span = draw(st.integers(1, min(3, n - i + 1)))
        if span > 1:
            lines.append("\t".join([f"{i}-{i + span - 1}", draw(field)] + ["_"] * 8))
        for j in range(i, i + span):
            cols = [
                str(j),
                draw(field),
                draw(field),
                draw(field),
                draw(field),
                "_",
                "0",
                "dep",
                "_",
                draw(field),
            ]
            lines.append("\t".join(cols))
            if draw(st.integers(0, 5)) == 0:
                lines.append("\t".join([f"{j}.1", draw(field)] + ["_"] * 8))
        i += span
    return lines


@st.composite
def document(draw):
    sentences = draw(st.lists(sentence(), min_size=1, max_size=4))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    return "".join(ending.join(s) + ending + ending for s in sentences)


def assert_only_upos_differs(before: str, after: str) -> list[str]:
    """Every line equal except the UPOS column of word lines; returns the new UPOS values."""
    before_lines, after_lines = before.split("\n"), after.split("\n")
    assert len(before_lines) == len(after_lines)
    tags = []
    for b, a in zip(before_lines, after_lines):
        bf, af = b.split("\t"), a.split("\t")
        if len(bf) == 10 and bf[0].isdigit():
            assert bf[:3] + bf[4:] == af[:3] + af[4:]
            tags.append(af[3])
        else:
            assert a == b
    return tags


def sentences_of(text: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.conllu"
        path.write_bytes(text.encode("utf-8"))
        return list(read_conllu(path))


@settings(max_examples=150, deadline=None)
@given(document())
def test_reading_then_writing_is_the_identity(text):
    assert "".join(line for s in sentences_of(text) for line in s.lines) == text


@settings(max_examples=150, deadline=None)
@given(document(), st.data())
def test_filling_upos_changes_nothing_else(text, data):
    out = io.StringIO()
    for s in sentences_of(text):
        tags = [data.draw(st.sampled_from(["NOUN", "VERB", "X"])) for _ in s.words]
        out.write("".join(s.with_columns({"upos": tags})))
    assert_only_upos_differs(text, out.getvalue())


@settings(max_examples=40, deadline=None)
@given(document())
def test_tag_conllu_changes_nothing_but_upos(tiny_tagger, text):
    from postagger.formats import InputFormat, OutputFormat, Writer, read_items

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.conllu"
        path.write_bytes(text.encode("utf-8"))
        out = io.StringIO(newline="")
        writer = Writer(out, OutputFormat.conllu)
        items = read_items(path, InputFormat.conllu, tiny_tagger.tokenizer)
        for item, tagged in tiny_tagger.tag_stream(items, words=lambda it: it.words):
            writer.write(item, tagged)
    new_tags = assert_only_upos_differs(text, out.getvalue())
    assert set(new_tags) <= set(tiny_tagger.info.vocab.tags.items[1:])
