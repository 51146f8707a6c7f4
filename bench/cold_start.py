"""Cold start of several models, interleaved: one sentence through a whole `postagger tag`
process, the models taking turns run after run, so that a machine changing speed affects
them alike. With --file, the same for tagging that file (CoNLL-U in, CoNLL-U out, the
output discarded) with --jobs: throughput, interleaved.

    .venv/bin/python bench/cold_start.py [--runs 15] [--file FILE [--jobs N]] MODEL_DIR [MODEL_DIR ...]

Prints each model's median (and words/s with --file) and its ratio to the first model's.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

EXE = str(Path(sys.executable).with_name("postagger"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--file", help="tag this file (CoNLL-U) instead of one sentence")
    parser.add_argument("--jobs", type=int, default=0, help="with --file: worker processes (0: the default)")
    args = parser.parse_args()
    words = _words(args.file) if args.file else 0
    times: dict[str, list[float]] = {model: [] for model in args.models}
    for _ in range(args.runs):
        for model in args.models:
            start = time.perf_counter()
            if args.file:
                jobs = ["--jobs", str(args.jobs)] if args.jobs else []
                command = [EXE, "tag", args.file, "--model", model, *jobs]
                subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
            else:
                command = [EXE, "tag", "--input-format", "tokens", "--model", model]
                subprocess.run(command, input=b"This is a test .\n", stdout=subprocess.DEVNULL, check=True)
            times[model].append(time.perf_counter() - start)
    first = statistics.median(times[args.models[0]])
    for model, seconds in times.items():
        median = statistics.median(seconds)
        rate = f", {words / median:,.0f} words/s" if words else ""
        print(f"{model}: median {median:.3f} s over {args.runs} runs{rate}, {median / first:.3f} × the first")


def _words(path: str) -> int:
    """Syntactic words of a CoNLL-U file (lines whose ID is an integer)."""
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.split("\t", 1)[0].isdigit())


if __name__ == "__main__":
    main()
