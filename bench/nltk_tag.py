"""NLTK's averaged perceptron as a command, so that bench/speed.py can time it end to end as
it times `postagger tag`: one process that loads the tagger, reads a CoNLL-U file, fills
the UPOS column and writes CoNLL-U.

    python bench/nltk_tag.py TAGGER.pickle IN.conllu OUT.conllu

TAGGER.pickle is a trained `nltk.tag.perceptron.PerceptronTagger` written by bench/speed.py
(our own file: unpickling it is safe). The CoNLL-U handling is the least a script needs
(word lines are those whose ID is an integer; everything else is copied).
"""

from __future__ import annotations

import pickle
import sys


def main() -> None:
    tagger_path, source, target = sys.argv[1:4]
    with open(tagger_path, "rb") as f:
        tagger = pickle.load(f)
    with open(source, encoding="utf-8") as f, open(target, "w", encoding="utf-8") as out:
        block: list = []  # a sentence's lines: word lines split into fields, others as read
        for line in f:
            if line.strip():
                fields = line.rstrip("\n").split("\t")
                block.append(fields if fields[0].isdigit() else line)
            else:
                write(tagger, block, out)
                out.write(line)
                block = []
        write(tagger, block, out)


def write(tagger, block: list, out) -> None:
    words = [b for b in block if isinstance(b, list)]
    for fields, (_, tag) in zip(words, tagger.tag([w[1] for w in words]) if words else []):
        fields[3] = tag
    out.write("".join(b if isinstance(b, str) else "\t".join(b) + "\n" for b in block))


if __name__ == "__main__":
    main()
