"""What the benchmark scripts share: the machine's name and the NLTK peer."""

from __future__ import annotations

import platform
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from postagger.conllu_io import read_treebank  # noqa: E402


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def train_nltk_perceptron(train_path: Path, seed: int = 1):
    """NLTK's averaged perceptron trained on a CoNLL-U file's UPOS, 5 iterations (its default
    recipe, `PerceptronTagger(load=False).train`); `seed` fixes its sentence shuffling."""
    from nltk.tag.perceptron import PerceptronTagger

    train = [list(zip(s.forms, s.tags("upos"))) for s in read_treebank([train_path])]
    random.seed(seed)
    tagger = PerceptronTagger(load=False)
    tagger.train(train, nr_iter=5)
    return tagger


def udpipe_sentences(path: Path):
    """A CoNLL-U file as UDPipe 1's `Sentences` (for `ufal.udpipe.Trainer.train`)."""
    import ufal.udpipe as u

    reader = u.InputFormat.newConlluInputFormat()
    reader.setText(path.read_text(encoding="utf-8"))
    out, sentence, error = u.Sentences(), u.Sentence(), u.ProcessingError()
    while reader.nextSentence(sentence, error):
        out.append(sentence)
        sentence = u.Sentence()
    if error.occurred():
        sys.exit(f"{path}: {error.message}")
    return out
