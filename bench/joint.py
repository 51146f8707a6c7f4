"""Joint tagging against UPOS alone: the same network and data, trained for UPOS only and
for UPOS + XPOS + FEATS (FEATS whole, and one head per feature), scored on dev and test.

    .venv/bin/python bench/joint.py [UD_DIR] [--vectors FILE] [--epochs N] [--work DIR]

UD_DIR holds *-ud-train/dev/test.conllu (default: ../shared/ud/UD_English-EWT). Each run is
`postagger train` as a process, one after the other (so that they do not share the cores),
with the options given plus `--seed 1`; the scores are read from each model's
metrics.json (UFeats and AllTags as the CoNLL 2018 evaluation script defines them). Prints
a Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import cpu_name  # noqa: E402

EXE = str(Path(sys.executable).with_name("postagger"))
VARIANTS = {
    "UPOS alone": ["--columns", "upos"],
    "UPOS+XPOS+FEATS, FEATS whole": ["--columns", "upos,xpos,feats", "--feats-heads", "whole"],
    "UPOS+XPOS+FEATS, a head per feature": ["--columns", "upos,xpos,feats", "--feats-heads", "split"],
}
METRICS = ("upos", "upos_oov", "xpos", "ufeats", "alltags")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("treebank", nargs="?", default=str(ROOT.parent / "shared" / "ud" / "UD_English-EWT"))
    parser.add_argument("--vectors", help="pretrained vectors (--vectors of postagger train)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--work", help="keep the models here (default: a temporary folder)")
    args = parser.parse_args()
    folder = Path(args.treebank)
    files = {split: sorted(folder.glob(f"*-ud-{split}.conllu"))[0] for split in ("train", "dev", "test")}
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.work or scratch)
        for i, (label, options) in enumerate(VARIANTS.items()):
            model = work / f"joint-{i}"
            command = [
                EXE, "train", str(files["train"]), "--dev", str(files["dev"]), "--test", str(files["test"]),
                "-o", str(model), "--epochs", str(args.epochs), "--patience", str(args.patience),
                "--seed", "1", *options, *(["--vectors", args.vectors] if args.vectors else []),
            ]  # fmt: skip
            print(f"running {label} ...", file=sys.stderr, flush=True)
            result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if result.returncode != 0:
                sys.exit(f"failed: {' '.join(command)}\n{result.stderr}")
            metrics = json.loads((model / "metrics.json").read_text(encoding="utf-8"))
            seconds = json.loads((model / "config.json").read_text(encoding="utf-8"))["provenance"]["trained"]
            rows.append((label, metrics, seconds["seconds"], metrics["best_epoch"]))
    print(
        f"{folder.name}, {date.today()}, {cpu_name()}, {os.cpu_count()} cores. Command: "
        f"`.venv/bin/python bench/joint.py {' '.join(sys.argv[1:])}`\n"
    )
    header = " | ".join(
        f"{split} {m.upper().replace('_OOV', ' OOV')}" for split in ("dev", "test") for m in METRICS
    )
    print(f"| model | {header} | best epoch | train time (s) |")
    print("|---|" + "---:|" * (2 * len(METRICS) + 2))
    for label, metrics, seconds, best in rows:
        cells = [
            f"{metrics[split][m]:.4f}" if m in metrics[split] else "—"
            for split in ("dev", "test")
            for m in METRICS
        ]
        print(f"| {label} | {' | '.join(cells)} | {best} | {seconds:,.0f} |")


if __name__ == "__main__":
    main()
