"""Word, character and tag vocabularies, built from training sentences and saved as JSON."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from postagger.conllu_io import Sentence, check_tags
from postagger.errors import PostaggerError

PAD = "<pad>"
UNK = "<unk>"
BOW = "<w>"  # character ids only: begin and end of a word, so the
EOW = "</w>"  # character CNN can tell prefixes and suffixes from the middle
PAD_ID = 0
UNK_ID = 1
BOW_ID = 2
EOW_ID = 3
VOCAB_FORMAT = 1


@dataclass
class Index:
    """A string ↔ id table; ids 0 and 1 are padding and unknown (tags: padding only;
    characters also have 2 and 3 for the word boundaries)."""

    items: list[str]

    def __post_init__(self):
        self.ids = {item: i for i, item in enumerate(self.items)}

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, item: str) -> bool:
        return item in self.ids

    def get(self, item: str, default: int = UNK_ID) -> int:
        return self.ids.get(item, default)


@dataclass
class Vocabulary:
    """Everything needed to turn sentences into ids and tag ids back into tags."""

    words: Index
    chars: Index
    tags: Index
    column: str
    word_counts: dict[str, int]  # training frequency of every word form, kept or not

    def word_id(self, form: str) -> int:
        """Exact form, else its lower-cased form, else unknown."""
        i = self.words.ids.get(form)
        if i is None:
            i = self.words.ids.get(form.lower(), UNK_ID)
        return i

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

    def to_json(self) -> dict:
        return {
            "format": VOCAB_FORMAT,
            "column": self.column,
            "words": self.words.items,
            "chars": self.chars.items,
            "tags": self.tags.items,
            "word_counts": self.word_counts,
        }

    @classmethod
    def from_json(cls, data: dict, path: str | Path = "vocab.json") -> Vocabulary:
        try:
            if data.get("format") != VOCAB_FORMAT:
                raise PostaggerError(
                    f"vocabulary format {data.get('format')!r} is not supported "
                    f"(this version reads format {VOCAB_FORMAT})",
                    path,
                )
            vocab = cls(
                Index(list(data["words"])),
                Index(list(data["chars"])),
                Index(list(data["tags"])),
                str(data["column"]),
                {str(k): int(v) for k, v in data["word_counts"].items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise PostaggerError(f"not a postagger vocabulary ({err!r})", path) from None
        if (
            vocab.words.items[:2] != [PAD, UNK]
            or vocab.chars.items[:4] != [PAD, UNK, BOW, EOW]
            or vocab.tags.items[:1] != [PAD]
        ):
            raise PostaggerError("not a postagger vocabulary (reserved ids missing)", path)
        return vocab

    def save(self, path: str | Path) -> None:
        from postagger.atomic import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PostaggerError("no such file", p) from None
        except IsADirectoryError:
            raise PostaggerError("is a directory, expected a vocabulary JSON file", p) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise PostaggerError(f"not a JSON vocabulary file ({err})", p) from None
        if not isinstance(data, dict):
            raise PostaggerError("not a postagger vocabulary", p)
        return cls.from_json(data, p)

    def summary(self) -> dict:
        total = sum(self.word_counts.values())
        covered = sum(n for w, n in self.word_counts.items() if w in self.words)
        return {
            "column": self.column,
            "words": len(self.words),
            "chars": len(self.chars),
            "tags": len(self.tags) - 1,
            "training_tokens": total,
            "training_types": len(self.word_counts),
            "token_coverage": covered / total if total else 0.0,
        }


def build_vocabulary(
    sentences: Iterable[Sentence], column: str = "upos", min_count: int = 1, min_char_count: int = 1
) -> Vocabulary:
    """Count forms, characters and tags of the training sentences.

    Word forms seen at least `min_count` times get an embedding; rarer words map to the
    unknown id but stay in `word_counts` so that OOV words can be told apart in evaluation.
    """
    words, chars, tags = Counter(), Counter(), Counter()
    for sentence in sentences:
        tags.update(check_tags(sentence, column))
        for form in sentence.forms:
            words[form] += 1
            chars.update(form)
    if not words:
        raise PostaggerError("no sentences with words in the training data")
    kept = [w for w, n in sorted(words.items(), key=lambda x: (-x[1], x[0])) if n >= min_count]
    return Vocabulary(
        words=Index([PAD, UNK, *kept]),
        chars=Index([PAD, UNK, BOW, EOW, *sorted(c for c, n in chars.items() if n >= min_char_count)]),
        tags=Index([PAD, *sorted(tags)]),
        column=column,
        word_counts=dict(sorted(words.items(), key=lambda x: (-x[1], x[0]))),
    )
