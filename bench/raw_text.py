"""Raw text in, scored as the CoNLL 2018 shared task scores it: postagger's trained
segmenter against its rules, and UDPipe 1 trained on the same files (tokenizer included).

    .venv/bin/python bench/raw_text.py [TREEBANK_DIR ...] [--model en_ewt=models/en_ewt]
                                       [--runs 3] [--jobs 2] [--work DIR] [--no-udpipe]

For each treebank (default: UD_English-EWT, UD_Turkish-IMST, UD_Greek-GDT beside this
checkout, in ../shared/ud), the test file's raw text is made as the shared task made it
(`postagger.conll18.raw_text`: each paragraph's `# text` lines joined by a space, a blank
line at every `# newpar`/`# newdoc`). postagger's model is the one given with --model
(name=dir, the name being the treebank's file prefix, e.g. en_ewt) or one trained here
with every default (`postagger train TRAIN --dev DEV`, segmenter included); "rules" is
the same model without its segmenter. Each tags the raw text as a whole process (`postagger
tag test.txt -o out.conllu --jobs N`, median of --runs), and `postagger evaluate TEST
--pred out.conllu` scores the output. UDPipe 1 (`ufal.udpipe`, the bench extra) is trained
with its defaults on the same train and dev files (tokenizer and tagger, no parser) and
tags the same text in-process. Prints Markdown for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from benchlib import ROOT, cpu_name, udpipe_sentences

from postagger.conll18 import raw_text
from postagger.conllu_io import read_treebank

EXE = str(Path(sys.executable).with_name("postagger"))
METRICS = ("tokens", "sentences", "words", "upos", "alltags")


def treebank_files(folder: Path) -> dict[str, Path]:
    found = {split: next(folder.glob(f"*-ud-{split}.conllu"), None) for split in ("train", "dev", "test")}
    if None in found.values():
        sys.exit(f"{folder}: expected *-ud-train/dev/test.conllu")
    return found


def postagger_rows(name: str, files: dict, model: Path | None, work: Path, runs: int, jobs: int) -> list:
    if model is None:
        model = work / "model"
        start = time.perf_counter()
        subprocess.run([EXE, "train", str(files["train"]), "--dev", str(files["dev"]), "-o", str(model)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        print(f"trained {name} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    rules = work / "rules-model"
    shutil.copytree(model, rules, ignore=shutil.ignore_patterns("segmenter.*"), dirs_exist_ok=True)
    text, words = work / "test.txt", sum(len(s.words) for s in read_treebank([files["test"]]))
    rows = []
    for label, folder in (("postagger, rules", rules), ("postagger, trained segmenter", model)):
        out = work / f"{folder.name}.conllu"
        command = [EXE, "tag", str(text), "--model", str(folder), "-o", str(out), "--jobs", str(jobs)]
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(command, check=True)
            seconds.append(time.perf_counter() - start)
        scores = conll18_scores(files["test"], out, _columns(folder))
        rows.append(
            (name, f"{label} (--jobs {jobs}, whole process)", scores, words / statistics.median(seconds))
        )
    return rows


def conll18_scores(gold: Path, predicted: Path, columns: str) -> dict:
    """`postagger evaluate GOLD --pred PREDICTED --columns COLUMNS --json`'s CoNLL 2018 scores."""
    command = [EXE, "evaluate", str(gold), "--pred", str(predicted), "--columns", columns, "--json"]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)["conll18"]


def _columns(model: Path) -> str:
    return ",".join(json.loads((model / "config.json").read_text())["config"]["columns"])


def udpipe_row(name: str, files: dict, work: Path) -> tuple:
    import ufal.udpipe as u

    error = u.ProcessingError()
    start = time.perf_counter()
    train, dev = udpipe_sentences(files["train"]), udpipe_sentences(files["dev"])
    default = u.Trainer.DEFAULT
    model_bytes = u.Trainer.train("morphodita_parsito", train, dev, default, default, "none", error)
    if error.occurred():
        sys.exit(f"UDPipe training failed: {error.message}")
    print(f"UDPipe 1 trained on {name} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    (work / "udpipe.model").write_bytes(model_bytes)
    model = u.Model.load(str(work / "udpipe.model"))
    pipeline = u.Pipeline(model, "tokenize", u.Pipeline.DEFAULT, u.Pipeline.NONE, "conllu")
    text = (work / "test.txt").read_text(encoding="utf-8")
    start = time.perf_counter()
    tagged = pipeline.process(text, error)
    seconds = time.perf_counter() - start
    out = work / "udpipe.conllu"
    out.write_text(tagged, encoding="utf-8")
    scores = conll18_scores(files["test"], out, "upos,xpos,feats")
    words = sum(len(s.words) for s in read_treebank([files["test"]]))
    return (
        name,
        "UDPipe 1 (trained here, in-process, one thread)",
        scores,
        words / seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ud = ROOT.parent / "shared" / "ud"
    default = [ud / "UD_English-EWT", ud / "UD_Turkish-IMST", ud / "UD_Greek-GDT"]
    parser.add_argument("treebanks", nargs="*", type=Path, default=default)
    parser.add_argument("--model", action="append", default=[], help="NAME=DIR: use this model for NAME")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--work", help="keep models and outputs here (default: a temporary folder)")
    parser.add_argument("--no-udpipe", action="store_true")
    args = parser.parse_args()
    models = dict(item.split("=", 1) for item in args.model)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.work or tmp)
        for folder in args.treebanks:
            files = treebank_files(folder)
            name = files["test"].name.split("-ud-")[0]
            work = root / name
            work.mkdir(parents=True, exist_ok=True)
            (work / "test.txt").write_text(raw_text(read_treebank([files["test"]])), encoding="utf-8")
            model = Path(models[name]) if name in models else None
            rows += postagger_rows(name, files, model, work, args.runs, args.jobs)
            if not args.no_udpipe:
                rows.append(udpipe_row(name, files, work))
    command = f"`.venv/bin/python bench/raw_text.py {' '.join(sys.argv[1:])}`"
    print(f"Machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{date.today()}. Command: {command}.\n")  # fmt: skip
    print("| treebank | system | Tokens | Sentences | Words | UPOS | AllTags | words/s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, label, scores, rate in rows:
        cells = " | ".join(f"{100 * scores[m]['f1']:.2f}" if m in scores else "—" for m in METRICS)
        print(f"| {name} | {label} | {cells} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
