"""Raw text → sentences of tokens by a trained character network (the segmenter).

Training data: a treebank's paragraphs as text (its sentences' `# text` lines, or their
tokens joined as SpaceAfter says, joined by a space as `conll18.raw_text` does), each
character labelled with what follows it: nothing, the end of a token, the end of a token
and of a sentence, or, inside a multiword token whose words spell it ("don't" = "do" +
"n't", Turkish "önemli" = "önem" + "li", Greek "στο" = "σ" + "το"), the end of a word.
Tagging reads the network's labels back: a token ends at a predicted end or at white
space, a sentence at a predicted end; a token with predicted word ends is a multiword
token of those words; any other token is expanded as the treebank's rules say
(`Tokenizer.expand`: its dictionary, "del" = "de" + "el", and clitics it writes with their
host), or is one word. A character between two letters or digits is split around as the
treebank splits around it (`InfixSplits`): the network decides each side of it alone, and
a one-sided cut the treebank never makes ("mis-matches" → "mis" "-matches") is replaced by
the more probable of the cuts it does make.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from postagger.conllu_io import Sentence, SurfaceToken
from postagger.text import Token, Tokenizer, TokenizerRules, token_ends

#: the label of each character: what follows it
INSIDE, TOKEN_END, SENTENCE_END, WORD_END = 0, 1, 2, 3
LABELS = 4
#: Unicode general categories, the second input of the network (unseen characters too)
CATEGORIES = (
    "Lu Ll Lt Lm Lo Mn Mc Me Nd Nl No Pc Pd Ps Pe Pi Pf Po Sm Sc Sk So Zs Zl Zp Cc Cf Cs Co Cn".split()
)
CATEGORY_IDS = {name: i for i, name in enumerate(CATEGORIES, 2)}  # 0: padding, 1: unknown
#: the category ids of letters, marks and digits: the characters an infix sits between
WORD_CATEGORY_IDS = np.array([i for name, i in CATEGORY_IDS.items() if name[0] in "LMN"], np.int32)


@dataclass
class Paragraph:
    """A paragraph's text and each character's label (INSIDE, TOKEN_END, ...)."""

    text: str
    labels: np.ndarray  # (len(text),) int8


def treebank_paragraphs(sentences: Iterable[Sentence]) -> list[Paragraph]:
    """The paragraphs of a treebank (`# newpar`, `# newdoc`) with their labels."""
    paragraphs: list[tuple[list[str], dict[int, int]]] = []  # texts; character → label
    for sentence in sentences:
        if sentence.starts_paragraph or not paragraphs:
            paragraphs.append(([], {}))
        texts, labels = paragraphs[-1]
        offset = sum(len(t) + 1 for t in texts)
        text, tokens, ends = sentence_text_and_ends(sentence)
        texts.append(text)
        for token, end in zip(tokens, ends):
            labels[offset + end - 1] = TOKEN_END
            for word_end in _spelled_word_ends(token):
                labels[offset + end - len(token.form) + word_end - 1] = WORD_END
        labels[offset + ends[-1] - 1] = SENTENCE_END
    result = []
    for texts, labels in paragraphs:
        text = " ".join(texts)
        array = np.zeros(len(text), np.int8)
        array[list(labels)] = list(labels.values())
        result.append(Paragraph(text, array))
    return result


def _spelled_word_ends(token: SurfaceToken) -> list[int]:
    """Where the words of a multiword token end inside it (its last word left out), when
    the words spell the token; else none."""
    forms = [w.form for w in token.words]
    if (
        len(forms) < 2
        or "".join(forms).lower() != token.form.lower()
        or sum(map(len, forms)) != len(token.form)
    ):
        return []
    return list(np.cumsum([len(f) for f in forms[:-1]]))


def sentence_text_and_ends(sentence: Sentence) -> tuple[str, list[SurfaceToken], list[int]]:
    """The sentence's text, tokens and where each token ends in the text: its `# text`, or,
    where that does not hold the tokens in order, the tokens joined as SpaceAfter says."""
    tokens = sentence.tokens()
    text = sentence.text
    ends = token_ends(text, [t.form for t in tokens])
    if ends is None:
        text = "".join(t.form + (" " if t.space_after else "") for t in tokens).strip()
        ends = token_ends(text, [t.form for t in tokens])
    return text, tokens, ends


#: the cuts around an infix character: (a token ends before it, a token ends after it)
INFIX_CUTS = {"none": (False, False), "both": (True, True), "before": (True, False), "after": (False, True)}
#: a cut is allowed around a character when the training text makes it for at least this
#: share of the character's infix occurrences; characters met fewer times are left alone
INFIX_SHARE, INFIX_MIN = 0.01, 20


@dataclass
class InfixSplits:
    """How a treebank cuts around a character that sits between two letters or digits with
    no space ("e-mail", "2-3", "U.S", "and/or"): for each character met often enough there,
    the cuts (`INFIX_CUTS`) its training text makes. EWT, for one, cuts a hyphen on both
    sides or neither, never on one side, while the network decides each side alone."""

    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def learn(cls, paragraphs: Iterable[Paragraph]) -> InfixSplits:
        counts: dict[str, Counter] = {}
        names = {cut: name for name, cut in INFIX_CUTS.items()}
        categories = CharacterVocabulary([])  # categories and white space as tagging sees them
        for paragraph in paragraphs:
            text, ends = paragraph.text, np.isin(paragraph.labels, (TOKEN_END, SENTENCE_END))
            for i in _infixes(categories.encode(text)):
                counts.setdefault(text[i], Counter())[names[bool(ends[i - 1]), bool(ends[i])]] += 1
        return cls({
            char: tuple(sorted(cut for cut, n in found.items() if n >= INFIX_SHARE * sum(found.values())))
            for char, found in sorted(counts.items())
            if sum(found.values()) >= INFIX_MIN
        })  # fmt: skip

    def apply(self, paragraphs: list[str], encoded: Encoded, decisions: Decisions, end: np.ndarray) -> int:
        """Replace, in `decisions` (for the paragraphs' characters one after another,
        `encoded`; in place), each cut around an infix that the treebank does not make by the
        allowed one that `end` (each character's probability of ending a token) makes most
        probable. How many were replaced."""
        if not self.allowed:
            return 0
        text, edges = "".join(paragraphs), np.zeros(len(encoded.chars) + 1, bool)
        edges[np.cumsum([0] + [len(p) for p in paragraphs])] = True
        replaced = 0
        for i in _infixes(encoded, edges):
            allowed = self.allowed.get(text[i])
            cut = (bool(decisions.token_end[i - 1]), bool(decisions.token_end[i]))
            if not allowed or cut in (INFIX_CUTS[name] for name in allowed):
                continue
            likely = {name: _likelihood(INFIX_CUTS[name], end[i - 1], end[i]) for name in allowed}
            for at, ends in zip((i - 1, i), INFIX_CUTS[max(likely, key=likely.__getitem__)]):
                decisions.token_end[at] = ends
                decisions.sentence_end[at] &= ends
            replaced += 1
        return replaced


def _likelihood(cut: tuple[bool, bool], before: float, after: float) -> float:
    """The probability of a cut around an infix, given that of a token ending before it and
    after it (the two taken as independent)."""
    return float((before if cut[0] else 1 - before) * (after if cut[1] else 1 - after))


def _infixes(encoded: Encoded, edges: np.ndarray | None = None) -> list[int]:
    """Positions of the characters of an encoded text that are neither letters, marks,
    digits nor white space and sit between two letters, marks or digits of the same
    paragraph (`edges`, one longer than the text: True where a paragraph starts or ends)."""
    if len(encoded.chars) < 3:
        return []
    word, space = np.isin(encoded.categories, WORD_CATEGORY_IDS), encoded.space
    inner = ~word[1:-1] & ~space[1:-1] & word[:-2] & word[2:]
    if edges is not None:
        inner &= ~edges[1:-2] & ~edges[2:-1]
    return (np.flatnonzero(inner) + 1).tolist()


@dataclass
class CharacterVocabulary:
    """Character ids for the segmenter: 0 padding, 1 unknown, then the training text's
    characters seen at least `min_count` times."""

    chars: list[str]

    def __post_init__(self):
        self.ids = {c: i for i, c in enumerate(self.chars, 2)}
        # per code point of the Basic Multilingual Plane (looked up on first sight, -1
        # before): character id, category id, white space; the last row stands for the
        # code points above it, looked up one by one
        self._table = np.full((_PLANE + 1, 3), -1, np.int32)

    @classmethod
    def build(cls, paragraphs: Iterable[Paragraph], min_count: int = 2) -> CharacterVocabulary:
        counts = Counter(c for p in paragraphs for c in p.text)
        return cls(sorted(c for c, n in counts.items() if n >= min_count))

    def encode(self, text: str) -> Encoded:
        """Character ids, Unicode category ids and white space of a text; white space
        reads as a space (training text has its sentences on one line, joined by spaces)."""
        codes = np.frombuffer(text.encode("utf-32-le"), "<u4")
        rows = np.minimum(codes, _PLANE)
        looked = self._table[rows]
        new = np.flatnonzero(looked[:, 0] < 0)
        if len(new):
            for code in np.unique(rows[new]).tolist():
                if code < _PLANE:
                    self._table[code] = self._lookup(code)
            looked = self._table[rows]
        for at in np.flatnonzero(rows == _PLANE).tolist():  # beyond the plane: rare
            looked[at] = self._lookup(int(codes[at]))
        return Encoded(looked[:, 0], looked[:, 1], looked[:, 2].astype(bool))

    def _lookup(self, code: int) -> tuple[int, int, int]:
        char = chr(code)
        space = char.isspace()
        char = " " if space else char
        return self.ids.get(char, 1), CATEGORY_IDS.get(unicodedata.category(char), 1), int(space)


_PLANE = 0x10000  # code points below it have a row of their own in the lookup table


@dataclass
class Encoded:
    """A text for the segmenter: per character, its id, its category id, whether it is white space."""

    chars: np.ndarray
    categories: np.ndarray
    space: np.ndarray


#: characters of one row of the network's input besides its margins: a longer paragraph is
#: cut into rows, each with the `radius` characters on either side as context, which gives
#: every character the label the whole paragraph would (padding counts as nothing)
ROW_CHARS = 1024
#: tokens a `Segmenter` keeps to hand out again (emptied when full): running text repeats
TOKENS_KEPT = 50_000
#: characters per network call at most (margins included), so that memory stays bounded
CALL_CHARS = 1 << 14


class Segmenter:
    """Raw text → sentences of tokens, with a trained segmenter network (an `Engine`)."""

    def __init__(self, network, info, rules: TokenizerRules):
        """`info` is the model's `SegmenterInfo`; `rules` are the treebank's multiword
        tokens (`Tokenizer.expand`), for the tokens the network sees no words in."""
        self.network, self.threshold, self.radius = network, info.threshold, info.config.radius
        self.vocab = CharacterVocabulary(info.chars)
        self.rules = Tokenizer(rules)  # the treebank's multiword tokens where the network sees none
        self.infix = InfixSplits(dict(info.infix))
        self._kept: dict[tuple[str, bool], Token] = {}  # see _tokens

    def sentences(self, text: str) -> list[list[Token]]:
        """The sentences of a text, as tokens; blank lines always end a sentence."""
        paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
        return [sentence for found in self.paragraph_sentences(paragraphs) for sentence in found]

    def paragraph_sentences(self, paragraphs: list[str]) -> list[list[list[Token]]]:
        """The sentences of each paragraph (text without blank lines), as tokens."""
        encoded = self.vocab.encode("".join(paragraphs))  # one lookup for all
        n = len(encoded.chars)
        decisions = Decisions(np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool))
        end = np.zeros(n, np.float32)  # each character's probability of ending a token
        for where, probs in self._batches(paragraphs, encoded):  # decided batch by batch: less memory
            decided = self.decide(probs)
            for name in ("token_end", "sentence_end", "word_end"):
                getattr(decisions, name)[where] = getattr(decided, name)
            end[where] = probs[:, TOKEN_END] + probs[:, SENTENCE_END]
        self.infix.apply(paragraphs, encoded, decisions, end)
        spans = cut(paragraphs, decisions, encoded.space)
        return [self._tokens(text, sentences) for text, sentences in zip(paragraphs, spans)]

    def probabilities(self, paragraphs: list[str]) -> np.ndarray:
        """(characters, labels): each character's probabilities of each label (INSIDE,
        TOKEN_END, SENTENCE_END, WORD_END), the paragraphs' characters one after another."""
        out = np.zeros((sum(map(len, paragraphs)), LABELS), np.float32)
        for where, probs in self._batches(paragraphs, self.vocab.encode("".join(paragraphs))):
            out[where] = probs
        return out

    def _batches(self, paragraphs: list[str], encoded: Encoded) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(positions, probabilities) of the characters of one network call after another,
        positions counted in the paragraphs' characters one after another."""
        bounds = np.cumsum([0] + [len(text) for text in paragraphs]).tolist()
        rows = [(i, start) for i, text in enumerate(paragraphs) for start in range(0, len(text), ROW_CHARS)]
        rows.sort(key=lambda row: self._span(row, paragraphs)[1] - self._span(row, paragraphs)[0])
        while rows:
            batch = [rows.pop()]  # longest first; rows of similar widths go together
            width = self._span(batch[0], paragraphs)[1] - self._span(batch[0], paragraphs)[0]
            while rows and (len(batch) + 1) * width <= CALL_CHARS:
                batch.append(rows.pop())
            yield self._run(batch, width, paragraphs, encoded, bounds)

    def _span(self, row: tuple[int, int], paragraphs: list[str]) -> tuple[int, int]:
        """The characters a row holds: its own and the margins within the paragraph."""
        i, start = row
        return max(0, start - self.radius), min(len(paragraphs[i]), start + ROW_CHARS + self.radius)

    def _run(self, batch, width, paragraphs, encoded: Encoded, bounds) -> tuple[np.ndarray, np.ndarray]:
        rows = {
            "chars": np.zeros((len(batch), width), np.int32),
            "categories": np.zeros((len(batch), width), np.int32),
        }
        for r, (i, start) in enumerate(batch):
            lo, hi = self._span((i, start), paragraphs)
            rows["chars"][r, : hi - lo] = encoded.chars[bounds[i] + lo : bounds[i] + hi]
            rows["categories"][r, : hi - lo] = encoded.categories[bounds[i] + lo : bounds[i] + hi]
        probs = self.network.run(rows, ["boundaries"])["boundaries"]
        where, found = [], []
        for r, (i, start) in enumerate(batch):
            lo, _ = self._span((i, start), paragraphs)
            end = min(len(paragraphs[i]), start + ROW_CHARS)
            where.append(np.arange(bounds[i] + start, bounds[i] + end))
            found.append(probs[r, start - lo : end - lo])
        return np.concatenate(where), np.concatenate(found)

    def _tokens(self, text: str, sentence_spans: list) -> list[list[Token]]:
        sentences = []
        kept = self._kept
        for spans in sentence_spans:
            tokens = []
            for start, stop, word_ends in spans:
                form = text[start:stop]
                space_after = stop == len(text) or text[stop].isspace()
                if word_ends:
                    pieces = [start, *word_ends, stop]
                    words = tuple(text[a:b] for a, b in zip(pieces, pieces[1:]))
                    tokens.append(Token(form, words, space_after))
                    continue
                token = kept.get((form, space_after))  # one object for a token met again
                if token is None:
                    if len(kept) >= TOKENS_KEPT:
                        kept.clear()
                    token = kept[form, space_after] = Token(form, self.rules.expand(form), space_after)
                tokens.append(token)
            sentences.append(tokens)
        return sentences

    def decide(
        self, probs: np.ndarray, threshold: float | None = None, paragraphs: list[str] | None = None
    ) -> Decisions:
        """Which characters end a token, a sentence, a word inside a token. A sentence
        ends where its probability passes the threshold (chosen on dev), a token also where
        a token or sentence end is more likely than not, a word inside a token where that is
        more likely than anything else. With the `paragraphs` whose characters `probs` are
        (all of them), cuts around infixes are then made as the treebank makes them
        (`InfixSplits`)."""
        sentence_end = probs[:, SENTENCE_END] > (self.threshold if threshold is None else threshold)
        end = probs[:, TOKEN_END] + probs[:, SENTENCE_END]
        token_end = sentence_end | (end > 0.5)
        word_end = ~token_end & (probs.argmax(-1) == WORD_END)
        decisions = Decisions(token_end, sentence_end, word_end)
        if paragraphs is not None:
            self.infix.apply(paragraphs, self.vocab.encode("".join(paragraphs)), decisions, end)
        return decisions


