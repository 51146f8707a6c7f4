"""Two versions of postagger side by side: same output, and how fast each tags (one run).

    git worktree add ../postagger-old <commit>
    .venv/bin/python bench/compare_versions.py ../postagger-old [--runs 5] [--repeat 10]

Each version runs as `python -m postagger` with its own checkout as the working directory
(so its own package is imported; both use this virtual environment and the shipped model
of their checkout). Inputs: en_ewt-ud-test repeated --repeat times as CoNLL-U and as raw
text (its `# text` lines, a blank line between sentences), each with --jobs 1 and 2, and
`--output-format jsonl --top-k 3`. Outputs are compared (CoNLL-U byte for byte; jsonl:
the same tags and top-3 lists, probabilities within 1e-6), then each row is timed --runs
times with old and new interleaved (old, new, old, new, ...), so that the machine's drift
touches both alike; the ratio new/old of the medians is printed per row. Cold start (one
sentence) too. Prints Markdown for docs/BENCHMARKS.md.
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

from benchlib import ROOT, cpu_name

from postagger.conllu_io import read_treebank


def run(checkout: Path, args: list[str], stdin: bytes | None = None) -> float:
    """Wall seconds of one `python -m postagger ...` in `checkout`."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "postagger", *args], cwd=checkout, input=stdin, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - start


def same_jsonl(a: Path, b: Path) -> str:
    """'' when both hold the same tags and top lists with probabilities within 1e-6, else
    what differs."""
    worst = 0.0
    lines_a, lines_b = a.read_text().splitlines(), b.read_text().splitlines()
    if len(lines_a) != len(lines_b):
        return f"{len(lines_a)} lines against {len(lines_b)}"
    for x, y in zip(map(json.loads, lines_a), map(json.loads, lines_b)):
        strip = ("probs", "top")
        if {k: v for k, v in x.items() if k not in strip} != {k: v for k, v in y.items() if k not in strip}:
            return "different tags or fields"
        if [[t for t, _ in w] for w in x["top"]] != [[t for t, _ in w] for w in y["top"]]:
            return "different top-3 lists"
        worst = max(
            [worst] + [abs(p - q) for u, v in zip(x["top"], y["top"]) for (_, p), (_, q) in zip(u, v)]
        )
    return "" if worst <= 1e-6 + 1e-12 else f"probabilities {worst:g} apart"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="checkout of the other version")
    parser.add_argument("--ewt-dir", default=str(ROOT.parent / "shared" / "ud" / "UD_English-EWT"))
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    versions = {"old": args.old.resolve(), "new": ROOT}
    test = Path(args.ewt_dir) / "en_ewt-ud-test.conllu"
    words = sum(len(s.forms) for s in read_treebank([test])) * args.repeat
    with tempfile.TemporaryDirectory() as tmp:
        rows = inputs(Path(tmp), test, args.repeat)
        verdicts = compare_outputs(Path(tmp), versions, rows)
        times = {(label, name): [] for label in rows for name in versions}
        for _ in range(args.runs):  # old, new, old, new, ...: the machine's drift touches both
            for label, row in rows.items():
                for name, checkout in versions.items():
                    stdin = b"This is a test .\n" if row[1] == "-" else None
                    times[label, name].append(run(checkout, row, stdin))
    print(f"Machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{date.today()}. Command: `.venv/bin/python bench/compare_versions.py {' '.join(sys.argv[1:])}`; "
          f"old = {_commit(versions['old'])}, new = {_commit(ROOT)}. Median of {args.runs} runs each, old "
          f"and new interleaved; en_ewt-ud-test × {args.repeat} ({words:,} words), file in → file "
          "out.\n")  # fmt: skip
    print("| input → output | old | new | new / old (speed) | outputs |")
    print("|---|---:|---:|---:|---|")
    for label in rows:
        old, new = (statistics.median(times[label, name]) for name in versions)
        if label in verdicts:
            print(f"| {label} (words/s) | {words / old:,.0f} | {words / new:,.0f} | {old / new:.3f} | "
                  f"{verdicts[label]} |")  # fmt: skip
        else:
            print(f"| {label} (s) | {old:.2f} | {new:.2f} | {old / new:.3f} | |")


def inputs(tmp: Path, test: Path, repeat: int) -> dict[str, list[str]]:
    """The `postagger tag` arguments of each row, the input files written into `tmp`."""
    big = tmp / "big.conllu"
    big.write_bytes(test.read_bytes() * repeat)
    texts = [line[len("# text = ") :] for line in test.read_text(encoding="utf-8").splitlines()
             if line.startswith("# text = ")]  # fmt: skip
    big_text = tmp / "big.txt"
    big_text.write_text("\n\n".join(texts * repeat) + "\n", encoding="utf-8")
    out = ["-o", str(tmp / "out")]
    rows = {}
    for jobs in ("1", "2"):
        rows[f"CoNLL-U → CoNLL-U, --jobs {jobs}"] = ["tag", str(big), "--jobs", jobs, *out]
        rows[f"raw text → CoNLL-U, --jobs {jobs}"] = ["tag", str(big_text), "--jobs", jobs, *out]
    jsonl = ["--output-format", "jsonl", "--top-k", "3"]
    rows["CoNLL-U → jsonl --top-k 3, --jobs 2"] = ["tag", str(big), "--jobs", "2", *jsonl, *out]
    rows["cold start, one sentence"] = ["tag", "-", "--input-format", "tokens"]
    return rows


def compare_outputs(tmp: Path, versions: dict[str, Path], rows: dict[str, list[str]]) -> dict[str, str]:
    """Each file row's verdict on the two versions' outputs."""
    verdicts = {}
    for label, row in rows.items():
        if row[1] == "-":
            continue
        written = {}
        for name, checkout in versions.items():
            written[name] = tmp / f"{name}.out"
            run(checkout, [*row[:-1], str(written[name])])
        old, new = written["old"], written["new"]
        if old.read_bytes() == new.read_bytes():
            verdicts[label] = "byte-identical"
        elif "jsonl" in label:
            verdicts[label] = same_jsonl(old, new) or "same tags, probabilities within 1e-6"
        else:
            verdicts[label] = "bytes differ"
    return verdicts


def _commit(checkout: Path) -> str:
    """The checkout's commit, marked "-dirty" when it has uncommitted changes."""
    result = subprocess.run(["git", "-C", str(checkout), "describe", "--always", "--dirty"],
                            capture_output=True, text=True)  # fmt: skip
    return result.stdout.strip() or "?"


if __name__ == "__main__":
    main()
