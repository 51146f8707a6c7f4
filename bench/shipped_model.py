"""Benchmark of a trained model: accuracy on EWT dev/test and end-to-end tagging speed.

    .venv/bin/python bench/shipped_model.py [--ewt-dir DIR] [--model DIR] [--runs N]

Accuracy comes from `postagger evaluate --json` (gold tokenization). Speed is the wall
time of the whole `postagger tag` process (start-up and model loading included) on the
test file given as CoNLL-U, as one-sentence-per-line tokens and as raw text (its `# text`
lines), with the default engine (onnx: NumPy + ONNX Runtime) and the Keras engine, the
median of N runs, with the peak RSS of the process. It also checks that the onnx and numpy
engines give the Keras model's tags on every test word. Prints a Markdown section for
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from benchlib import cpu_name  # noqa: E402

EXE = str(Path(sys.executable).with_name("postagger"))


def run(args: list[str], capture: bool = True) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MiB, stdout) of one command; RSS from wait4 of that child."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out if capture else subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"failed: {' '.join(args)}\n{err.read()}")
        out.seek(0)
        return seconds, usage.ru_maxrss // 1024, out.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ewt-dir", default=str(ROOT.parent / "shared" / "ud" / "UD_English-EWT"))
    parser.add_argument("--model", default=str(ROOT / "models" / "en_ewt"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ewt = Path(args.ewt_dir)
    dev, test = ewt / "en_ewt-ud-dev.conllu", ewt / "en_ewt-ud-test.conllu"

    scores = {}
    for name, path in (("dev", dev), ("test", test)):
        _, _, out = run([EXE, "evaluate", str(path), "--model", args.model, "--json"])
        scores[name] = json.loads(out)

    with tempfile.TemporaryDirectory() as tmp:
        tokens_file = Path(tmp) / "test.tok"
        _, _, out = run([EXE, "tag", str(test), "--model", args.model, "--output-format", "jsonl"])
        sentences = [json.loads(line)["words"] for line in out.splitlines()]
        tokens_file.write_text("".join(" ".join(s) + "\n" for s in sentences), encoding="utf-8")
        n_tokens = sum(len(s) for s in sentences)
        text_file = Path(tmp) / "test.txt"
        texts = [line[len("# text = ") :] for line in test.read_text(encoding="utf-8").splitlines()
                 if line.startswith("# text = ")]  # fmt: skip
        text_file.write_text("\n\n".join(texts) + "\n", encoding="utf-8")
        one_sentence = Path(tmp) / "one.tok"
        one_sentence.write_text("This is a test .\n", encoding="utf-8")
        speed = {}
        keras_engine = ["--engine", "keras"]
        for label, cmd in (
            ("conllu → conllu, Keras engine", [EXE, "tag", str(test), "--model", args.model, *keras_engine]),
            ("one short sentence, Keras engine", [EXE, "tag", str(one_sentence), "--model", args.model,
                                                  "--input-format", "tokens", *keras_engine]),
            ("conllu → conllu", [EXE, "tag", str(test), "--model", args.model]),
            ("tokens → tsv", [EXE, "tag", str(tokens_file), "--model", args.model,
                              "--input-format", "tokens", "--output-format", "tsv"]),
            ("text → conllu (tokenizer included)", [EXE, "tag", str(text_file), "--model", args.model]),
            ("one short sentence", [EXE, "tag", str(one_sentence), "--model", args.model,
                                    "--input-format", "tokens"]),
        ):  # fmt: skip
            cmd = [*cmd, "--jobs", "1"]  # every row one process, as before --jobs 0 became the default
            times, peaks = [], []
            for _ in range(args.runs):
                seconds, peak, _ = run(cmd, capture=False)
                times.append(seconds)
                peaks.append(peak)
            speed[label] = (statistics.median(times), max(peaks))

    # the onnx and numpy engines must give the Keras model's tags on every test sentence
    from postagger import Tagger
    from postagger.conllu_io import read_treebank

    forms = [s.forms for s in read_treebank([test])]
    keras_tags = [t.tags for t in Tagger.load(args.model, "keras").tag_sentences(forms)]
    differences = {}
    for engine in ("onnx", "numpy"):
        tags = [t.tags for t in Tagger.load(args.model, engine).tag_sentences(forms)]
        differences[engine] = sum(
            a != b for x, y in zip(tags, keras_tags) for column in x for a, b in zip(x[column], y[column])
        )
    joint = [m for m in ("xpos", "feats", "ufeats", "alltags") if m in scores["test"]]

    model_bytes = sum(f.stat().st_size for f in Path(args.model).iterdir() if f.is_file())
    print(f"## Shipped model `{os.path.relpath(args.model, ROOT)}` ({date.today().isoformat()})\n")
    print(f"Machine: {os.cpu_count()} × {cpu_name()}, Python {platform.python_version()}. "
          f"Command: `.venv/bin/python bench/shipped_model.py --runs {args.runs}`.\n")  # fmt: skip
    print("| split | words | UPOS | OOV words | UPOS on OOV | UPOS on seen |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, s in scores.items():
        print(f"| {name} | {s['tokens']:,} | {s['upos']:.4f} | {s['oov_tokens']:,} | "
              f"{s['upos_oov']:.4f} | {s['upos_seen']:.4f} |")  # fmt: skip
    if joint:
        names = {"xpos": "XPOS", "feats": "FEATS", "ufeats": "UFeats", "alltags": "AllTags"}
        print("\n| split | " + " | ".join(f"{names[m]} | {names[m]} on OOV" for m in joint) + " |")
        print("|---|" + "---:|" * (2 * len(joint)))
        for name, s in scores.items():
            print(f"| {name} | " + " | ".join(f"{s[m]:.4f} | {s[m + '_oov']:.4f}" for m in joint) + " |")
    print(f"\nModel directory size: {model_bytes / 1e6:.1f} MB.\n")
    print(f"End-to-end `postagger tag` on en_ewt-ud-test ({n_tokens:,} words), whole process, "
          f"median of {args.runs} runs:\n")  # fmt: skip
    print("| input → output | wall time (s) | words/s | peak RSS (MiB) |")
    print("|---|---:|---:|---:|")
    for label, (seconds, peak) in speed.items():
        rate = f"{n_tokens / seconds:,.0f}" if "short" not in label else "—"
        print(f"| {label} | {seconds:.2f} | {rate} | {peak:,} |")
    columns = ", ".join(keras_tags[0]).upper()
    for engine, count in differences.items():
        where = f"all {n_tokens:,} test words ({columns})"
        print(f"\n{engine} and Keras engines on {where}: {count} different tags.")


if __name__ == "__main__":
    main()
