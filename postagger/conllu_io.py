"""Reading and writing CoNLL-U.

Sentences keep their raw lines, so that filling one column writes every other byte of the
input back unchanged (comments, other columns, multiword-token and empty-node lines, CRLF
line endings). Reading is streaming and strict: a malformed line raises a
`PostaggerError` naming the file and line.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from conllu.parser import parse_dict_value

from postagger.errors import PostaggerError

if TYPE_CHECKING:  # text.py imports this module
    from postagger.text import Token

COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")

_RANGE_ID = re.compile(r"([1-9][0-9]*)-([1-9][0-9]*)")
_EMPTY_ID = re.compile(r"(0|[1-9][0-9]*)\.[1-9][0-9]*")

STDIN_NAME = "<stdin>"


@dataclass(slots=True)
class Word:
    """A syntactic word (a line with an integer id)."""

    line_index: int  # index of its line in `Sentence.lines`
    form: str
    fields: list[str]

    def column(self, name: str) -> str:
        return self.fields[COLUMNS.index(name)]

    @property
    def space_after(self) -> bool:
        misc = parse_dict_value(self.fields[9]) or {}
        return misc.get("SpaceAfter") != "No"


@dataclass
class MultiwordToken:
    """A surface token spanning syntactic words `first`..`last` (1-based ids)."""

    first: int
    last: int
    form: str
    space_after: bool
    misc: dict[str, str] = field(default_factory=dict)  # MISC items to write on its line


@dataclass
class SurfaceToken:
    """A token as written: one word, or a multiword token and its words."""

    form: str
    words: list[Word]
    space_after: bool


@dataclass
class Sentence:
    """One sentence block: its raw lines (with their line endings) and its words."""

    lines: list[str]
    words: list[Word] = field(default_factory=list)
    multiword: list[MultiwordToken] = field(default_factory=list)
    source: str = ""
    first_line: int = 1

    @property
    def forms(self) -> list[str]:
        return [w.form for w in self.words]

    def tokens(self) -> list[SurfaceToken]:
        """The surface tokens, in order: multiword tokens with their words, other words alone."""
        ranges = {m.first: m for m in self.multiword}
        tokens = []
        i = 1
        while i <= len(self.words):
            if i in ranges:
                m = ranges[i]
                tokens.append(SurfaceToken(m.form, self.words[m.first - 1 : m.last], m.space_after))
                i = m.last + 1
            else:
                word = self.words[i - 1]
                tokens.append(SurfaceToken(word.form, [word], word.space_after))
                i += 1
        return tokens

    def comments(self) -> Iterator[tuple[str, str]]:
        """(name, value) of each comment line: `# text = Hi` gives ("text", "Hi"), `# newpar
        id = p1` ("newpar id", "p1"), a bare `# newpar` ("newpar", "")."""
        for line in self.lines:
            text = line.strip().removeprefix("\ufeff")
            if text.startswith("#"):
                name, _, value = text[1:].partition("=")
                yield name.strip(), value.strip()

    def comment(self, name: str) -> str | None:
        """The value of the comment `# name = value` ("" for a bare `# name`), or None."""
        return next((value for key, value in self.comments() if key == name), None)

    @property
    def text(self) -> str:
        """The sentence's text: its `# text` comment, or its tokens joined as SpaceAfter says."""
        text = self.comment("text")
        if text is None:
            text = "".join(t.form + (" " if t.space_after else "") for t in self.tokens()).strip()
        return text

    @property
    def starts_paragraph(self) -> bool:
        """Whether a `# newpar` or `# newdoc` comment (with an id or without) opens the sentence."""
        return self._opened_by("newpar", "newdoc")

    @property
    def starts_document(self) -> bool:
        """Whether a `# newdoc` comment (with an id or without) opens the sentence."""
        return self._opened_by("newdoc")

    def _opened_by(self, *kinds: str) -> bool:
        return any(name.split(" ")[0] in kinds for name, _ in self.comments())

    def tags(self, column: str) -> list[str]:
        return [w.column(column) for w in self.words]

    def with_columns(
        self, columns: dict[str, list[str]], misc: list[dict[str, str]] | None = None
    ) -> list[str]:
        """The raw lines with each named column of each word replaced by the given values,
        and `misc` items (name → value, per word) merged into the MISC column; all else
        unchanged."""
        for values in columns.values():
            if len(values) != len(self.words):
                raise ValueError(f"{len(values)} values for {len(self.words)} words")
        lines = list(self.lines)
        rows = [w.fields.copy() for w in self.words]  # the fields read from each word's line
        if self.words and self.words[0].line_index == 0 and lines[0][0] == "\ufeff":
            rows[0] = lines[0].rstrip("\r\n").split("\t")  # the file's first line: its BOM kept
        for name, values in columns.items():
            col = COLUMNS.index(name)
            for parts, value in zip(rows, values):
                parts[col] = value
        if misc is not None:
            for parts, items in zip(rows, misc):
                parts[9] = merge_misc(parts[9], items)
        for word, parts in zip(self.words, rows):
            raw = lines[word.line_index]
            ending = "\n" if raw[-1] == "\n" and raw[-2:-1] != "\r" else raw[len(raw.rstrip("\r\n")) :]
            lines[word.line_index] = "\t".join(parts) + ending
        return lines


