"""Cold start of several models, interleaved: one sentence through a whole `postagger tag`
process, the models taking turns run after run, so that a machine changing speed affects
them alike.

    .venv/bin/python bench/cold_start.py [--runs 15] MODEL_DIR [MODEL_DIR ...]

Prints each model's median and its ratio to the first model's.
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
    args = parser.parse_args()
    times: dict[str, list[float]] = {model: [] for model in args.models}
    for _ in range(args.runs):
        for model in args.models:
            start = time.perf_counter()
            command = [EXE, "tag", "--input-format", "tokens", "--model", model]
            subprocess.run(command, input=b"This is a test .\n", stdout=subprocess.DEVNULL, check=True)
            times[model].append(time.perf_counter() - start)
    first = statistics.median(times[args.models[0]])
    for model, seconds in times.items():
        median = statistics.median(seconds)
        print(f"{model}: median {median:.3f} s over {args.runs} runs, {median / first:.3f} × the first")


if __name__ == "__main__":
    main()
