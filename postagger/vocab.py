"""Word, character and tag vocabularies, built from training sentences and saved as JSON."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from postagger.conllu_io import Sentence, column_gaps, is_missing, join_feats, split_feats
from postagger.errors import PostaggerError

PAD = "<pad>"
UNK = "<unk>"
BOW = "<w>"  # character ids only: begin and end of a word, so the
EOW = "</w>"  # character CNN can tell prefixes and suffixes from the middle
PAD_ID = 0
UNK_ID = 1
BOW_ID = 2
EOW_ID = 3
#: 3: the words pretrained vectors added (--extend-vocab) as one string, "added_words";
#: 2: one tag table per output head; 1: one column. All are read; a vocabulary is written
#: in the lowest format that holds it
VOCAB_FORMAT = 3
ABSENT = "_"  # the value of a feature head for a word without that feature
FEATURE_HEAD = "feats:"  # "feats:Case" is the head predicting the Case feature


@dataclass
class Index:
    """A string ↔ id table; ids 0 and 1 are padding and unknown (tags: padding only;
    characters also have 2 and 3 for the word boundaries).

    With `eager`, only the first `eager` items are indexed at once and the others when an
    item is first not found among them: a word index holds the training words first and
    may hold a hundred thousand words from pretrained vectors after them, which a short
    text of known words never needs (indexing them is most of a cold start's vocabulary
    time)."""

    items: list[str]
    eager: int | None = field(default=None, compare=False)

    def __post_init__(self):
        n = len(self.items) if self.eager is None else min(self.eager, len(self.items))
        self._ids = dict(zip(self.items[:n], range(n)))
        self._indexed = n

    @property
    def ids(self) -> dict[str, int]:
        """Every item's id."""
        if self._indexed < len(self.items):
            n = self._indexed
            self._ids.update(zip(self.items[n:], range(n, len(self.items))))
            self._indexed = len(self.items)
        return self._ids

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, item: str) -> bool:
        return self.get(item, -1) >= 0

    def get(self, item: str, default: int = UNK_ID) -> int:
        i = self._ids.get(item, -1)
        if i < 0 and self._indexed < len(self.items):
            i = self.ids.get(item, -1)
        return default if i < 0 else i


def _combinations(data, tagsets: dict[str, Index]) -> list[tuple[str, ...]] | None:
    """A vocabulary file's tag combinations, each a value of every head's tag table."""
    if data is None:
        return None
    combinations = [tuple(str(v) for v in c) for c in data]
    for combination in combinations:
        if len(combination) != len(tagsets) or any(
            v not in index or v == PAD for v, index in zip(combination, tagsets.values())
        ):
            raise ValueError(f"tag combination {list(combination)} does not fit the tag tables")
    return combinations


def head_column(head: str) -> str:
    """The CoNLL-U column a head fills: "feats" for "feats:Case", else the head's name."""
    return "feats" if head.startswith(FEATURE_HEAD) else head