def merge_misc(misc: str, items: dict[str, str]) -> str:
    """MISC with `items` set: existing items of the same names are replaced, others kept."""
    if misc == "_":  # the common case: only the new items
        return "|".join([f"{name}={value}" for name, value in items.items()]) or "_"
    kept = [m for m in misc.split("|") if m.split("=", 1)[0] not in items]
    merged = kept + [f"{name}={value}" for name, value in items.items()]
    return "|".join(merged) if merged else "_"


def open_binary(path: str | Path) -> BinaryIO:
    """Open a file (or stdin for '-') for reading bytes, with clear errors."""
    if str(path) == "-":
        return sys.stdin.buffer
    p = Path(path)
    if p.is_dir():
        raise PostaggerError("is a directory, expected a file", p)
    try:
        return p.open("rb")
    except FileNotFoundError:
        raise PostaggerError("no such file", p) from None
    except PermissionError:
        raise PostaggerError("permission denied", p) from None
    except OSError as err:
        raise PostaggerError(f"cannot open: {err.strerror}", p) from None


def display_name(path: str | Path) -> str:
    return STDIN_NAME if str(path) == "-" else str(path)


#: a block of input holds about this many sentences (CoNLL-U, raw text) or lines (tokens)
BLOCK_UNITS = 2048


@dataclass
class Block:
    """Consecutive whole lines of an input file, as bytes: the unit in which files are read,
    parsed and tagged (by worker processes with `tag --jobs`), so that memory is bounded
    and only bytes and text cross between processes."""

    data: bytes
    source: str  # the file's name for messages ("<stdin>" for stdin)
    first_line: int  # number of the block's first line in the file
    first_char: int = 0  # characters before the block in the file (a leading BOM left out)

    def text(self) -> str:
        """The block decoded from UTF-8; a NUL byte or invalid UTF-8 raises a
        `PostaggerError` naming the file and line, as reading line by line would."""
        data = self.data
        try:
            text = data.decode("utf-8")
            bad = None
        except UnicodeDecodeError as err:
            text, bad = "", err.start
        # a NUL byte on a line before the bad byte's (or on the same line) is reported first
        end = -1 if bad is None else data.find(b"\n", bad)
        nul = data.find(b"\0", 0, len(data) if end < 0 else end)
        if nul >= 0:
            raise PostaggerError("contains a NUL byte (binary file?)", self.source, self._line_at(nul))
        if bad is not None:
            column = bad - data.rfind(b"\n", 0, bad)
            raise PostaggerError(
                f"not valid UTF-8 (byte 0x{data[bad]:02x} at column {column}); "
                "convert the file to UTF-8, e.g. with iconv",
                self.source,
                self._line_at(bad),
            )
        return text

    def lines(self) -> list[str]:
        """The decoded lines with their endings (split at "\\n" only, as files are read)."""
        lines = self.text().split("\n")
        last = lines.pop()
        lines = [line + "\n" for line in lines]
        if last:  # the file's last line, without a line ending
            lines.append(last)
        return lines

    def _line_at(self, offset: int) -> int:
        return self.first_line + self.data.count(b"\n", 0, offset)


