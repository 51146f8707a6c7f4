"""Tagging speed and memory: postagger against NLTK's perceptron (and UDPipe 1), one run.

    .venv/bin/python bench/speed.py [--ewt-dir DIR] [--model DIR] [--repeat 10] [--runs 5]
                                    [--jobs 1,2] [--udpipe-model FILE] [--baseline-model DIR]
                                    [--spacy-model DIR]

Measured, each as its own process, median of --runs (peak RSS from wait4):
- cold start: `echo "This is a test ." | postagger tag --input-format tokens`, and
  `postagger --help`;
- throughput, file in → file out: en_ewt-ud-test repeated --repeat times (about 250,000
  words) as CoNLL-U → CoNLL-U and as raw text (the CoNLL 2018 shared task's: a paragraph's
  `# text` lines on one line, a blank line between paragraphs; segmenter included),
  for each --jobs value, and CoNLL-U with default options (`--jobs 0`: one worker per core),
  exact and with `--engine onnx-int8`;
- memory: peak RSS on the test file once and repeated (the input 10× larger);
- peers on the same words, same run: NLTK's averaged perceptron (trained on EWT train
  first, not timed), timed in-process (tagging only) and end to end as a process that
  loads it, reads the CoNLL-U file and writes it tagged (bench/nltk_tag.py, one process);
  UDPipe 1 when `ufal.udpipe` is installed and --udpipe-model is given (in-process, gold
  tokenization); spaCy with --spacy-model (a pipeline trained by bench/spacy_peer.py:
  tagger + morphologizer, `--optimize efficiency`), `nlp.pipe` over pre-tokenized Docs,
  in-process, with `n_process` 1 and 2;
- with --baseline-model DIR: that model's cold start and CoNLL-U throughput in the same run
  (e.g. the model shipped before a change), and this model's with --no-joint-decoding;
- the same file with `--engine numpy` (NumPy alone), and en_ewt-ud-train once (204,577
  words, none repeated: the character-vector cache meets new words all along);
- the physical limit: the network's multiply-adds per word (from its weight shapes) and the
  machine's peak (cores × 2 FMA units × float32 lanes (16 with AVX-512, else 8) × 2 flops
  × clock), and the fraction of it the best throughput reaches.
Prints Markdown for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import cpu_name, train_nltk_perceptron  # noqa: E402

from postagger.conll18 import raw_text  # noqa: E402
from postagger.conllu_io import read_treebank  # noqa: E402

EXE = str(Path(sys.executable).with_name("postagger"))
INPUT_LABELS = {"gold": "CoNLL-U → CoNLL-U", "raw": "raw text → CoNLL-U (segmenter included)"}


def measure(args: list[str], stdin: bytes | None = None) -> tuple[float, int]:
    """(wall seconds, peak RSS MiB) of one process; stdout discarded."""
    with tempfile.TemporaryFile() as feed:
        if stdin is not None:
            feed.write(stdin)
            feed.seek(0)
        start = time.perf_counter()
        proc = subprocess.Popen(
            args, stdin=feed if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(args)}\n{proc.stderr.read().decode()}")
    return seconds, usage.ru_maxrss // 1024


def median_of(runs: int, args: list[str], stdin: bytes | None = None) -> tuple[float, int]:
    results = [measure(args, stdin) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def baseline_rows(args, rows: list, big: Path, out: Path, words: int) -> None:
    """The baseline model's cold start and CoNLL-U throughput, beside the model's own rows,
    and the model's with joint decoding off (`--no-joint-decoding`)."""
    model = ["--model", args.baseline_model]
    cold = median_of(args.runs, [EXE, "tag", "--input-format", "tokens", *model], b"This is a test .\n")
    rows.append((f"baseline {args.baseline_model}: cold start, one sentence", cold[0], None, cold[1]))
    for jobs in args.jobs.split(","):
        variants = (("baseline " + args.baseline_model, model), (f"{args.model} --no-joint-decoding", []))
        for label, extra in variants:
            command = [EXE, "tag", str(big), "-o", str(out), "--jobs", jobs, *extra]
            if not extra:
                command += ["--model", args.model, "--no-joint-decoding"]
            seconds, rss = median_of(args.runs, command)
            rows.append((f"{label}, {INPUT_LABELS['gold']}, --jobs {jobs}", seconds, words / seconds, rss))


def spacy_rows(args, rows: list, forms: list[list[str]], words: int) -> None:
    """spaCy's `nlp.pipe` over the same pre-tokenized sentences, in-process, median of runs."""
    from spacy_peer import load, tag

    nlp = load(args.spacy_model)
    for n_process in (1, 2):
        seconds = statistics.median(tag(nlp, forms, n_process)[0] for _ in range(args.runs))
        label = f"spaCy tagger+morphologizer (efficiency), nlp.pipe, in-process, n_process={n_process}"
        rows.append((label, seconds, words / seconds, None))


