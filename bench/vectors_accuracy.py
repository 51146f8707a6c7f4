"""Does pretraining word vectors help? EWT test UPOS with and without fastText vectors.

    .venv/bin/python bench/vectors_accuracy.py [--ewt-dir DIR] [--work DIR] [--retrain-baseline]

1. Builds a raw-text corpus available offline: the words of EWT train (one sentence per
   line) plus the glosses and examples of Princeton WordNet 3.0 from Debian's `wordnet-base`
   package (`apt-get install wordnet-base`: /usr/share/wordnet/data.{noun,verb,adj,adv}),
   tokenized by postagger's own language-independent tokenizer.
2. `postagger vectors train` → 100-dimensional skipgram vectors (.bin).
3. Trains the shipped configuration (`--seed 1`, everything else default) with vectors
   fine-tuned, frozen, and each with `--extend-vocab 20000`. The row without vectors is the
   shipped models/en_ewt (the same command without --vectors), unless --retrain-baseline.
4. Prints a Markdown table of dev/test UPOS and UPOS on unseen words, and training time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from ewt_wordnet_corpus import build_corpus

ROOT = Path(__file__).resolve().parent.parent
EXE = str(Path(sys.executable).with_name("postagger"))


def train(ewt: Path, out: Path, extra: list[str]) -> float:
    start = time.monotonic()
    cmd = [
        EXE, "train", str(ewt / "en_ewt-ud-train.conllu"), "--dev", str(ewt / "en_ewt-ud-dev.conllu"),
        "--test", str(ewt / "en_ewt-ud-test.conllu"), "--seed", "1", "-o", str(out), *extra,
    ]  # fmt: skip
    print("$", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True)
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ewt-dir", default=str(ROOT.parent / "shared" / "ud" / "UD_English-EWT"))
    parser.add_argument("--work", default=str(ROOT / ".bench-work"))
    parser.add_argument("--extend", type=int, default=20000)
    parser.add_argument("--retrain-baseline", action="store_true")
    args = parser.parse_args()
    ewt, work = Path(args.ewt_dir), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    corpus = work / "corpus.txt"
    stats = build_corpus(ewt, corpus)
    print(f"corpus: {stats}", file=sys.stderr, flush=True)
    vectors = work / "ewt-wordnet.100.bin"
    start = time.monotonic()
    subprocess.run([EXE, "vectors", "train", str(corpus), "-o", str(vectors), "--dim", "100",
                    "--epochs", "5", "--min-count", "3"], check=True)  # fmt: skip
    vectors_seconds = time.monotonic() - start

    runs = [
        ("no vectors", []),
        ("vectors, fine-tuned", ["--vectors", str(vectors)]),
        ("vectors, frozen", ["--vectors", str(vectors), "--freeze-embeddings"]),
        ("vectors, fine-tuned, extend-vocab",
         ["--vectors", str(vectors), "--extend-vocab", str(args.extend)]),
        ("vectors, frozen, extend-vocab",
         ["--vectors", str(vectors), "--freeze-embeddings", "--extend-vocab", str(args.extend)]),
    ]  # fmt: skip
    results = []
    for i, (label, extra) in enumerate(runs):
        model = work / f"model-{i}"
        if not extra and not args.retrain_baseline:
            model = ROOT / "models" / "en_ewt"
            seconds = json.loads((model / "config.json").read_text())["provenance"]["trained"]["seconds"]
        else:
            seconds = train(ewt, model, extra)
        metrics = json.loads((model / "metrics.json").read_text())
        results.append((label, metrics, seconds))
        print(f"{label}: {json.dumps({k: metrics[k]['upos'] for k in ('dev', 'test')})}", file=sys.stderr)

    print(f"Corpus for the vectors: {stats['ewt_words']:,} words of EWT train + {stats['wordnet_words']:,} "
          f"words of WordNet 3.0 glosses; `postagger vectors train` (skipgram, 100 dimensions, 5 epochs, "
          f"min count 3) took {vectors_seconds:.0f} s.\n")  # fmt: skip
    print("| embeddings | dev UPOS | test UPOS | test UPOS, unseen words | training time (s) | epochs |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, m, seconds in results:
        print(f"| {label} | {m['dev']['upos']:.4f} | {m['test']['upos']:.4f} | {m['test']['upos_oov']:.4f} | "
              f"{seconds:.0f} | {m['best_epoch']} of {m['epochs_run']} |")  # fmt: skip


if __name__ == "__main__":
    main()
