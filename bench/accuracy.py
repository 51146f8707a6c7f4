"""Accuracy side by side: postagger variants, UDPipe 1, NLTK's perceptron, spaCy; one run, one machine.

    .venv/bin/pip install -e '.[bench]'      # the peers: nltk, ufal.udpipe, spacy
    .venv/bin/python bench/accuracy.py [UD_DIR] [--systems S,S,...] [--epochs N] [--vectors FILE]

UD_DIR is a Universal Dependencies treebank directory holding *-ud-train/dev/test.conllu
(default: ../shared/ud/UD_English-EWT); a directory without a test file is scored on dev.
Every system trains on the same train file (dev for early stopping where it has any) and
tags the test file with its gold tokenization. Systems:

- `word`, `chars`, `both`, `both-cnn`, `both+vectors`: `postagger train` with that
  `--word-repr` (`both-cnn`: the character CNN instead of the BiLSTM; `+vectors`:
  `--vectors FILE`, fine-tuned), run as a process; tagging is `postagger tag` on the
  CoNLL-U test file, file in → file out, start-up included;
- `udpipe`: UDPipe 1 (`ufal.udpipe`), a tagger-only model (`tokenizer none`, `parser none`)
  with its default tagger options;
- `nltk`: NLTK's averaged perceptron, `PerceptronTagger(load=False).train(..., nr_iter=5)`;
- `spacy`: spaCy's tagger + morphologizer (`bench/spacy_peer.py`: `spacy init config
  --optimize efficiency`, `spacy train` for --spacy-steps updates), or the pipeline given by
  --spacy-model; it also gets a line with its XPOS, UFeats and AllTags accuracy.

UPOS accuracy counts every syntactic word; "OOV" is the accuracy on the test words whose
form never occurs in the training file (the same definition for every system). Prints a
Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import cpu_name, train_nltk_perceptron, udpipe_sentences  # noqa: E402

from postagger.conllu_io import read_treebank  # noqa: E402
from postagger.evaluate import accuracy_scores  # noqa: E402

EXE = str(Path(sys.executable).with_name("postagger"))
POSTAGGER_SYSTEMS = {
    "word": ["--word-repr", "word"],
    "chars": ["--word-repr", "chars"],
    "both": ["--word-repr", "both"],
    "both-cnn": ["--word-repr", "both", "--char-encoder", "cnn"],
    "both+vectors": ["--word-repr", "both"],
}


def treebank_files(folder: Path) -> dict[str, Path]:
    files = {}
    for split in ("train", "dev", "test"):
        found = sorted(folder.glob(f"*-ud-{split}.conllu"))
        if found:
            files[split] = found[0]
    if "train" not in files or "dev" not in files:
        sys.exit(f"{folder}: needs *-ud-train.conllu and *-ud-dev.conllu")
    files.setdefault("test", files["dev"])
    return files


def score(gold_path: Path, predicted: list[list[str]], train_forms: set[str]) -> tuple[float, float, int]:
    """(UPOS accuracy, OOV UPOS accuracy, words) of predicted tags against the gold file."""
    total = correct = oov = oov_correct = 0
    gold = list(read_treebank([gold_path]))
    if len(gold) != len(predicted):
        raise SystemExit(f"{gold_path}: {len(predicted)} predicted sentences for {len(gold)}")
    for sentence, tags in zip(gold, predicted, strict=True):
        for form, g, p in zip(sentence.forms, sentence.tags("upos"), tags, strict=True):
            total += 1
            correct += g == p
            if form not in train_forms:
                oov += 1
                oov_correct += g == p
    return correct / total, oov_correct / max(oov, 1), total


def run(args: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{result.stderr}")
    return time.perf_counter() - start


def postagger(name: str, files: dict, work: Path, args: argparse.Namespace) -> tuple[float, float, list]:
    model = work / f"model-{name}"
    command = [EXE, "train", str(files["train"]), "--dev", str(files["dev"]), "-o", str(model)]
    command += POSTAGGER_SYSTEMS[name] + ["--epochs", str(args.epochs), "--seed", str(args.seed)]
    if name.endswith("+vectors"):
        if not args.vectors:
            sys.exit("both+vectors needs --vectors FILE")
        command += ["--vectors", args.vectors]
    train_seconds = run(command)
    out = work / f"tagged-{name}.conllu"
    tag_seconds = run([EXE, "tag", str(files["test"]), "--model", str(model), "-o", str(out), "--jobs", "1"])
    return train_seconds, tag_seconds, [s.tags("upos") for s in read_treebank([out])]


def nltk_perceptron(files: dict, seed: int) -> tuple[float, float, list]:
    test = [s.forms for s in read_treebank([files["test"]])]
    start = time.perf_counter()
    tagger = train_nltk_perceptron(files["train"], seed)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predicted = [[tag for _, tag in sentence] for sentence in tagger.tag_sents(test)]
    return train_seconds, time.perf_counter() - start, predicted


def udpipe(files: dict, work: Path) -> tuple[float, float, list]:
    import ufal.udpipe as u

    error = u.ProcessingError()
    start = time.perf_counter()
    model_bytes = u.Trainer.train(
        "morphodita_parsito", udpipe_sentences(files["train"]), udpipe_sentences(files["dev"]),
        "none", u.Trainer.DEFAULT, "none", error,
    )  # fmt: skip
    train_seconds = time.perf_counter() - start
    if error.occurred():
        sys.exit(f"UDPipe training failed: {error.message}")
    model_path = work / "udpipe.model"
    model_path.write_bytes(model_bytes)
    start = time.perf_counter()
    model = u.Model.load(str(model_path))
    pipeline = u.Pipeline(model, "conllu", u.Pipeline.DEFAULT, u.Pipeline.NONE, "conllu")
    tagged = pipeline.process(files["test"].read_text(encoding="utf-8"), error)
    tag_seconds = time.perf_counter() - start
    if error.occurred():
        sys.exit(f"UDPipe tagging failed: {error.message}")
    out = work / "tagged-udpipe.conllu"
    out.write_text(tagged, encoding="utf-8")
    return train_seconds, tag_seconds, [s.tags("upos") for s in read_treebank([out])]


def spacy_system(files: dict, work: Path, args: argparse.Namespace) -> tuple[float, float, list]:
    from spacy_peer import load, tag, train_spacy

    train_seconds, model = 0.0, args.spacy_model
    if model is None:
        steps, lang = args.spacy_steps, args.spacy_lang
        train_seconds, model = train_spacy(files["train"], files["dev"], work, steps, lang)
    gold = list(read_treebank([files["test"]]))
    start = time.perf_counter()
    nlp = load(model)
    _, columns = tag(nlp, [s.forms for s in gold])
    tag_seconds = time.perf_counter() - start
    names = ("upos", "xpos", "feats")
    scores = accuracy_scores(
        {c: [s.tags(c) for s in gold] for c in names},
        {c: [found[c] for found in columns] for c in names},
        [s.forms for s in gold],
    )  # postagger's own scoring: UFeats and AllTags as CoNLL 2018 defines them
    shown = ", ".join(f"{c} {scores[c]:.4f}" for c in ("xpos", "ufeats", "alltags"))
    print(f"spaCy {shown}", file=sys.stderr)
    return train_seconds, tag_seconds, [c["upos"] for c in columns]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("treebank", nargs="?", default=str(ROOT.parent / "shared" / "ud" / "UD_English-EWT"))
    parser.add_argument("--systems", default="both,both-cnn,word,chars,udpipe,nltk")
    parser.add_argument("--epochs", type=int, default=30, help="postagger's maximum epochs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--vectors", help="pretrained vectors for both+vectors")
    parser.add_argument("--spacy-model", help="a trained spaCy pipeline for `spacy` (default: train one)")
    parser.add_argument("--spacy-steps", type=int, default=8000, help="spaCy's training updates")
    parser.add_argument("--spacy-lang", default="en", help="spaCy's language code for `spacy init config`")
    parser.add_argument("--work", help="keep models and outputs here (default: a temporary folder)")
    args = parser.parse_args()
    files = treebank_files(Path(args.treebank))
    train_forms = {f for s in read_treebank([files["train"]]) for f in s.forms}
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.work or scratch)
        work.mkdir(parents=True, exist_ok=True)
        for system in args.systems.split(","):
            print(f"running {system} ...", file=sys.stderr, flush=True)
            if system in POSTAGGER_SYSTEMS:
                train_s, tag_s, predicted = postagger(system, files, work, args)
                label = f"postagger {system}"
            elif system == "nltk":
                train_s, tag_s, predicted = nltk_perceptron(files, args.seed)
                label = "NLTK averaged perceptron (5 iterations)"
            elif system == "spacy":
                train_s, tag_s, predicted = spacy_system(files, work, args)
                label = "spaCy tagger+morphologizer (efficiency)"
            elif system == "udpipe":
                train_s, tag_s, predicted = udpipe(files, work)
                label = "UDPipe 1 (default tagger options)"
            else:
                sys.exit(f"unknown system {system}")
            upos, oov, words = score(files["test"], predicted, train_forms)
            rows.append((label, upos, oov, train_s, words / tag_s))
            print(f"{label}: UPOS {upos:.4f}, OOV {oov:.4f}, train {train_s:.0f} s", file=sys.stderr)
    n_oov = sum(1 for s in read_treebank([files["test"]]) for f in s.forms if f not in train_forms)
    print(f"Treebank: {Path(args.treebank).name}, train {files['train'].name}, scored on "
          f"{files['test'].name} ({words:,} words, {n_oov:,} unseen in training). "
          f"{date.today()}, {cpu_name()}, {os.cpu_count()} cores. Command: "
          f"`.venv/bin/python bench/accuracy.py {' '.join(sys.argv[1:])}`\n")  # fmt: skip
    print("| system | UPOS | OOV UPOS | train time (s) | tag words/s |")
    print("|---|---:|---:|---:|---:|")
    for label, upos, oov, train_s, speed in rows:
        print(f"| {label} | {upos:.4f} | {oov:.4f} | {train_s:,.0f} | {speed:,.0f} |")


if __name__ == "__main__":
    main()
