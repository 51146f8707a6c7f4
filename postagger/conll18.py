"""Scoring a system's output against gold when their tokenization may differ, with the
definitions of the CoNLL 2018 shared task (Zeman et al. 2018, "CoNLL 2018 Shared Task:
Multilingual Parsing from Raw Text to Universal Dependencies", section 2.4):

- both files must hold the same text once white space is left out; tokens and sentences
  are character spans of that text, and count as right where the spans are the same;
- words are aligned by span; words of multiword tokens, which share their token's span,
  are aligned inside the stretch of text their tokens cover, by the longest common
  subsequence of their (lower-cased) forms;
- UPOS, XPOS, UFeats (universal features only) and AllTags (all three) count on aligned
  words whose values are the same;
- each metric is an F1: precision over the system's units, recall over the gold's.

Written from those definitions; the shared task's script is not copied.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from postagger.conllu_io import Sentence
from postagger.errors import PostaggerError
from postagger.evaluate import universal_feats

METRICS = ("tokens", "sentences", "words", "upos", "xpos", "ufeats", "alltags")


@dataclass
class Score:
    """Units in the gold file, in the system's, and right in both."""

    gold: int
    system: int
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.system if self.system else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_json(self) -> dict:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, **self.__dict__}


@dataclass
class _Word:
    start: int  # character span in the text without white space (a multiword token's span)
    end: int
    form: str  # lower-cased
    values: tuple[str, str, str]  # UPOS, XPOS, UFeats
    multiword: bool


@dataclass
class _Document:
    """What scoring needs of a file: its text without white space, and spans."""

    chars: list[str] = field(default_factory=list)
    tokens: list[tuple[int, int]] = field(default_factory=list)
    sentences: list[tuple[int, int]] = field(default_factory=list)
    words: list[_Word] = field(default_factory=list)
    places: list[tuple[int, str, int]] = field(default_factory=list)  # (token start, file, line)

    def add(self, sentence: Sentence) -> None:
        first = len(self.chars)
        for token in sentence.tokens():
            start = len(self.chars)
            self.chars.extend(c for c in token.form if unicodedata.category(c) != "Zs")
            end = len(self.chars)
            self.tokens.append((start, end))
            self.places.append((start, sentence.source, sentence.first_line + token.words[0].line_index))
            for word in token.words:
                values = (word.column("upos"), word.column("xpos"), universal_feats(word.column("feats")))
                self.words.append(_Word(start, end, word.form.lower(), values, len(token.words) > 1))
        self.sentences.append((first, len(self.chars)))

    def place(self, offset: int) -> tuple[str, int]:
        """The file and line of the token that holds character `offset` (or the last one)."""
        found = self.places[-1] if self.places else (0, "", 1)
        for start, source, line in self.places:
            if start > offset:
                break
            found = (start, source, line)
        return found[1], found[2]


def _document(sentences: Iterable[Sentence]) -> _Document:
    document = _Document()
    for sentence in sentences:
        document.add(sentence)
    return document


def score(gold: Iterable[Sentence], system: Iterable[Sentence]) -> dict[str, Score]:
    """The scores of every metric (`METRICS`) of a system's sentences against the gold
    ones. Texts that differ (white space aside) raise a `PostaggerError` naming the
    system's file and line where they part."""
    g, s = _document(gold), _document(system)
    _check_same_text(g, s)
    pairs = _align(g.words, s.words)
    result = {
        "tokens": _same_spans(g.tokens, s.tokens),
        "sentences": _same_spans(g.sentences, s.sentences),
        "words": Score(len(g.words), len(s.words), len(pairs)),
    }
    for i, metric in enumerate(("upos", "xpos", "ufeats")):
        result[metric] = Score(len(g.words), len(s.words), sum(a.values[i] == b.values[i] for a, b in pairs))
    result["alltags"] = Score(len(g.words), len(s.words), sum(a.values == b.values for a, b in pairs))
    return result


