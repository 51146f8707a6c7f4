"""Cold start of several models, interleaved: one sentence through a whole `postagger tag`
process, the models taking turns run after run, so that a machine changing speed affects
them alike. With --file, the same for tagging that file (CoNLL-U in, CoNLL-U out, the
output discarded) with --jobs: throughput, interleaved. With --engines, each model is run
by each engine in turn; with --nltk TRAIN (and --file), NLTK's perceptron trained on TRAIN
takes its turn too, as a whole process reading and writing CoNLL-U (bench/nltk_tag.py).

    .venv/bin/python bench/cold_start.py [--runs 15] [--file FILE [--jobs N] [--nltk TRAIN]]
        [--engines auto,onnx-int8] MODEL_DIR [MODEL_DIR ...]

Prints each contestant's median (and words/s with --file) and its ratio to the first one's.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXE = str(Path(sys.executable).with_name("postagger"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--file", help="tag this file (CoNLL-U) instead of one sentence")
    parser.add_argument("--jobs", type=int, default=0, help="with --file: worker processes (0: the default)")
    parser.add_argument("--engines", default="auto", help="comma-separated engines to run each model with")
    parser.add_argument("--nltk", metavar="TRAIN", help="with --file: NLTK's perceptron trained on TRAIN too")
    args = parser.parse_args()
    if args.nltk and not args.file:
        parser.error("--nltk needs --file")
    words = _words(args.file) if args.file else 0
    with tempfile.TemporaryDirectory() as tmp:
        commands = _commands(args, Path(tmp))
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, (command, stdin) in commands.items():
                start = time.perf_counter()
                subprocess.run(command, input=stdin, stdout=subprocess.DEVNULL, check=True)
                times[name].append(time.perf_counter() - start)
    first = statistics.median(next(iter(times.values())))
    for name, seconds in times.items():
        median = statistics.median(seconds)
        rate = f", {words / median:,.0f} words/s" if words else ""
        print(f"{name}: median {median:.3f} s over {args.runs} runs{rate}, {median / first:.3f} × the first")


def _commands(args, tmp: Path) -> dict[str, tuple[list[str], bytes | None]]:
    """Each contestant's name → (command, stdin)."""
    commands = {}
    for model in args.models:
        for engine in args.engines.split(","):
            name = model if args.engines == "auto" else f"{model} --engine {engine}"
            options = ["--model", model, "--engine", engine]
            if args.file:
                jobs = ["--jobs", str(args.jobs)] if args.jobs else []
                commands[name] = ([EXE, "tag", args.file, *options, *jobs], None)
            else:
                commands[name] = ([EXE, "tag", "--input-format", "tokens", *options], b"This is a test .\n")
    if args.nltk:
        sys.path.insert(0, str(ROOT / "bench"))
        from benchlib import train_nltk_perceptron

        with open(tmp / "nltk.pickle", "wb") as f:
            pickle.dump(train_nltk_perceptron(Path(args.nltk)), f)
        script = str(ROOT / "bench" / "nltk_tag.py")
        command = [sys.executable, script, str(tmp / "nltk.pickle"), args.file, str(tmp / "nltk.conllu")]
        commands["NLTK averaged perceptron, CoNLL-U → CoNLL-U (bench/nltk_tag.py)"] = (command, None)
    return commands


def _words(path: str) -> int:
    """Syntactic words of a CoNLL-U file (lines whose ID is an integer)."""
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.split("\t", 1)[0].isdigit())


if __name__ == "__main__":
    main()
