"""Training the raw-text segmenter (`postagger.segmentation`) on a treebank's text.

Rows of `config.window` characters are cut from the training paragraphs at a fresh random
offset every epoch; the loss is the mean cross-entropy over real characters (padding has
weight 0). After every epoch the dev paragraphs are segmented and scored (F1 of token and
of sentence spans); the epoch with the best sum is kept, with the sentence threshold that
scored best on dev.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

import numpy as np

from postagger.backend import load_tensorflow
from postagger.config import SegmenterConfig
from postagger.conllu_io import Sentence
from postagger.errors import PostaggerError
from postagger.modeldir import SegmenterInfo, TrainedSegmenter
from postagger.segmentation import (
    CATEGORIES,
    CharacterVocabulary,
    InfixSplits,
    Paragraph,
    Segmenter,
    labelled_decisions,
    span_sets,
    treebank_paragraphs,
)
from postagger.text import TokenizerRules

#: sentence thresholds tried on dev after every epoch
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)


def train_segmenter(
    train: Sequence[Sentence],
    dev: Sequence[Sentence],
    config: SegmenterConfig,
    progress: Callable[[str, dict], None] | None = None,
    files: dict | None = None,
) -> TrainedSegmenter:
    """A segmenter trained on the text of `train`, chosen on that of `dev`. `progress`
    gets "segmenter_epoch_start", "batch" and "segmenter_epoch_end" events; `files`
    (split → file records) goes into its provenance."""
    tf, keras = load_tensorflow()
    from postagger.engines import KerasEngine
    from postagger.model import build_segmenter, weight_arrays

    notify = progress or (lambda event, data: None)
    started = time.monotonic()
    train_paragraphs, dev_paragraphs = treebank_paragraphs(train), treebank_paragraphs(dev)
    if not train_paragraphs or not dev_paragraphs:
        raise PostaggerError("the segmenter needs training and dev text")
    vocab = CharacterVocabulary.build(train_paragraphs, config.min_char_count)
    infix = InfixSplits.learn(train_paragraphs).allowed
    keras.utils.set_random_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = build_segmenter(config, len(vocab.chars) + 2, len(CATEGORIES) + 2)
    model.compile(
        keras.optimizers.Adam(config.learning_rate, clipnorm=5.0),
        {"boundaries": keras.losses.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight")},
        jit_compile=False,
    )
    best = None
    for epoch in range(1, config.epochs + 1):
        loss = _epoch(
            model, training_rows(train_paragraphs, vocab, config.window, rng), config, epoch, notify
        )
        info = SegmenterInfo(config, vocab.chars, 0.5, infix=infix)
        scores, threshold = dev_scores(Segmenter(KerasEngine(model), info, TokenizerRules()), dev_paragraphs)
        improved = best is None or sum(scores.values()) > sum(best[0].values())
        if improved:
            best = (scores, threshold, weight_arrays(model), epoch)
        notify("segmenter_epoch_end", {"epoch": epoch, "loss": loss, **scores, "best": improved})
    scores, threshold, weights, best_epoch = best
    trained = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "seconds": round(time.monotonic() - started, 1), "best_epoch": best_epoch}  # fmt: skip
    provenance = {"data": files or {}, "trained": trained}
    info = SegmenterInfo(config, vocab.chars, threshold, scores, provenance, infix=infix)
    return TrainedSegmenter(info, weights)


def training_rows(
    paragraphs: list[Paragraph], vocab: CharacterVocabulary, window: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Rows of `window` characters: each paragraph cut from a random offset (a shorter
    piece at either end), padded; "chars", "categories" and "labels", shuffled."""
    pieces = []
    for paragraph in paragraphs:
        encoded = vocab.encode(paragraph.text)
        chars, categories = encoded.chars, encoded.categories
        offset = int(rng.integers(0, window)) if len(paragraph.text) > window else 0
        for start in range(offset - window if offset else 0, len(paragraph.text), window):
            lo, hi = max(start, 0), min(start + window, len(paragraph.text))
            pieces.append((chars[lo:hi], categories[lo:hi], paragraph.labels[lo:hi]))
    rows = {name: np.zeros((len(pieces), window), np.int32) for name in ("chars", "categories", "labels")}
    for r, piece in enumerate(pieces):
        for name, values in zip(rows, piece):
            rows[name][r, : len(values)] = values
    order = rng.permutation(len(pieces))
    return {name: values[order] for name, values in rows.items()}


def _epoch(model, rows: dict[str, np.ndarray], config: SegmenterConfig, epoch: int, notify) -> float:
    batches = range(0, len(rows["chars"]), config.batch_size)
    notify("segmenter_epoch_start", {"epoch": epoch, "epochs": config.epochs, "batches": len(batches)})
    losses = []
    for start in batches:
        part = {name: values[start : start + config.batch_size] for name, values in rows.items()}
        inputs = {"chars": part["chars"], "categories": part["categories"]}
        weights = (part["chars"] != 0).astype(np.float32)
        losses.append(
            float(model.train_on_batch(inputs, {"boundaries": part["labels"]}, sample_weight=weights))
        )
        notify("batch", {"loss": float(np.mean(losses[-50:]))})
    return float(np.mean(losses))


def dev_scores(segmenter: Segmenter, paragraphs: list[Paragraph]) -> tuple[dict[str, float], float]:
    """The F1 of the token, sentence and word spans the segmenter gives the paragraphs
    (words of multiword tokens that spell them only), with the sentence threshold (of
    `THRESHOLDS`) that scores best; and that threshold."""
    texts = [p.text for p in paragraphs]
    gold = span_sets(texts, labelled_decisions(paragraphs))
    probabilities = segmenter.probabilities(texts)
    best = None
    for threshold in THRESHOLDS:
        found = span_sets(texts, segmenter.decide(probabilities, threshold, texts))
        scores = {unit: _f1(gold[unit], found[unit]) for unit in ("tokens", "sentences", "words")}
        if best is None or sum(scores.values()) > sum(best[0].values()):
            best = (scores, threshold)
    return best


def _f1(gold: set, system: set) -> float:
    right = len(gold & system)
    return 2 * right / (len(gold) + len(system)) if gold or system else 0.0
