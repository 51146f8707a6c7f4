"""Raw text → sentences of tokens, by script-independent rules plus rules learned from a treebank.

The base rules know no language: whitespace separates chunks; punctuation and symbols
(Unicode categories P* and S*) at the edges of a chunk become tokens of their own (a run of
the same character, like "...", stays one token); punctuation between two letters or digits
stays inside the word ("3.14", "e-mail", "l'homme") unless the treebank splits it; URLs and
e-mail addresses stay whole.

What differs between treebanks is learned from the training data and stored with the model
(`TokenizerRules`): abbreviations that keep their final period ("Dr.", "etc."), which
word-internal punctuation the treebank splits off (EWT splits hyphens), clitics split from
their host ("n't", "'s" in English; "l'" in French) and whole multiword tokens ("cannot" →
"can" + "not", Spanish "del" → "de" + "el").

Sentences end at blank lines and after a token of sentence-final punctuation (plus any
closing quotes or brackets) when the next token does not start with a lower-case letter.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from postagger.conllu_io import Sentence

SENTENCE_FINAL = frozenset(".!?…。！？؟।॥։።፧᙮")
_NEVER_INSIDE = SENTENCE_FINAL - {"."}  # "3.5" and "U.S." keep their period; "晴れ。明日" splits
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://\S+|www\.\S+\.\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)$", re.I)
_URL_WITH_TRAILING = re.compile(r"(.*?)([.,;:!?)\]}\"']*)$")
_MIN_HOSTS = 3  # a clitic must attach to at least this many different words in training
CHUNK_CACHE = 50_000  # chunks whose tokens a Tokenizer keeps (emptied when full)


def is_punct(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


def _is_closing(token: str) -> bool:
    return all(unicodedata.category(c) in ("Pe", "Pf") or c in "\"'" for c in token)


@dataclass(frozen=True)
class Token:
    """A surface token; `words` are its syntactic words (more than one for a multiword token)."""

    form: str
    words: tuple[str, ...]
    space_after: bool = True


@dataclass
class TokenizerRules:
    """Treebank-specific tokenization facts, learned by `learn_rules` and saved with a model."""

    abbreviations: set[str] = field(default_factory=set)  # lower-cased, with final "."
    split_inside: set[str] = field(default_factory=set)  # punctuation split even between letters
    suffixes: dict[str, bool] = field(default_factory=dict)  # clitic -> written as multiword token
    prefixes: dict[str, bool] = field(default_factory=dict)
    multiword: dict[str, list[str]] = field(default_factory=dict)  # lower surface -> words

    def to_json(self) -> dict:
        return {
            "abbreviations": sorted(self.abbreviations),
            "split_inside": sorted(self.split_inside),
            "suffixes": dict(sorted(self.suffixes.items())),
            "prefixes": dict(sorted(self.prefixes.items())),
            "multiword": dict(sorted(self.multiword.items())),
        }

    @classmethod
    def from_json(cls, data: dict) -> TokenizerRules:
        return cls(
            abbreviations=set(data.get("abbreviations", [])),
            split_inside=set(data.get("split_inside", [])),
            suffixes=dict(data.get("suffixes", {})),
            prefixes=dict(data.get("prefixes", {})),
            multiword={k: list(v) for k, v in data.get("multiword", {}).items()},
        )


def surface_tokens(sentence: Sentence) -> list[tuple[str, list[str], bool]]:
    """(surface form, its words, space after) for each surface token of a treebank sentence."""
    return [(t.form, [w.form for w in t.words], t.space_after) for t in sentence.tokens()]


def learn_rules(sentences: Iterable[Sentence]) -> TokenizerRules:
    """Learn the tokenization of a treebank from its multiword tokens and SpaceAfter=No marks."""
    counts = _Evidence()
    for sentence in sentences:
        counts.add(surface_tokens(sentence))
    return counts.rules()


class _Evidence:
    """What a treebank's surface tokens show about its tokenization, counted token by token."""

    def __init__(self):
        self.plain = Counter()  # lower-cased surface tokens that are single words
        self.mwt = defaultdict(Counter)  # lower surface -> Counter of word splits
        self.clitics = {
            "suffix": defaultdict(lambda: [set(), Counter()]),
            "prefix": defaultdict(lambda: [set(), Counter()]),
        }
        self.inside = defaultdict(Counter)  # char between letters -> {"kept": n, "split": n}
        self.abbreviations = Counter()

    def add(self, tokens: list[tuple[str, list[str], bool]]) -> None:
        """A sentence's surface tokens: (form, words, space after)."""
        for form, words, _ in tokens:
            self._token(form.lower(), words)
        for (a, _, a_space), (b, _, b_space), (c, _, _) in zip(tokens, tokens[1:], tokens[2:]):
            # "Al" "-" "Zaman" written "Al-Zaman": the treebank splits "-" between letters
            if not a_space and not b_space and len(b) == 1 and is_punct(b):
                if a[-1].isalnum() and c[0].isalnum():
                    self.inside[b]["split"] += 1
        for (a, _, a_space), (b, _, _) in zip(tokens, tokens[1:]):
            if a_space:
                continue
            if a[-1].isalpha() and is_punct(b[0]) and len(b) > 1 and b[1:].isalpha():
                self.clitics["suffix"][b.lower()][0].add(a.lower())
                self.clitics["suffix"][b.lower()][1]["token"] += 1
            if b[0].isalpha() and is_punct(a[-1]) and len(a) > 1 and a[:-1].isalpha():
                self.clitics["prefix"][a.lower()][0].add(b.lower())
                self.clitics["prefix"][a.lower()][1]["token"] += 1

    def _token(self, low: str, words: list[str]) -> None:
        if len(words) == 1:
            self.plain[low] += 1
            if len(low) > 1 and low.endswith(".") and any(c.isalpha() for c in low):
                self.abbreviations[low] += 1
            for a, c, b in zip(low, low[1:], low[2:]):
                if is_punct(c) and a.isalnum() and b.isalnum():
                    self.inside[c]["kept"] += 1
            return
        self.mwt[low][tuple(w.lower() for w in words)] += 1
        if len(words) == 2 and "".join(words).lower() == low:
            host, clitic = words[0].lower(), words[1].lower()
            # the side that varies is the host: "do"+"n't", "did"+"n't"
            self.clitics["suffix"][clitic][0].add(host)
            self.clitics["suffix"][clitic][1]["mwt"] += 1
            self.clitics["prefix"][host][0].add(clitic)
            self.clitics["prefix"][host][1]["mwt"] += 1

    def rules(self) -> TokenizerRules:
        rules = TokenizerRules()
        rules.abbreviations = {a for a, n in self.abbreviations.items() if n >= 2 and len(a) <= 10}
        for char, counts in self.inside.items():
            if counts["split"] > counts["kept"]:
                rules.split_inside.add(char)
        for surface, splits in self.mwt.items():
            words, n = splits.most_common(1)[0]
            if n >= 2 and n >= self.plain[surface]:
                rules.multiword[surface] = list(words)
        for kind, table in (("suffix", rules.suffixes), ("prefix", rules.prefixes)):
            for clitic, (hosts, counts) in self.clitics[kind].items():
                if kind == "prefix":
                    # "could" + "n't" is explained by the suffix already
                    hosts = {h for h in hosts if h not in rules.suffixes}
                if len(hosts) >= _MIN_HOSTS and counts["mwt"] + counts["token"] >= self._unsplit(
                    kind, clitic
                ):
                    table[clitic] = counts["mwt"] >= counts["token"]
        return rules

    def _unsplit(self, kind: str, clitic: str) -> int:
        """How often a word with this ending (beginning) was left whole in training."""
        return sum(
            n
            for w, n in self.plain.items()
            if len(w) > len(clitic) and (w.endswith(clitic) if kind == "suffix" else w.startswith(clitic))
        )


