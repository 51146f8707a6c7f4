"""A raw-text English corpus available offline, for training word vectors.

    .venv/bin/python bench/ewt_wordnet_corpus.py [EWT_DIR] OUT.txt

The words of EWT train (one sentence per line) plus the glosses and examples of Princeton
WordNet 3.0 from Debian's `wordnet-base` package (`apt-get install wordnet-base`:
/usr/share/wordnet/data.{noun,verb,adj,adv}; WordNet licence: free use with attribution,
see /usr/share/doc/wordnet-base/copyright), tokenized by postagger's own
language-independent tokenizer. About 1.9 million words.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORDNET = Path("/usr/share/wordnet")


def build_corpus(ewt: Path, out: Path) -> dict:
    from postagger.conllu_io import read_treebank
    from postagger.text import Tokenizer

    tokenizer = Tokenizer()
    lines = [" ".join(s.forms) for s in read_treebank([ewt / "en_ewt-ud-train.conllu"])]
    ewt_words = sum(len(line.split()) for line in lines)
    for part in ("noun", "verb", "adj", "adv"):
        path = WORDNET / f"data.{part}"
        if not path.exists():
            sys.exit(f"{path} is missing: apt-get install wordnet-base")
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("  ") or "|" not in line:
                continue  # licence header
            gloss = line.split("|", 1)[1].strip()
            for sentence in tokenizer.sentences(gloss.replace(";", " ;")):
                lines.append(" ".join(w for token in sentence for w in token.words))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    total = sum(len(line.split()) for line in lines)
    return {"ewt_words": ewt_words, "wordnet_words": total - ewt_words, "lines": len(lines)}


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) not in (1, 2):
        sys.exit(__doc__)
    ewt = Path(args[0]) if len(args) == 2 else ROOT.parent / "shared" / "ud" / "UD_English-EWT"
    print(build_corpus(ewt, Path(args[-1])), file=sys.stderr)