def multiply_adds_per_word(model: Path, chars_per_word: float) -> float:
    """Multiply-adds of the network per word, from the shapes in weights.npz."""
    import numpy as np

    with np.load(model / "weights.npz") as w:
        shapes = {name: w[name].shape for name in w.files}
    total = 0.0
    for name, shape in shapes.items():
        layer, index = name.rsplit("/", 1)
        if len(shape) != 2 or layer.endswith("embedding") or index == "0" and layer.startswith("char_"):
            continue  # lookups, not products
        per = shape[0] * shape[1]
        total += per * (chars_per_word if layer.startswith("char_") else 1)
    if "char_cnn/1" in shapes:
        k, dim, filters = shapes["char_cnn/1"]
        total += k * dim * filters * chars_per_word
    return total


def peak_flops() -> tuple[float, str]:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    mhz = max((float(line.split(":")[1]) for line in lines if line.startswith("cpu MHz")), default=0.0)
    flags = next((line for line in lines if line.startswith("flags")), "")
    lanes = 16 if " avx512f" in flags else 8
    cores = os.cpu_count() or 1
    peak = cores * 2 * lanes * 2 * mhz * 1e6
    return peak, f"{cores} cores × 2 FMA × {lanes} float32 lanes × 2 × {mhz / 1000:.2f} GHz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ewt-dir", default=str(ROOT.parent / "shared" / "ud" / "UD_English-EWT"))
    parser.add_argument("--model", default=str(ROOT / "models" / "en_ewt"))
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", default="1,2")
    parser.add_argument("--udpipe-model")
    parser.add_argument("--spacy-model", help="a spaCy pipeline (bench/spacy_peer.py) timed in the same run")
    parser.add_argument(
        "--baseline-model", help="another model directory (e.g. the one shipped before) timed in the same run"
    )
    args = parser.parse_args()
    ewt = Path(args.ewt_dir)
    test = ewt / "en_ewt-ud-test.conllu"
    sentences = list(read_treebank([test]))
    words_once = sum(len(s.forms) for s in sentences)
    words = words_once * args.repeat
    model = ["--model", args.model]
    rows = []

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        big = tmp / "big.conllu"
        big.write_bytes(test.read_bytes() * args.repeat)
        big_text = tmp / "big.txt"
        big_text.write_text(raw_text(sentences) * args.repeat, encoding="utf-8")
        out = tmp / "out.conllu"

        cold = median_of(args.runs, [EXE, "tag", "--input-format", "tokens", *model], b"This is a test .\n")
        cold_text = median_of(args.runs, [EXE, "tag", *model], b"This is a test.\n")
        help_ = median_of(args.runs, [EXE, "--help"])
        once = median_of(args.runs, [EXE, "tag", str(test), *model, "-o", str(out), "--jobs", "1"])
        inputs = ((INPUT_LABELS["gold"], big), (INPUT_LABELS["raw"], big_text))
        for jobs in args.jobs.split(","):
            for label, path in inputs:
                command = [EXE, "tag", str(path), *model, "-o", str(out), "--jobs", jobs]
                seconds, rss = median_of(args.runs, command)
                rows.append((f"postagger, {label}, --jobs {jobs}", seconds, words / seconds, rss))
        seconds, rss = median_of(args.runs, [EXE, "tag", str(big), *model, "-o", str(out)])
        rows.append((f"postagger, {INPUT_LABELS['gold']}, default options", seconds, words / seconds, rss))
        int8 = [EXE, "tag", str(big), *model, "-o", str(out), "--engine", "onnx-int8"]
        seconds, rss = median_of(args.runs, int8)
        label = f"postagger, {INPUT_LABELS['gold']}, --engine onnx-int8 (else default options)"
        rows.append((label, seconds, words / seconds, rss))
        if args.baseline_model:
            baseline_rows(args, rows, big, out, words)
        command = [EXE, "tag", str(big), *model, "-o", str(out), "--engine", "numpy", "--jobs", "1"]
        seconds, rss = median_of(args.runs, command)
        rows.append(("postagger, CoNLL-U → CoNLL-U, --engine numpy, --jobs 1", seconds, words / seconds, rss))
        train = ewt / "en_ewt-ud-train.conllu"
        train_words = sum(len(s.forms) for s in read_treebank([train]))
        jobs = args.jobs.split(",")[-1]
        seconds, rss = median_of(args.runs, [EXE, "tag", str(train), *model, "-o", str(out), "--jobs", jobs])
        label = f"postagger, en_ewt-ud-train once ({train_words:,} words), CoNLL-U → CoNLL-U, --jobs {jobs}"
        rows.append((label, seconds, train_words / seconds, rss))

    # NLTK's perceptron on the same words (trained first; tagging timed in-process)
    nltk_tagger = train_nltk_perceptron(ewt / "en_ewt-ud-train.conllu")
    forms = [s.forms for s in sentences] * args.repeat
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        nltk_tagger.tag_sents(forms)
        times.append(time.perf_counter() - start)
    nltk_seconds = statistics.median(times)
    label = "NLTK averaged perceptron, in-process tagging only"
    rows.append((label, nltk_seconds, words / nltk_seconds, None))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        big = tmp / "big.conllu"
        big.write_bytes(test.read_bytes() * args.repeat)
        with open(tmp / "nltk.pickle", "wb") as f:
            pickle.dump(nltk_tagger, f)
        script = str(ROOT / "bench" / "nltk_tag.py")
        command = [sys.executable, script, str(tmp / "nltk.pickle"), str(big), str(tmp / "out.conllu")]
        nltk_process, rss = median_of(args.runs, command)
        label = "NLTK averaged perceptron, CoNLL-U → CoNLL-U, one process (bench/nltk_tag.py)"
        rows.append((label, nltk_process, words / nltk_process, rss))

    if args.udpipe_model:
        import ufal.udpipe as u

        udpipe_model = u.Model.load(args.udpipe_model)
        pipeline = u.Pipeline(udpipe_model, "conllu", u.Pipeline.DEFAULT, u.Pipeline.NONE, "conllu")
        text = test.read_text(encoding="utf-8") * args.repeat
        start = time.perf_counter()
        pipeline.process(text, u.ProcessingError())
        seconds = time.perf_counter() - start
        rows.append(("UDPipe 1, in-process tagging only", seconds, words / seconds, None))

    if args.spacy_model:
        spacy_rows(args, rows, forms, words)

    chars = sum(len(f) + 2 for s in sentences for f in s.forms) / words_once
    macs = multiply_adds_per_word(Path(args.model), chars)
    peak, peak_text = peak_flops()
    best = max(r[2] for r in rows if r[0].startswith("postagger"))
    one_job = next((r[2] for r in rows if r[0] == "postagger, CoNLL-U → CoNLL-U, --jobs 1"), None)

    print(f"Machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{date.today()}. Command: `.venv/bin/python bench/speed.py {' '.join(sys.argv[1:])}`. "
          f"Median of {args.runs} runs, each a whole process unless marked in-process.\n")  # fmt: skip
    print(
        f"- cold start, one sentence: {cold[0]:.2f} s (peak RSS {cold[1]} MiB); "
        f'`postagger --help`: {help_[0]:.2f} s; the same sentence as raw text (`echo "This is a '
        f'test." | postagger tag`, segmenter included): {cold_text[0]:.2f} s'
    )
    print(
        f"- memory: en_ewt-ud-test once ({words_once:,} words) peak RSS {once[1]} MiB; "
        f"{args.repeat}× ({words:,} words) see the table"
    )
    print()
    print(f"Throughput on en_ewt-ud-test × {args.repeat} ({words:,} words):\n")
    print("| what | wall time (s) | words/s | peak RSS (MiB) |")
    print("|---|---:|---:|---:|")
    for label, seconds, rate, rss in rows:
        shown = f"{rate:,.0f}" if rate is not None else "—"
        print(f"| {label} | {seconds:.2f} | {shown} | {rss if rss is not None else '—'} |")
    print(f"\npostagger's best against NLTK: {best / (words / nltk_seconds):.2f}× its in-process tagging, "
          f"{best / (words / nltk_process):.2f}× its end-to-end process.")  # fmt: skip
    default = next(r[2] for r in rows if r[0] == f"postagger, {INPUT_LABELS['gold']}, default options")
    print(f"postagger with default options against NLTK's process: {default / (words / nltk_process):.2f}×.")
    spacy_best = max((r[2] for r in rows if r[0].startswith("spaCy")), default=None)
    if spacy_best:
        print(f"postagger with default options against spaCy's best: {default / spacy_best:.2f}×.")
    for jobs in args.jobs.split(","):
        rate = {
            label: r[2]
            for r in rows
            for label in ("gold", "raw")
            if r[0] == f"postagger, {INPUT_LABELS[label]}, --jobs {jobs}"
        }
        print(f"Raw text against gold tokens, --jobs {jobs}: {rate['raw'] / rate['gold']:.2f} of the rate.")
    if one_job is not None:
        print(f"One process against one process (postagger --jobs 1 and NLTK, both end to end): "
              f"{one_job / (words / nltk_process):.2f}×.")  # fmt: skip
    print(f"\nPhysical limit: {macs / 1e6:.2f} M multiply-adds per word ({chars:.1f} characters a word "
          f"with boundaries) = {2 * macs / 1e6:.2f} MFLOP; peak {peak / 1e9:.0f} GFLOP/s ({peak_text}); "
          f"the best throughput does {best * 2 * macs / 1e9:.1f} GFLOP/s = "
          f"{100 * best * 2 * macs / peak:.1f}% of peak.")  # fmt: skip


if __name__ == "__main__":
    main()
