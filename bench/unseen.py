"""UPOS on words unseen in training, split by whether the model has a pretrained row for
them (a word `--extend-vocab` added from the vectors) or nothing but its characters.

    .venv/bin/python bench/unseen.py TRAIN GOLD NAME=MODEL_DIR [NAME=MODEL_DIR ...]
                                     [--split-by DIR] [--by-tag]

"Unseen" is what `postagger evaluate` calls unseen: the exact form never occurs in TRAIN.
A word "has a row" when the model's vocabulary holds its form or its lower-cased form
(`Vocabulary.word_id`); with --split-by, the rows of that model's vocabulary decide for
every model, so that all are scored on the same words. With --by-tag, a second table for
each model: the wrong unseen words by gold tag, with a row and without, and the most
frequent confusions. Gold tokenization, the default
(joint) decoding, the default engine. Prints a Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from postagger import Tagger
from postagger.conllu_io import read_treebank
from postagger.vocab import UNK_ID


def unseen_words(train: Path, gold: Path, model: Path, split_by: Path | None = None) -> list[tuple]:
    """(gold UPOS, the model's UPOS, whether it has a row) of each word of `gold` unseen in
    `train`; rows are those of the vocabulary of `split_by`, else the model's own."""
    seen = {form for sentence in read_treebank([train]) for form in sentence.forms}
    sentences = list(read_treebank([gold]))
    tagger = Tagger.load(model)
    vocab = Tagger.load(split_by).info.vocab if split_by else tagger.info.vocab
    return [
        (gold_tag, tag, vocab.word_id(form) != UNK_ID)
        for sentence, tags in zip(sentences, tagger.tag([s.forms for s in sentences]), strict=True)
        for form, gold_tag, tag in zip(sentence.forms, sentence.tags("upos"), tags)
        if form not in seen
    ]


def unseen_split(words: list[tuple]) -> dict[str, tuple[int, int]]:
    """(right, words) of the UPOS of the unseen `words`: all of them, with a row, without one."""
    counts = {"unseen": [0, 0], "with a row": [0, 0], "without a row": [0, 0]}
    for gold_tag, tag, row in words:
        for key in ("unseen", "with a row" if row else "without a row"):
            counts[key][0] += gold_tag == tag
            counts[key][1] += 1
    return {key: (right, n) for key, (right, n) in counts.items()}


def errors_by_tag(words: list[tuple]) -> tuple[dict, Counter]:
    """(gold tag → [wrong with a row, all with a row, wrong without, all without]) for the
    unseen `words`, and the (gold, predicted) confusions among them."""
    counts: dict[str, list[int]] = {}
    confusions: Counter = Counter()
    for gold_tag, tag, row in words:
        cell = counts.setdefault(gold_tag, [0, 0, 0, 0])
        at = 0 if row else 2
        cell[at] += gold_tag != tag
        cell[at + 1] += 1
        if gold_tag != tag:
            confusions[gold_tag, tag] += 1
    return counts, confusions


def print_by_tag(name: str, counts: dict, confusions: Counter) -> None:
    print(f"\n{name}: wrong unseen words by gold UPOS (wrong / all)\n")
    print("| gold UPOS | with a row | without a row |")
    print("|---|---:|---:|")
    for tag, (wrong_row, all_row, wrong_none, all_none) in sorted(
        counts.items(), key=lambda item: -(item[1][0] + item[1][2])
    ):
        print(f"| {tag} | {wrong_row}/{all_row} | {wrong_none}/{all_none} |")
    wrong = sum(c[0] + c[2] for c in counts.values())
    common = ", ".join(f"{g} → {p} {n}" for (g, p), n in confusions.most_common(6))
    print(f"\n{wrong} wrong in all; most frequent (gold → tagged): {common}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train", type=Path)
    parser.add_argument("gold", type=Path)
    parser.add_argument("models", nargs="+", help="NAME=MODEL_DIR")
    parser.add_argument("--split-by", type=Path, help="the model whose vocabulary's rows split the words")
    parser.add_argument("--by-tag", action="store_true", help="also the wrong unseen words by gold tag")
    args = parser.parse_args()
    rows = f"rows of {args.split_by}" if args.split_by else "each model's own rows"
    print(f"UPOS on the words of `{args.gold.name}` unseen in `{args.train.name}` ({rows}):\n")
    print("| model | unseen | with a pretrained row | without a row (characters only) |")
    print("|---|---:|---:|---:|")
    found = {}
    for spec in args.models:
        name, _, folder = spec.partition("=")
        found[name] = words = unseen_words(args.train, args.gold, Path(folder), args.split_by)
        cells = [f"{100 * r / n:.2f} ({n:,})" if n else "— (0)" for r, n in unseen_split(words).values()]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.by_tag:
        for name, words in found.items():
            print_by_tag(name, *errors_by_tag(words))


if __name__ == "__main__":
    main()
