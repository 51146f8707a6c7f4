"""Input and output formats of `postagger tag`.

Inputs: `text` (raw text, split into sentences of tokens by the model's segmenter, or its
rules), `lines` (raw text, one sentence a line), `tokens` (one pre-tokenized sentence per
line, tokens separated by white space), `conllu` (tags filled in place).
Outputs: `conllu`, `tsv` (word<TAB>tag, blank line between sentences), `inline`
(word/tag ... one sentence per line), `jsonl` (one JSON object per sentence).
"""

from __future__ import annotations

import enum
import json
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from postagger.conllu_io import (
    Block,
    Sentence,
    format_sentence,
    format_tokens,
    parse_conllu,
    read_blocks,
)
from postagger.text import Token, token_ends

if TYPE_CHECKING:  # decoding imports NumPy, which the CLI must not import before `tag` runs
    from postagger.decoding import TaggedSentence
    from postagger.segmentation import Segmenter
    from postagger.text import Tokenizer

    Splitter = Segmenter | Tokenizer  # what splits raw text: `paragraph_sentences(paragraphs)`


class InputFormat(str, enum.Enum):
    text = "text"
    lines = "lines"
    tokens = "tokens"
    conllu = "conllu"


class OutputFormat(str, enum.Enum):
    conllu = "conllu"
    tsv = "tsv"
    inline = "inline"
    jsonl = "jsonl"


def guess_input_format(path: str | Path) -> InputFormat:
    """By file extension: .conllu (or .conll) is CoNLL-U, anything else (and stdin) raw text."""
    return InputFormat.conllu if str(path).lower().endswith((".conllu", ".conll")) else InputFormat.text


@dataclass
class Item:
    """One unit of tagging input; `words` are what the model tags."""

    words: list[str]
    sentence: Sentence | None = None  # conllu input: written back in place
    tokens: list[Token] | None = None  # text input: surface tokens (multiword tokens)
    text: str | None = None
    # text input: each token's characters in the input, start and end one after another
    # (an array of machine integers: a block may hold hundreds of thousands of tokens)
    spans: array | None = None

    def token_spans(self) -> list[tuple[int, int]]:
        """(start, end) of each token in the input."""
        flat = self.spans.tolist()
        return list(zip(flat[::2], flat[1::2]))

    def word_spans(self) -> list[tuple[int, int]]:
        """Each word's token's span (the words of a multiword token share it)."""
        return [span for token, span in zip(self.tokens, self.token_spans()) for _ in token.words]


#: raw text: a paragraph longer than this many lines is cut at a line end, so that a file
#: without blank lines is read in pieces of about a block's size (2,048 paragraphs)
MAX_PARAGRAPH_LINES = 8192
#: raw text: a longer sentence is cut into pieces of at most this many tokens (text without
#: sentence punctuation, lists), so that tagging time and memory stay bounded
MAX_SENTENCE_TOKENS = 250


def read_items(path: str | Path, fmt: InputFormat, tokenizer: Splitter) -> Iterator[Item]:
    for block in read_input_blocks(path, fmt):
        yield from block_items(block, fmt, tokenizer)


def read_input_blocks(path: str | Path, fmt: InputFormat) -> Iterator[Block]:
    """A file in blocks that each hold whole items of the format (see `block_items`)."""
    if fmt is InputFormat.conllu:
        return read_blocks(path)
    if fmt is InputFormat.tokens:
        return read_blocks(path, per_line=True)
    if fmt is InputFormat.lines:
        return read_blocks(path, per_line=True, count_chars=True)
    return read_blocks(path, max_lines=MAX_PARAGRAPH_LINES, count_chars=True)


def block_items(block: Block, fmt: InputFormat, tokenizer: Splitter) -> list[Item]:
    """The items of a block: CoNLL-U sentences, lines of tokens, or the sentences the
    tokenizer finds in each paragraph of raw text (blank lines end paragraphs; with `lines`,
    each line is a sentence)."""
    if fmt is InputFormat.conllu:
        return [Item(sentence.forms, sentence=sentence) for sentence in parse_conllu(block)]
    lines = block.lines()
    if block.first_line == 1 and lines:
        lines[0] = lines[0].removeprefix("\ufeff")
    if fmt is InputFormat.tokens:
        return [Item(line.split(), text=" ".join(line.split())) for line in lines]
    units = list(_lines(lines) if fmt is InputFormat.lines else _paragraphs(lines))
    found = tokenizer.paragraph_sentences([text for text, _ in units])
    items = []
    for (text, start), sentences in zip(units, found):
        if fmt is InputFormat.lines:
            sentences = [[token for sentence in sentences for token in sentence]]
        ends = iter(token_ends(text, [token.form for sentence in sentences for token in sentence]))
        start += block.first_char
        for tokens in _bounded(sentences):
            spans = array(
                "q", [x for t, end in zip(tokens, ends) for x in (start + end - len(t.form), start + end)]
            )
            words = [w for t in tokens for w in t.words]
            joined = "".join(t.form + (" " if t.space_after else "") for t in tokens).strip()
            items.append(Item(words, tokens=tokens, text=joined, spans=spans))
    return items