def read_blocks(
    path: str | Path,
    units: int | None = None,
    per_line: bool = False,
    max_lines: int | None = None,
    count_chars: bool = False,
) -> Iterator[Block]:
    """Stream a file ('-' for stdin) as blocks of whole lines. A block ends after a blank
    line once it holds `units` (default `BLOCK_UNITS`) blank lines (sentence or paragraph
    ends), or with `per_line` after `units` lines; with `max_lines`, also after that many
    lines without a blank one; and at the end of the file. With `count_chars`, each block
    knows how many characters come before it (`Block.first_char`)."""
    name = display_name(path)
    stream = open_binary(path)
    first, chars = 1, 0
    units, longest = units or BLOCK_UNITS, max_lines or sys.maxsize
    if stream is sys.stdin.buffer and is_live(stream):
        groups = _line_groups(_live_lines(stream), units, per_line, longest)
    elif per_line:  # whole slices: the common case of big files, without a loop per line
        groups = iter(lambda: list(itertools.islice(stream, units)), [])
    else:
        groups = _line_groups(stream, units, per_line, longest)
    try:
        for lines in groups:
            block = Block(b"".join(lines), name, first, chars)
            yield block
            first += len(lines)
            if count_chars:  # invalid UTF-8 is reported where the block is decoded
                text = block.data.decode("utf-8", "replace")
                chars += len(text) - (block.first_line == 1 and text.startswith("\ufeff"))
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _line_groups(
    lines: Iterable[bytes | None], units: int, per_line: bool, longest: int
) -> Iterator[list[bytes]]:
    """The lines of each block (see `read_blocks`). None among `lines` means that a live
    stream has no more input waiting: the block then ends at once if it ends with a whole
    line (`per_line`) or paragraph, so that what has come is tagged."""
    group: list[bytes] = []
    ends = since_blank = 0
    for raw in lines:
        if raw is None:
            done = bool(group) and (per_line or since_blank == 0)
        else:
            group.append(raw)
            since_blank += 1
            if raw.isspace():  # ASCII white space only: a subset of the blank lines
                ends += 1
                since_blank = 0
            done = (
                len(group) >= units
                if per_line
                else ends >= units and since_blank == 0 or since_blank >= longest
            )
        if done:
            yield group
            group, ends, since_blank = [], 0, 0
    if group:
        yield group


def is_live(stream: BinaryIO) -> bool:
    """Whether a stream is a pipe or a terminal (data may come a line at a time, as from
    `tail -f`), as opposed to a regular file; False where `select` cannot wait on it."""
    if sys.platform == "win32":
        return False
    try:
        return not stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, io.UnsupportedOperation):  # no descriptor (a test's stdin)
        return False


def _live_lines(stream: BinaryIO) -> Iterator[bytes | None]:
    """The lines of a pipe or terminal as they come, and None whenever no more input is
    waiting (`_line_groups` then ends its block). Reads the descriptor itself: the buffered
    reader would wait to fill its buffer."""
    import select

    fd = stream.fileno()
    pending = b""
    while chunk := os.read(fd, 1 << 16):
        *complete, pending = (pending + chunk).split(b"\n")
        for raw in complete:
            yield raw + b"\n"
        if not select.select([fd], [], [], 0)[0]:
            yield None
    if pending:
        yield pending


def read_conllu(path: str | Path) -> Iterator[Sentence]:
    """Stream the sentences of a CoNLL-U file ('-' for stdin), validating as it goes.

    A block of comments with no word lines (e.g. a trailing comment) is yielded as a
    sentence without words, so that writing all sentences back reproduces the input.
    """
    for block in read_blocks(path):
        yield from parse_conllu(block)


def parse_conllu(block: Block) -> list[Sentence]:
    """The sentences of a block of CoNLL-U lines (see `read_conllu`). A block that does not
    end with a blank line ends with a sentence all the same (the end of a file)."""
    name, number = block.source, block.first_line
    lines = block.lines()
    sentences = []
    builder = _SentenceBuilder(name, number)
    if number == 1 and lines and lines[0].startswith("\ufeff"):
        first = lines[0]
        rest = first[1:].rstrip("\r\n")
        if not rest or rest.isspace():  # a BOM alone on the first line: a blank line
            builder.lines.append(first)
            sentences.append(builder.finish())
            builder = _SentenceBuilder(name, 2)
        else:
            builder.add(1, first, rest)
        lines = lines[1:]
        number = 2
    raw, words = builder.lines, builder.words
    for number, line in enumerate(lines, number):  # noqa: B020 (the first line's number)
        if line[0] == "#":
            raw.append(line)
        elif line.isspace():  # blank (white space only) ends the sentence
            raw.append(line)
            sentences.append(builder.finish())
            builder = _SentenceBuilder(name, number + 1)
            raw, words = builder.lines, builder.words
        else:
            fields = line.rstrip("\r\n").split("\t")
            # the next word, as almost every line is (else `add` checks and explains)
            if len(fields) == 10 and fields[0] == str(len(words) + 1) and fields[1]:
                words.append(Word(len(raw), fields[1], fields))
                raw.append(line)
            else:
                builder.add(number, line, line.rstrip("\r\n"))
    if builder.lines:
        sentences.append(builder.finish())
    return sentences