@dataclass
class Decisions:
    """Per character: whether a token, a sentence, a word inside a token ends there."""

    token_end: np.ndarray
    sentence_end: np.ndarray
    word_end: np.ndarray

    @classmethod
    def join(cls, parts: list[Decisions]) -> Decisions:
        return cls(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("token_end", "sentence_end", "word_end")
            )
        )


#: the code points that str.isspace calls white space (all below U+3001)
_WHITESPACE = np.array([c for c in range(0x3001) if chr(c).isspace()], np.uint32)

Spans = list[list[tuple[int, int, Sequence[int]]]]  # sentences of tokens: (start, stop, word ends inside)


def cut(paragraphs: list[str], decisions: Decisions, space: np.ndarray | None = None) -> list[Spans]:
    """For each paragraph, its sentences of tokens, each token as (start, stop, where its
    words end inside it), given the decisions for the paragraphs' characters one after
    another (and which of them are white space, if known): a token also ends at white
    space, a sentence at its paragraph's end."""
    text = "".join(paragraphs)
    if not text:
        return [[] for _ in paragraphs]
    bounds = np.cumsum([0] + [len(p) for p in paragraphs])
    if space is None:
        space = np.isin(np.frombuffer(text.encode("utf-32-le"), "<u4"), _WHITESPACE)
    solid, edge = ~space, np.zeros(len(text) + 1, bool)
    edge[bounds] = True  # between paragraphs, as white space would be
    ends = decisions.token_end & solid
    starts = np.flatnonzero(solid & (edge[:-1] | np.concatenate([[True], space[:-1] | ends[:-1]])))
    stops = np.flatnonzero(solid & (edge[1:] | ends | np.concatenate([space[1:], [True]]))) + 1
    inner = decisions.word_end & solid & ~ends & ~edge[1:] & np.concatenate([solid[1:], [False]])
    word_cuts = np.flatnonzero(inner) + 1
    inside: dict[int, list[int]] = {}
    for owner, at in zip((np.searchsorted(starts, word_cuts, side="right") - 1).tolist(), word_cuts.tolist()):
        inside.setdefault(owner, []).append(at)
    owners = (np.searchsorted(bounds, starts, side="right") - 1).tolist()
    breaks = decisions.sentence_end[stops - 1].tolist()
    found: list[Spans] = [[] for _ in paragraphs]
    offsets, sentence = bounds.tolist(), None
    for k, (start, stop, owner) in enumerate(zip(starts.tolist(), stops.tolist(), owners)):
        if sentence is None or not found[owner] or sentence is not found[owner][-1]:
            sentence = []
            found[owner].append(sentence)
        base = offsets[owner]
        sentence.append((start - base, stop - base, [at - base for at in inside[k]] if k in inside else ()))
        if breaks[k]:
            sentence = None
    return found


def span_sets(paragraphs: list[str], decisions: Decisions) -> dict[str, set]:
    """The spans of tokens, sentences and words of paragraphs, as (paragraph, start, stop),
    given the decisions for their characters one after another."""
    found: dict[str, set] = {"tokens": set(), "sentences": set(), "words": set()}
    for i, sentences in enumerate(cut(paragraphs, decisions)):
        for tokens in sentences:
            found["sentences"].add((i, tokens[0][0], tokens[-1][1]))
            for start, stop, inside in tokens:
                found["tokens"].add((i, start, stop))
                pieces = [start, *inside, stop]
                found["words"].update((i, a, b) for a, b in zip(pieces, pieces[1:]))
    return found


def labelled_decisions(paragraphs: list[Paragraph]) -> Decisions:
    """Treebank paragraphs' own decisions, their characters one after another."""
    labels = np.concatenate([p.labels for p in paragraphs]) if paragraphs else np.zeros(0, np.int8)
    return Decisions(np.isin(labels, (TOKEN_END, SENTENCE_END)), labels == SENTENCE_END, labels == WORD_END)