def _check_same_text(gold: _Document, system: _Document) -> None:
    if gold.chars == system.chars:
        return
    at = next((i for i, (a, b) in enumerate(zip(gold.chars, system.chars)) if a != b), None)
    at = min(len(gold.chars), len(system.chars)) if at is None else at
    source, line = system.place(at)
    gold_source, gold_line = gold.place(at)
    ours, theirs = "".join(system.chars[at : at + 20]), "".join(gold.chars[at : at + 20])
    raise PostaggerError(
        f"the text differs from the gold file's ({gold_source}:{gold_line}) at its character {at + 1} "
        f"(white space left out): {ours!r} against {theirs!r}",
        source or None,
        line,
    )


def _same_spans(gold: list[tuple[int, int]], system: list[tuple[int, int]]) -> Score:
    return Score(len(gold), len(system), len(set(gold) & set(system)))


def _align(gold: list[_Word], system: list[_Word]) -> list[tuple[_Word, _Word]]:
    """Pairs of aligned words: same spans outside multiword tokens, the longest common
    subsequence of forms inside the stretches that multiword tokens cover."""
    pairs = []
    i = j = 0
    while i < len(gold) and j < len(system):
        g, s = gold[i], system[j]
        if g.multiword or s.multiword:
            i, j = _align_stretch(gold, system, i, j, pairs)
        elif (g.start, g.end) == (s.start, s.end):
            pairs.append((g, s))
            i, j = i + 1, j + 1
        else:  # the word that ends first can align with nothing further on
            i, j = i + (g.end <= s.end), j + (s.end <= g.end)
    return pairs


def _align_stretch(gold: list[_Word], system: list[_Word], i: int, j: int, pairs: list) -> tuple[int, int]:
    """Align the words of the stretch of text that the multiword token at gold[i] or
    system[j] opens; returns where the words after it begin."""
    g, s = gold[i], system[j]
    # a plain word that starts before the multiword token belongs to no stretch
    if not s.multiword and s.start < g.start:
        return i, j + 1
    if not g.multiword and g.start < s.start:
        return i + 1, j
    end = max(w.end for w in (g, s) if w.multiword)
    i_end, j_end = i, j
    while True:  # take in the words that start inside; multiword tokens lengthen the stretch
        i_next, end = _reach(gold, i_end, end)
        j_next, end = _reach(system, j_end, end)
        if (i_next, j_next) == (i_end, j_end):
            break
        i_end, j_end = i_next, j_next
    pairs.extend(_common_subsequence(gold[i:i_end], system[j:j_end]))
    return i_end, j_end


def _reach(words: list[_Word], at: int, end: int) -> tuple[int, int]:
    """Past the words from `at` that start before `end`, and `end` lengthened by the
    multiword tokens among them."""
    while at < len(words) and words[at].start < end:
        if words[at].multiword:
            end = max(end, words[at].end)
        at += 1
    return at, end


def _common_subsequence(gold: list[_Word], system: list[_Word]) -> list[tuple[_Word, _Word]]:
    """The pairs of a longest common subsequence of the two lists' forms."""
    n, m = len(gold), len(system)
    longest = [[0] * (m + 1) for _ in range(n + 1)]  # longest[a][b]: of gold[a:] and system[b:]
    for a in range(n - 1, -1, -1):
        for b in range(m - 1, -1, -1):
            if gold[a].form == system[b].form:
                longest[a][b] = 1 + longest[a + 1][b + 1]
            else:
                longest[a][b] = max(longest[a + 1][b], longest[a][b + 1])
    pairs, a, b = [], 0, 0
    while a < n and b < m:
        if gold[a].form == system[b].form:
            pairs.append((gold[a], system[b]))
            a, b = a + 1, b + 1
        elif longest[a + 1][b] >= longest[a][b + 1]:
            a += 1
        else:
            b += 1
    return pairs


def raw_text(sentences: Iterable[Sentence]) -> str:
    """A treebank's text as the CoNLL 2018 shared task gave it to systems: the sentences of
    a paragraph (their `# text`, or their tokens joined as SpaceAfter says) joined by a
    space, one paragraph a line, a blank line where `# newpar` or `# newdoc` opens one."""
    paragraphs: list[list[str]] = []
    for sentence in sentences:
        if sentence.starts_paragraph or not paragraphs:
            paragraphs.append([])
        paragraphs[-1].append(sentence.text)
    return "".join(" ".join(p) + "\n\n" for p in paragraphs)