@dataclass
class Vocabulary:
    """Everything needed to turn sentences into ids and tag ids back into tags.

    `tagsets` holds one tag table per output head, in column order. A column is one head
    (its tags are the column's values: "NOUN", or a whole FEATS string "Number=Sing"),
    except FEATS learnt per feature: one head per feature name ("feats:Number"), whose
    values are the feature's values and "_" for words without it.
    """

    words: Index
    chars: Index
    tagsets: dict[str, Index]
    columns: list[str]
    word_counts: dict[str, int]  # training frequency of every word form, kept or not
    #: for a model of several heads: each combination of head values (in head order) that
    #: a training word has, most frequent first; None where unknown (older models)
    combinations: list[tuple[str, ...]] | None = None

    @property
    def column(self) -> str:
        """The primary column (the first)."""
        return self.columns[0]

    @property
    def tags(self) -> Index:
        """The primary column's tags (its head is always the first)."""
        return next(iter(self.tagsets.values()))

    @property
    def output_names(self) -> dict[str, str]:
        """The network's output layer of each head: "tags" for the first (as in models
        trained before joint heads), then "tags_1", "tags_2", ... in head order."""
        return {head: "tags" if i == 0 else f"tags_{i}" for i, head in enumerate(self.tagsets)}

    def head_tags(self, sentence: Sentence) -> dict[str, list[str]]:
        """The gold values of every head for a sentence's words; a word without a value in
        a column ('_' UPOS or XPOS) gets PAD there, which training leaves out of the loss."""
        out = {}
        for column in self.columns:
            tags = [PAD if is_missing(column, t) else t for t in sentence.tags(column)]
            if column == "feats" and "feats" not in self.tagsets:
                feats = [None if t == PAD else split_feats(t) for t in tags]
                for head in self.tagsets:
                    if head.startswith(FEATURE_HEAD):
                        name = head[len(FEATURE_HEAD) :]
                        out[head] = [PAD if f is None else f.get(name, ABSENT) for f in feats]
            else:
                out[column] = tags
        return out

    def columns_of(self, heads: dict[str, list[str]]) -> dict[str, list[str]]:
        """Column values from the values of every head (feature heads joined into FEATS)."""
        out = {}
        for column in self.columns:
            if column in heads:
                out[column] = heads[column]
                continue
            names = [h for h in self.tagsets if h.startswith(FEATURE_HEAD)]
            n = len(heads[names[0]]) if names else 0
            out[column] = [
                join_feats({h[len(FEATURE_HEAD) :]: heads[h][i] for h in names if heads[h][i] != ABSENT})
                for i in range(n)
            ]
        return out

    def word_id(self, form: str) -> int:
        """Exact form, else its lower-cased form, else unknown."""
        i = self.words.get(form, -1)
        return self.words.get(form.lower(), UNK_ID) if i < 0 else i

    def trained_words(self) -> int:
        """How many ids (the reserved ones included) belong to words of the training data;
        words added from pretrained vectors (`--extend-vocab`) come after them."""
        n = len(self.words.items)
        while n > 2 and self.words.items[n - 1] not in self.word_counts:
            n -= 1
        return n

    def is_known(self, form: str) -> bool:
        """Whether the form was seen in training (the definition of OOV used in evaluation)."""
        return form in self.word_counts

    def with_combinations(self, sentences: Iterable[Sentence]) -> Vocabulary:
        """This vocabulary knowing the combinations of head values its training words have
        (words without a value in some column left out); for one head, itself."""
        if len(self.tagsets) < 2:
            return self
        counts: Counter = Counter()
        for sentence in sentences:
            values = self.head_tags(sentence)
            counts.update(c for c in zip(*values.values()) if PAD not in c)
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return dataclasses.replace(self, combinations=[c for c, _ in ordered])

    def to_json(self) -> dict:
        words, added = self.words.items, []
        trained = self.trained_words()
        if all(w and " " not in w for w in words[trained:]):  # else kept in the list
            words, added = words[:trained], words[trained:]
        data = {
            "format": VOCAB_FORMAT if added else 2,
            "columns": self.columns,
            "words": words,
            **({"added_words": " ".join(added)} if added else {}),
            "chars": self.chars.items,
            "tags": {head: index.items for head, index in self.tagsets.items()},
            "word_counts": self.word_counts,
        }
        if self.combinations is not None:
            data["combinations"] = [list(c) for c in self.combinations]
        return data

    @classmethod
    def from_json(cls, data: dict, path: str | Path = "vocab.json") -> Vocabulary:
        try:
            if data.get("format") not in range(1, VOCAB_FORMAT + 1):
                raise PostaggerError(
                    f"vocabulary format {data.get('format')!r} is not supported "
                    f"(this version reads formats 1 to {VOCAB_FORMAT})",
                    path,
                )
            if data["format"] == 1:
                columns, tagsets = [str(data["column"])], {str(data["column"]): Index(list(data["tags"]))}
            else:
                columns = [str(c) for c in data["columns"]]
                tagsets = {str(head): Index(list(items)) for head, items in data["tags"].items()}
            words, added = list(data["words"]), str(data.get("added_words", ""))
            vocab = cls(
                Index(words + added.split(" "), eager=len(words)) if added else Index(words),
                Index(list(data["chars"])),
                tagsets,
                columns,
                {str(k): int(v) for k, v in data["word_counts"].items()},
                _combinations(data.get("combinations"), tagsets),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise PostaggerError(f"not a postagger vocabulary ({err!r})", path) from None
        heads_ok = bool(tagsets) and [head_column(h) for h in tagsets][:1] == columns[:1]
        heads_ok = heads_ok and {head_column(h) for h in tagsets} == set(columns)
        if (
            vocab.words.items[:2] != [PAD, UNK]
            or vocab.chars.items[:4] != [PAD, UNK, BOW, EOW]
            or any(index.items[:1] != [PAD] for index in tagsets.values())
            or not heads_ok
        ):
            raise PostaggerError("not a postagger vocabulary (reserved ids or tag tables missing)", path)
        return vocab

    def save(self, path: str | Path) -> None:
        from postagger.atomic import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        from postagger.jsonfile import read_json_object

        path = Path(path)
        return cls.from_json(read_json_object(path, "no such file", "not a JSON vocabulary file"), path)

    def tag_names(self) -> list[str]:
        """The primary column's tags (the padding tag left out)."""
        return self.tags.items[1:]

    def summary(self) -> dict:
        """Sizes: ids of words and characters, tags of each head (padding left out), feature
        heads and their values (the absent value left out), training tokens and coverage."""
        total = sum(self.word_counts.values())
        covered = sum(n for w, n in self.word_counts.items() if w in self.words)
        tags = {head: len(index) - 1 for head, index in self.tagsets.items()}
        features = [n for head, n in tags.items() if head.startswith(FEATURE_HEAD)]
        return {
            "columns": ",".join(self.columns),
            "words": len(self.words),
            "chars": len(self.chars),
            "tags": tags,
            "column_tags": {head: n for head, n in tags.items() if not head.startswith(FEATURE_HEAD)},
            "feature_heads": len(features),
            "feature_values": sum(features) - len(features),
            "training_tokens": total,
            "training_types": len(self.word_counts),
            "token_coverage": covered / total if total else 0.0,
        }


def build_vocabulary(
    sentences: Iterable[Sentence],
    columns: Sequence[str] = ("upos",),
    min_count: int = 1,
    min_char_count: int = 1,
    feats_heads: str = "whole",
) -> Vocabulary:
    """Count forms, characters and tags of the training sentences.

    Word forms seen at least `min_count` times get an embedding; rarer words map to the
    unknown id but stay in `word_counts` so that OOV words can be told apart in evaluation.
    With `feats_heads` "split", FEATS gets one head per feature name seen in training.
    """
    if isinstance(columns, str):
        columns = [columns]
    split = feats_heads == "split" and "feats" in columns
    if split and columns[0] == "feats":
        raise PostaggerError("FEATS learnt per feature cannot be the first (primary) column")
    sentences = list(sentences)
    column_gaps(sentences, columns)  # refuses a column that is mostly empty
    words, chars = Counter(), Counter()
    tags: dict[str, Counter] = {c: Counter() for c in columns}
    features: dict[str, Counter] = {}
    for sentence in sentences:
        for column in columns:
            values = [t for t in sentence.tags(column) if not is_missing(column, t)]
            tags[column].update(values)
            if split and column == "feats":
                for value in values:
                    for name, v in split_feats(value).items():
                        features.setdefault(name, Counter())[v] += 1
        for form in sentence.forms:
            words[form] += 1
            chars.update(form)
    if not words:
        raise PostaggerError("no sentences with words in the training data")
    tagsets = {}
    for column in columns:
        if split and column == "feats":
            for name in sorted(features, key=lambda n: (n.lower(), n)):
                tagsets[FEATURE_HEAD + name] = Index([PAD, ABSENT, *sorted(features[name])])
        else:
            tagsets[column] = Index([PAD, *sorted(tags[column])])
    if split and not features:
        raise PostaggerError("the training data has no features (FEATS is '_' everywhere)")
    kept = [w for w, n in sorted(words.items(), key=lambda x: (-x[1], x[0])) if n >= min_count]
    return Vocabulary(
        words=Index([PAD, UNK, *kept]),
        chars=Index([PAD, UNK, BOW, EOW, *sorted(c for c, n in chars.items() if n >= min_char_count)]),
        tagsets=tagsets,
        columns=list(columns),
        word_counts=dict(sorted(words.items(), key=lambda x: (-x[1], x[0]))),
    )