class _SentenceBuilder:
    def __init__(self, name: str, first_line: int = 1):
        self.name = name
        self.first_line = first_line
        self.lines: list[str] = []
        self.words: list[Word] = []
        self.multiword: list[MultiwordToken] = []
        self.range_end = 0
        self.range_line: int | None = None

    def add(self, number: int, line: str, text: str) -> None:
        """A line that is not blank (`text`: without its line ending)."""
        self.lines.append(line)
        if text.startswith("#"):
            return
        fields = text.split("\t")
        if len(fields) != 10:
            hint = ""
            if len(fields) == 1 and " " in text:
                hint = " (columns must be separated by tabs, not spaces)"
            raise PostaggerError(
                f"expected 10 tab-separated columns, found {len(fields)}{hint}", self.name, number
            )
        token_id, form = fields[0], fields[1]
        if form == "":
            raise PostaggerError("empty FORM column", self.name, number)
        expected = len(self.words) + 1
        if token_id == str(expected):  # the next word, as almost every line is
            self.words.append(Word(len(self.lines) - 1, form, fields))
        elif token_id.isascii() and token_id.isdigit() and token_id[0] != "0":  # another word id
            message = f"word id {token_id} out of sequence (expected {expected})"
            raise PostaggerError(message, self.name, number)
        elif match := _RANGE_ID.fullmatch(token_id):
            first, last = int(match[1]), int(match[2])
            if first != expected or last <= first or self.range_end >= first:
                raise PostaggerError(
                    f"multiword range {token_id} must start at the next word id ({expected}), "
                    "span at least two words and not overlap another range",
                    self.name,
                    number,
                )
            misc = parse_dict_value(fields[9]) or {}
            self.multiword.append(MultiwordToken(first, last, form, misc.get("SpaceAfter") != "No"))
            self.range_end = max(self.range_end, last)
            self.range_line = number
        elif _EMPTY_ID.fullmatch(token_id):
            if int(token_id.split(".")[0]) != expected - 1:
                raise PostaggerError(
                    f"empty node {token_id} out of sequence (after word {expected - 1})",
                    self.name,
                    number,
                )
        else:
            raise PostaggerError(
                f"invalid ID {token_id!r} (expected an integer, a range like 1-2, or an empty node like 1.1)",
                self.name,
                number,
            )

    def finish(self) -> Sentence:
        if self.range_end > len(self.words):
            raise PostaggerError(
                f"multiword range ends at word {self.range_end} but the sentence has {len(self.words)} words",
                self.name,
                self.range_line,
            )
        return Sentence(self.lines, self.words, self.multiword, self.name, self.first_line)


def read_treebank(paths: Iterable[str | Path]) -> Iterator[Sentence]:
    """The sentences with at least one word, from several CoNLL-U files in turn."""
    for path in paths:
        for sentence in read_conllu(path):
            if sentence.words:
                yield sentence


def is_missing(column: str, tag: str) -> bool:
    """Whether a word has no value in a column: '_' is a missing UPOS or XPOS tag, but in
    FEATS it means "no features"."""
    return tag == "" or (tag == "_" and column != "feats")


@dataclass
class ColumnGaps:
    """Words of a treebank without a value in one column, and where the first one is."""

    column: str
    missing: int = 0
    words: int = 0
    first: tuple[str | None, int] | None = None  # (file, line)


def column_gaps(sentences: Iterable[Sentence], columns: Sequence[str]) -> dict[str, ColumnGaps]:
    """For each column, how many words have no value in it ('_': a word left untagged, as
    in a few treebanks); a column missing for at least half of the words is refused, naming
    the first such word: there is too little to learn it from."""
    gaps = {column: ColumnGaps(column) for column in columns}
    for sentence in sentences:
        for column, gap in gaps.items():
            tags = sentence.tags(column)
            gap.words += len(tags)
            for word, tag in zip(sentence.words, tags):
                if is_missing(column, tag):
                    gap.missing += 1
                    if gap.first is None:
                        gap.first = (sentence.source, sentence.first_line + word.line_index)
    for gap in gaps.values():
        if gap.missing and 2 * gap.missing >= gap.words:
            raise PostaggerError(
                f"{gap.column.upper()} is missing ('_') for {gap.missing:,} of {gap.words:,} words, "
                f"this one the first: too few tags to learn; leave {gap.column} out of --columns",
                *gap.first,
            )
    return gaps