def _bounded(sentences: list[list[Token]]) -> Iterator[list[Token]]:
    """The sentences, those longer than `MAX_SENTENCE_TOKENS` cut into pieces."""
    for tokens in sentences:
        for start in range(0, len(tokens), MAX_SENTENCE_TOKENS):
            yield tokens[start : start + MAX_SENTENCE_TOKENS]


def _paragraphs(lines: list[str]) -> Iterator[tuple[str, int]]:
    """Blank-line separated blocks of lines, with where each starts in the lines' text."""
    paragraph: list[str] = []
    at = start = 0
    for line in lines:
        if line.strip():
            if not paragraph:
                start = at
            paragraph.append(line)
        elif paragraph:
            yield "".join(paragraph), start
            paragraph = []
        at += len(line)
    if paragraph:
        yield "".join(paragraph), start


def _lines(lines: list[str]) -> Iterator[tuple[str, int]]:
    """The lines that are not blank, without their ends, with where each starts."""
    at = 0
    for line in lines:
        if line.strip():
            yield line.rstrip("\r\n"), at
        at += len(line)


class Writer:
    """Writes tagged items in one output format, numbering new CoNLL-U sentences.

    Tags come as a `TaggedSentence` (a dict column → tags): CoNLL-U fills every column, tsv has a column each
    after the word (in the model's order), jsonl has `tags` (the first column's) and a field
    per further column ("xpos", "feats"), inline writes word/tag with the first column.

    With scores (each word's best (tag, probability) pairs, best first) the probability of
    the chosen tag (of the first column) is written too, and with more than one pair per word
    the alternatives:
    CoNLL-U MISC items `UPOSProb=0.9731` and `UPOSTop=NOUN:0.6120,PROPN:0.3011` (merged with
    what MISC holds), tsv columns, jsonl fields `probs` and `top`.
    """

    def __init__(
        self,
        stream: TextIO,
        fmt: OutputFormat,
        columns: list[str] | tuple[str, ...] = ("upos",),
        sent_ids: bool = True,
    ):
        """Without `sent_ids`, new CoNLL-U sentences get no "# sent_id" line: the caller
        numbers them (each is one `stream.write`), as a block tagged by a worker process
        cannot know how many sentences came before it."""
        self.stream, self.fmt, self.columns = stream, fmt, list(columns)
        self.column = self.columns[0]
        self.sent_ids = sent_ids
        self.count = 0

    def write(self, item: Item, tagged: TaggedSentence) -> None:
        fmt, out = self.fmt, self.stream
        columns, scores = tagged.tags, tagged.scores
        tags = columns[self.column]
        if fmt is OutputFormat.conllu:
            misc = self._misc(scores)
            if item.sentence is not None:
                out.write("".join(item.sentence.with_columns(columns, misc)))
            elif item.words:
                self.count += 1
                out.write(self._new_conllu(item, columns, misc))
        elif item.sentence is not None and not item.words:
            return  # a comment-only CoNLL-U block has nothing to write in other formats
        elif fmt is OutputFormat.tsv:
            if item.words:
                rows = [[w, *ts] for w, *ts in zip(item.words, *(columns[c] for c in self.columns))]
                for row, best in zip(rows, scores or []):
                    row.append(f"{best[0][1]:.4f}")
                    if len(best) > 1:
                        row.append(",".join(f"{t}:{p:.4f}" for t, p in best))
                out.write("".join("\t".join(row) + "\n" for row in rows) + "\n")
        elif fmt is OutputFormat.inline:
            out.write(" ".join(f"{w}/{t}" for w, t in zip(item.words, tags)) + "\n")
        else:
            record = {"words": item.words, "tags": tags}
            record.update({c: columns[c] for c in self.columns[1:]})
            if scores is not None:
                record["probs"] = [round(best[0][1], 6) for best in scores]
                if any(len(best) > 1 for best in scores):
                    record["top"] = [[[t, round(p, 6)] for t, p in best] for best in scores]
            if item.text is not None:
                record["text"] = item.text
            if item.spans is not None:
                spans = item.word_spans()
                record["start"], record["end"] = [s for s, _ in spans], [e for _, e in spans]
            if item.sentence is not None:
                record.update(_sentence_id(item.sentence))
            out.write(json.dumps(record, ensure_ascii=False) + "\n")

    def _misc(self, scores: list | None) -> list[dict[str, str]] | None:
        if scores is None:
            return None
        name = self.column.upper()
        misc = []
        for best in scores:
            items = {f"{name}Prob": f"{best[0][1]:.4f}"}
            if len(best) > 1:
                items[f"{name}Top"] = ",".join(f"{t}:{p:.4f}" for t, p in best)
            misc.append(items)
        return misc

    def _new_conllu(self, item: Item, columns: dict[str, list[str]], misc: list | None) -> str:
        comments = [f"sent_id = {self.count}"] if self.sent_ids else []
        comments.append(f"text = {item.text}")
        if item.tokens is None:
            return format_sentence(item.words, columns, comments=comments, misc=misc)
        return format_tokens(item.tokens, item.token_spans(), columns, comments, misc)


def _sentence_id(sentence: Sentence) -> dict:
    sent_id = sentence.comment("sent_id")
    return {} if sent_id is None else {"sent_id": sent_id}
