"""Loading a big text .vec: time against a plain line-by-line read, and peak memory.

    .venv/bin/python bench/vectors_loading.py [--ewt-dir DIR] [--work DIR] [--words N] [--dim D] [--runs R]

Generates a 1,000,000-word × 300-dimension .vec (not committed; about 2.5 GB) whose words
include every form of the EWT training vocabulary (and their lower-cased forms) scattered
among synthetic words, then, each as its own process, median of R runs with a warm page
cache:
  - a plain read: Python iterating over the file's lines, doing nothing else;
  - `postagger vectors check BIG.vec --vocab ewt.json --json` (read, keep the rows the
    vocabulary needs, align, report coverage);
  - the same command on a 10-row file: the process baseline (Python, NumPy, vocabulary and
    an aligned matrix of the vocabulary's size).
Peak RSS is read per process from wait4. The bound checked: peak RSS of the big run ≤
baseline + 2 × (size of the kept rows).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EXE = str(Path(sys.executable).with_name("postagger"))


def measure(args: list[str]) -> tuple[float, int]:
    """(wall seconds, peak RSS in bytes) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(args)}")
    return time.perf_counter() - start, usage.ru_maxrss * 1024


def generate(path: Path, vocab_forms: list[str], words: int, dim: int, seed: int = 0) -> int:
    """Write the .vec; returns how many of its rows the vocabulary wants."""
    rng = np.random.default_rng(seed)
    pool = [" ".join(f"{x:.5f}" for x in row) for row in rng.normal(0, 0.3, size=(1000, dim))]
    wanted = list(dict.fromkeys([*vocab_forms, *(f.lower() for f in vocab_forms)]))
    positions = set(rng.choice(words, size=len(wanted), replace=False).tolist())
    it = iter(wanted)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(f"{words} {dim}\n")
        for i in range(words):
            word = next(it) if i in positions else f"synthetic{i}"
            out.write(f"{word} {pool[i % 1000]}\n")
    return len(wanted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ewt-dir", default=str(ROOT.parent / "shared" / "ud" / "UD_English-EWT"))
    parser.add_argument("--work", default=str(ROOT / ".bench-work"))
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    from postagger.conllu_io import read_treebank
    from postagger.vocab import build_vocabulary

    vocab = build_vocabulary(read_treebank([Path(args.ewt_dir) / "en_ewt-ud-train.conllu"]))
    vocab_file = work / "ewt-vocab.json"
    vocab.save(vocab_file)
    big, small = work / f"big.{args.words}x{args.dim}.vec", work / "small.vec"
    if not big.exists():
        generate(big, vocab.words.items[2:], args.words, args.dim)
    with open(big, encoding="utf-8") as f, open(small, "w", encoding="utf-8") as s:
        f.readline()
        s.write(f"10 {args.dim}\n" + "".join(f.readline() for _ in range(10)))

    # a vocabulary of one word that the file does not hold: the whole file is read and
    # checked, nothing is parsed
    tiny_vocab, tiny_conllu = work / "tiny-vocab.json", work / "tiny.conllu"
    tiny_conllu.write_text("1\tzzz-not-in-the-file\t_\tX\t_\t_\t_\t_\t_\t_\n\n", encoding="utf-8")
    build_vocabulary(read_treebank([tiny_conllu])).save(tiny_vocab)

    plain = [sys.executable, "-c", "import sys\nfor line in open(sys.argv[1], 'rb'): pass", str(big)]
    check = [EXE, "vectors", "check", str(big), "--vocab", str(vocab_file), "--json"]
    scan = [EXE, "vectors", "check", str(big), "--vocab", str(tiny_vocab), "--json"]
    baseline = [EXE, "vectors", "check", str(small), "--vocab", str(vocab_file), "--json"]
    measure(plain)  # warm the page cache
    results = {}
    for label, cmd in (
        ("plain line read", plain),
        ("postagger vectors check", check),
        ("the same, a vocabulary the file lacks (read and check only)", scan),
        ("baseline", baseline),
    ):
        runs = [measure(cmd) for _ in range(args.runs)]
        results[label] = (statistics.median(t for t, _ in runs), max(r for _, r in runs))

    kept_rows = len(set(vocab.words.items[2:]) | {w.lower() for w in vocab.words.items[2:]})
    kept_bytes = kept_rows * args.dim * 4
    size = big.stat().st_size
    base_rss = results["baseline"][1]
    big_rss = results["postagger vectors check"][1]
    print(f"File: {args.words:,} words × {args.dim} dimensions, {size / 1e9:.2f} GB; the EWT vocabulary "
          f"wants {kept_rows:,} rows ({kept_bytes / 2**20:.1f} MiB as float32). Median of {args.runs} runs, "
          f"warm page cache.\n")  # fmt: skip
    print("| process | wall time (s) | MB/s | peak RSS (MiB) |")
    print("|---|---:|---:|---:|")
    for label, (seconds, rss) in results.items():
        print(f"| {label} | {seconds:.1f} | {size / 1e6 / seconds:,.0f} | {rss / 2**20:,.0f} |")
    ratio = results["postagger vectors check"][0] / results["plain line read"][0]
    bound = base_rss + 2 * kept_bytes
    print(f"\nTime against the plain read: {ratio:.2f}×. Peak RSS {big_rss / 2**20:,.0f} MiB against "
          f"the bound "
          f"baseline + 2 × kept = {base_rss / 2**20:,.0f} + {2 * kept_bytes / 2**20:,.0f} = "
          f"{bound / 2**20:,.0f} MiB: {'within' if big_rss <= bound else 'OVER'} the bound.")  # fmt: skip


if __name__ == "__main__":
    main()