def split_feats(feats: str) -> dict[str, str]:
    """FEATS as a {feature: value} dict ({} for '_'); a multi-value value stays one string."""
    if feats in ("_", ""):
        return {}
    return dict(item.split("=", 1) if "=" in item else (item, "") for item in feats.split("|"))


def join_feats(feats: dict[str, str]) -> str:
    """The FEATS string of a {feature: value} dict, features in UD order (alphabetical,
    case-insensitive); '_' when empty."""
    items = sorted(feats.items(), key=lambda item: (item[0].lower(), item[0]))
    return "|".join(f"{name}={value}" for name, value in items) or "_"


def format_tokens(
    tokens: list[Token],
    spans: list[tuple[int, int]],
    columns: dict[str, list[str]],
    comments: list[str],
    misc: list[dict[str, str]] | None = None,
) -> str:
    """What `format_sentence` writes for raw text's tokens (a form, its words, whether a
    space follows) at their character spans: each token's line gets `TokenRange=start:end`
    (after `SpaceAfter=No`), a multiword token's on its range line; `misc` adds MISC items
    (name → value) per word after them. Line by line, in one pass."""
    n = sum(len(token.words) for token in tokens)
    middle: list = [["_"] * n for _ in range(7)]  # LEMMA to DEPS
    for name, values in columns.items():
        middle[COLUMNS.index(name) - 2] = values
    fields = list(map("\t".join, zip(*middle)))
    extra = [""] * n if misc is None else ["|".join(f"{k}={v}" for k, v in items.items()) for items in misc]
    out = [f"# {c}\n" for c in comments]
    i = 0
    for token, (start, end) in zip(tokens, spans):
        ranged = (
            f"TokenRange={start}:{end}" if token.space_after else f"SpaceAfter=No|TokenRange={start}:{end}"
        )
        words = token.words
        if len(words) == 1:
            out.append(f"{i + 1}\t{words[0]}\t{fields[i]}\t{ranged}{'|' if extra[i] else ''}{extra[i]}\n")
            i += 1
            continue
        out.append(f"{i + 1}-{i + len(words)}\t{token.form}\t_\t_\t_\t_\t_\t_\t_\t{ranged}\n")
        for word in words:
            out.append(f"{i + 1}\t{word}\t{fields[i]}\t{extra[i] or '_'}\n")
            i += 1
    out.append("\n")
    return "".join(out)


def format_sentence(
    words: list[str],
    columns: dict[str, list[str]],
    *,
    space_after: list[bool] | None = None,
    multiword: list[MultiwordToken] | None = None,
    comments: list[str] | None = None,
    misc: list[dict[str, str]] | None = None,
) -> str:
    """A new CoNLL-U block (ending with its blank line) for tagged words, `columns` naming
    the tags of each filled column (e.g. {"upos": [...]}); `misc` adds MISC items
    (name → value) per word."""
    out = [f"# {c}\n" for c in comments or []]
    ranges = {m.first: m for m in multiword or []}
    inside_range_until = 0
    rows = [[str(i), form, "_", "_", "_", "_", "_", "_", "_", "_"] for i, form in enumerate(words, 1)]
    for name, values in columns.items():  # column by column: one loop each, not one per word
        col = COLUMNS.index(name)
        for fields, value in zip(rows, values):
            fields[col] = value
    for i, fields in enumerate(rows, 1):
        if i in ranges:
            m = ranges[i]
            range_misc = merge_misc("_" if m.space_after else "SpaceAfter=No", m.misc)
            out.append(f"{m.first}-{m.last}\t{m.form}\t_\t_\t_\t_\t_\t_\t_\t{range_misc}\n")
            inside_range_until = m.last
        if space_after is not None and not space_after[i - 1] and i > inside_range_until:
            fields[9] = "SpaceAfter=No"
        if misc is not None and misc[i - 1]:
            fields[9] = merge_misc(fields[9], misc[i - 1])
        fields[9] += "\n"
        out.append("\t".join(fields))
    out.append("\n")
    return "".join(out)
