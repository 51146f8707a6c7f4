"""spaCy as a peer (a benchmark extra: `pip install -e '.[bench]'`): trained the way a user
would, `spacy init config --lang LANG --pipeline tagger,morphologizer --optimize
efficiency`, on the same CoNLL-U files (`spacy convert`, 10 sentences a document), for
`steps` updates; it then tags pre-tokenized sentences (gold tokens), `nlp.pipe` over Docs.

    .venv/bin/python bench/spacy_peer.py train UD_DIR OUT_DIR [--steps 8000] [--lang en]

writes the pipeline to OUT_DIR/model-best (what bench/speed.py --spacy-model and
bench/accuracy.py --spacy-model take).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path


def train_spacy(train: Path, dev: Path, work: Path, steps: int = 8000, lang: str = "en", seed: int = 1):
    """(seconds of `spacy train`, the model-best directory)."""
    python = [sys.executable, "-m", "spacy"]
    corpus = work / "spacy-corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for path in (train, dev):
        _run([*python, "convert", str(path), str(corpus), "--converter", "conllu", "-n", "10"])
    config = work / "spacy-config.cfg"
    _run([*python, "init", "config", str(config), "--lang", lang, "--pipeline", "tagger,morphologizer",
          "--optimize", "efficiency", "--force"])  # fmt: skip
    output = work / "spacy-model"
    start = time.perf_counter()
    paths = ["--paths.train", str(corpus / f"{train.stem}.spacy"), "--paths.dev"]
    paths.append(str(corpus / f"{dev.stem}.spacy"))
    _run([*python, "train", str(config), "--output", str(output), *paths,
          "--training.max_steps", str(steps), "--system.seed", str(seed)])  # fmt: skip
    return time.perf_counter() - start, output / "model-best"


def _run(command: list[str]) -> None:
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stderr[-3000:]}")


def load(model: str | Path):
    import spacy

    return spacy.load(model)


def tag(nlp, sentences: list[list[str]], n_process: int = 1) -> tuple[float, list[dict[str, list[str]]]]:
    """(seconds, each sentence's "upos", "xpos" and "feats") for pre-tokenized sentences:
    Docs built from the words (not timed), then `nlp.pipe` (timed)."""
    from spacy.tokens import Doc

    docs = [Doc(nlp.vocab, words=words) for words in sentences]
    start = time.perf_counter()
    tagged = list(nlp.pipe(docs, n_process=n_process, batch_size=256))
    seconds = time.perf_counter() - start
    columns = [
        {
            "upos": [t.pos_ or "X" for t in doc],
            "xpos": [t.tag_ or "_" for t in doc],
            "feats": [str(t.morph) or "_" for t in doc],
        }
        for doc in tagged
    ]
    return seconds, columns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["train"])
    parser.add_argument("treebank")
    parser.add_argument("out")
    parser.add_argument("--steps", type=int, default=8000)
    parser.add_argument("--lang", default="en")
    args = parser.parse_args()
    folder, out = Path(args.treebank), Path(args.out)
    train = sorted(folder.glob("*-ud-train.conllu"))[0]
    dev = sorted(folder.glob("*-ud-dev.conllu"))[0]
    seconds, model = train_spacy(train, dev, out, args.steps, args.lang)
    print(f"spaCy trained in {seconds:.0f} s → {model}")


if __name__ == "__main__":
    main()