class Tokenizer:
    """Splits raw text into sentences of tokens (see the module docstring for the rules)."""

    def __init__(self, rules: TokenizerRules | None = None):
        self.rules = rules or TokenizerRules()
        self._suffixes = sorted(self.rules.suffixes, key=len, reverse=True)
        self._prefixes = sorted(self.rules.prefixes, key=len, reverse=True)
        self._chunks: dict[str, tuple[Token, ...]] = {}  # see _chunk_tokens
        self._expanded: dict[str, tuple[str, ...]] = {}  # see expand

    @property
    def kept_chunks(self) -> int:
        """How many chunks' tokens are kept (at most `CHUNK_CACHE`; see `_chunk_tokens`)."""
        return len(self._chunks)

    def paragraph_sentences(self, paragraphs: list[str]) -> list[list[list[Token]]]:
        """The sentences of each paragraph (as `postagger.segmentation.Segmenter`'s)."""
        return [list(self._split_sentences(self.tokenize(p))) for p in paragraphs]

    def sentences(self, text: str) -> Iterator[list[Token]]:
        """Sentences of a text; blank lines always end a sentence."""
        for paragraph in re.split(r"\n\s*\n", text):
            yield from self._split_sentences(self.tokenize(paragraph))

    def tokenize(self, text: str) -> list[Token]:
        tokens: list[Token] = []
        chunks = self._chunks
        for chunk in text.split():  # runs of non-space characters, as re's \S+
            known = chunks.get(chunk)
            if known is None:
                if len(chunks) >= CHUNK_CACHE:
                    chunks.clear()
                known = chunks[chunk] = self._chunk_tokens(chunk)
            tokens.extend(known)
        return tokens

    def _chunk_tokens(self, chunk: str) -> tuple[Token, ...]:
        """The tokens of a chunk of non-space characters: they depend on the chunk alone
        (each chunk is followed by a space or the end of the text), so `tokenize` keeps
        them for the chunks it meets again (most, in running text)."""
        pieces = self._chunk(chunk)
        tokens: list[Token] = []
        for i, piece in enumerate(pieces):
            tokens.extend(self._clitics(piece, i == len(pieces) - 1))
        return tuple(tokens)

    def _chunk(self, chunk: str) -> list[str]:
        if chunk.lower() in self.rules.abbreviations:
            return [chunk]
        if url := _URL_WITH_TRAILING.match(chunk):
            if _URL.match(url[1]):
                return [url[1], *_merge_runs(list(url[2]))]
        lead: list[str] = []
        while chunk and is_punct(chunk[0]):
            n = _run_length(chunk, 0)
            lead.append(chunk[:n])
            chunk = chunk[n:]
        trail: list[str] = []
        while chunk and is_punct(chunk[-1]) and chunk.lower() not in self.rules.abbreviations:
            n = _run_length(chunk, len(chunk) - 1, backwards=True)
            trail.insert(0, chunk[-n:])
            chunk = chunk[:-n]
        middle = self._split_inside(chunk) if chunk else []
        return lead + middle + trail

    def _split_inside(self, word: str) -> list[str]:
        """Split at punctuation inside a word, unless it sits between letters/digits and the
        treebank keeps it there."""
        if _URL.match(word):
            return [word]
        pieces, start = [], 0
        for i, c in enumerate(word):
            if not is_punct(c):
                continue
            between = 0 < i < len(word) - 1 and word[i - 1].isalnum() and word[i + 1].isalnum()
            if between and c not in self.rules.split_inside and c not in _NEVER_INSIDE:
                continue
            if self._protected(word, i):
                continue
            if start < i:
                pieces.append(word[start:i])
            pieces.append(c)
            start = i + 1
        if start < len(word):
            pieces.append(word[start:])
        return _merge_runs(pieces)

    def _protected(self, word: str, i: int) -> bool:
        """Punctuation that belongs to a learned clitic ("n't", "l'") is not split off."""
        low = word.lower()
        for s in self._suffixes:
            if low.endswith(s) and len(low) - len(s) <= i:
                return True
        for p in self._prefixes:
            if low.startswith(p) and i < len(p):
                return True
        return False

    def expand(self, form: str) -> tuple[str, ...]:
        """The words of a token as the treebank writes multiword tokens: those of the
        dictionary, or host and clitic where the treebank writes that clitic as one token
        with its host ("don't" → "do" "n't" in EWT); else the form alone. Kept for the
        forms met again (emptied when `CHUNK_CACHE` are kept)."""
        words = self._expanded.get(form)
        if words is None:
            if len(self._expanded) >= CHUNK_CACHE:
                self._expanded.clear()
            words = self._expanded[form] = self._expand(form)
        return words

    def _expand(self, form: str) -> tuple[str, ...]:
        low = form.lower()
        if low in self.rules.multiword:
            return restore_case(form, self.rules.multiword[low])
        split = self._clitic_split(form)
        return split[:2] if split is not None and split[2] else (form,)

    def _clitic_split(self, piece: str) -> tuple[str, str, bool] | None:
        """(first, second, written as one token) where a learned clitic ends or begins the
        piece, else None."""
        low = piece.lower()
        for s in self._suffixes:
            if low.endswith(s) and len(low) > len(s) and piece[: -len(s)][-1:].isalnum():
                return piece[: -len(s)], piece[-len(s) :], self.rules.suffixes[s]
        for p in self._prefixes:
            if low.startswith(p) and len(low) > len(p) and piece[len(p) :][:1].isalnum():
                return piece[: len(p)], piece[len(p) :], self.rules.prefixes[p]
        return None

    def _clitics(self, piece: str, space_after: bool) -> list[Token]:
        low = piece.lower()
        if low in self.rules.multiword:
            return [Token(piece, restore_case(piece, self.rules.multiword[low]), space_after)]
        split = self._clitic_split(piece)
        if split is None:
            return [Token(piece, (piece,), space_after)]
        first, second, together = split
        if together:
            return [Token(piece, (first, second), space_after)]
        return [Token(first, (first,), False), Token(second, (second,), space_after)]

    def _split_sentences(self, tokens: list[Token]) -> Iterator[list[Token]]:
        current: list[Token] = []
        i = 0
        while i < len(tokens):
            current.append(tokens[i])
            if tokens[i].form and all(c in SENTENCE_FINAL for c in tokens[i].form):
                while i + 1 < len(tokens) and _is_closing(tokens[i + 1].form):
                    i += 1
                    current.append(tokens[i])
                nxt = tokens[i + 1].form if i + 1 < len(tokens) else ""
                if not nxt or not nxt[0].islower():
                    yield current
                    current = []
            i += 1
        if current:
            yield current


def _run_length(text: str, start: int, backwards: bool = False) -> int:
    char, n = text[start], 1
    step = -1 if backwards else 1
    i = start + step
    while 0 <= i < len(text) and text[i] == char:
        n += 1
        i += step
    return n


def _merge_runs(pieces: list[str]) -> list[str]:
    """Keep a run of one punctuation character ("--", "...") together."""
    merged: list[str] = []
    for p in pieces:
        if merged and len(p) == 1 and is_punct(p) and set(merged[-1]) == {p}:
            merged[-1] += p
        else:
            merged.append(p)
    return merged


def restore_case(surface: str, words: list[str]) -> tuple[str, ...]:
    """Words of a multiword token in the surface's case: "Cannot" → ("Can", "not")."""
    if "".join(words) == surface.lower():
        out, pos = [], 0
        for w in words:
            out.append(surface[pos : pos + len(w)])
            pos += len(w)
        return tuple(out)
    if surface.isupper():
        return tuple(w.upper() for w in words)
    if surface[:1].isupper():
        return (words[0][:1].upper() + words[0][1:], *words[1:])
    return tuple(words)


def token_ends(text: str, forms: list[str]) -> list[int] | None:
    """Where each token of `forms` ends in `text` (white space may separate them), or None
    when the text does not hold them in order."""
    ends, at = [], 0
    for form in forms:
        while at < len(text) and text[at].isspace():
            at += 1
        if text[at : at + len(form)] != form:
            return None
        at += len(form)
        ends.append(at)
    return ends if text[at:].strip() == "" else None
