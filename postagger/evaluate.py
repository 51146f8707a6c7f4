"""Scoring predicted tags against gold tags: accuracy (all, seen, unseen words), per-tag
precision/recall/F1, confusions, and how well the tagger's confidence is calibrated."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from postagger.errors import PostaggerError


def score(
    gold: Iterable[list[str]],
    predicted: Iterable[list[str]],
    forms: Iterable[list[str]],
    is_known: Callable[[str], bool] | None = None,
    column: str = "upos",
    top_confusions: int = 15,
) -> dict:
    """Compare tag sequences sentence by sentence.

    Counts syntactic words only (the caller passes the words of integer-id lines).
    `is_known` tells whether a form was seen in training; without it no OOV split is made.
    The keys are named after the column: `upos`, `upos_oov`, ... for UPOS.
    """
    total = correct = oov = oov_correct = 0
    gold_counts, pred_counts, hits = Counter(), Counter(), Counter()
    confusions = Counter()
    for g_tags, p_tags, words in zip(gold, predicted, forms, strict=True):
        if not len(g_tags) == len(p_tags) == len(words):
            raise ValueError("gold and predicted sentences differ in length")
        for g, p, w in zip(g_tags, p_tags, words):
            total += 1
            gold_counts[g] += 1
            pred_counts[p] += 1
            ok = g == p
            correct += ok
            if ok:
                hits[g] += 1
            else:
                confusions[(g, p)] += 1
            if is_known is not None and not is_known(w):
                oov += 1
                oov_correct += ok
    per_tag = {}
    for tag in sorted(set(gold_counts) | set(pred_counts)):
        precision = hits[tag] / pred_counts[tag] if pred_counts[tag] else 0.0
        recall = hits[tag] / gold_counts[tag] if gold_counts[tag] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_tag[tag] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": gold_counts[tag],
        }
    result = {
        "column": column,
        "tokens": total,
        column: correct / total if total else 0.0,
        "per_tag": per_tag,
        "confusions": [
            {"gold": g, "predicted": p, "count": n} for (g, p), n in confusions.most_common(top_confusions)
        ],
    }
    if is_known is not None:
        seen = total - oov
        result.update(
            {
                "oov_tokens": oov,
                f"{column}_oov": oov_correct / oov if oov else 0.0,
                "seen_tokens": seen,
                f"{column}_seen": (correct - oov_correct) / seen if seen else 0.0,
            }
        )
    return result


#: confidence buckets for calibration: [0, 0.5), [0.5, 0.6), ..., [0.99, 1]
BUCKET_EDGES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)


def calibration(confidences: Sequence[float], correct: Sequence[bool], edges=BUCKET_EDGES) -> dict:
    """How well the probability of the chosen tag predicts that it is right.

    Returns the expected calibration error (the words-weighted mean over the buckets of
    |accuracy − mean confidence|) and, per confidence bucket, its words, their share,
    accuracy and mean confidence — and, for each bucket's lower edge as a threshold, the
    share of words below it (to review by hand) and the accuracy of the rest.
    """
    conf = np.asarray(confidences, dtype=np.float64)
    right = np.asarray(correct, dtype=bool)
    total = len(conf)
    buckets, ece = [], 0.0
    for i, (low, high) in enumerate(zip(edges[:-1], edges[1:])):
        inside = (conf >= low) & ((conf < high) if i < len(edges) - 2 else (conf <= high))
        n = int(inside.sum())
        above = conf >= low
        bucket = {
            "from": low, "to": high, "words": n, "share": n / total if total else 0.0,
            "accuracy": float(right[inside].mean()) if n else None,
            "confidence": float(conf[inside].mean()) if n else None,
            "review_share_below": float((~above).mean()) if total else 0.0,
            "accuracy_at_or_above": float(right[above].mean()) if above.any() else None,
        }  # fmt: skip
        if n:
            ece += n / total * abs(bucket["accuracy"] - bucket["confidence"])
        buckets.append(bucket)
    return {"ece": ece, "buckets": buckets}


def confusion_matrix(gold: Iterable[list[str]], predicted: Iterable[list[str]]) -> dict:
    """{"tags": [...], "counts": [[gold row][predicted column]]} over all words."""
    pairs = Counter((g, p) for gs, ps in zip(gold, predicted) for g, p in zip(gs, ps))
    tags = sorted({g for g, _ in pairs} | {p for _, p in pairs})
    return {"tags": tags, "counts": [[pairs[(g, p)] for p in tags] for g in tags]}


def evaluate_files(
    gold_paths: list[str | Path],
    model_dir: str | Path | None = None,
    predicted_paths: list[str | Path] | None = None,
) -> dict:
    """Score a model on gold CoNLL-U files, or score already predicted files against gold.

    With `predicted_paths`, the words of both must match sentence by sentence; the model
    (when given) then only supplies the training vocabulary for the OOV split. When the
    model tags, the result also has its calibration (see `calibration`).
    """
    from postagger.conllu_io import check_tags, read_treebank
    from postagger.modeldir import load_model_info

    info = load_model_info(model_dir) if model_dir is not None or not predicted_paths else None
    column = info.config.column if info else "upos"
    gold = list(read_treebank(gold_paths))
    if not gold:
        raise PostaggerError("no sentences with words", ", ".join(map(str, gold_paths)))
    gold_tags = [check_tags(s, column) for s in gold]
    forms = [s.forms for s in gold]
    if predicted_paths:
        predicted = _aligned_predictions(gold, list(read_treebank(predicted_paths)), column)
    else:
        from postagger.modeldir import load_network
        from postagger.tagger import Tagger

        scored = Tagger(info, load_network(info)).tag_forms(forms, top_k=1)
        predicted = [[best[0][0] for best in words] for words in scored]
        confidences = [best[0][1] for words in scored for best in words]
    result = score(gold_tags, predicted, forms, info.vocab.is_known if info else None, column)
    result["confusion_matrix"] = confusion_matrix(gold_tags, predicted)
    if not predicted_paths:
        correct = [g == p for gs, ps in zip(gold_tags, predicted) for g, p in zip(gs, ps)]
        result["calibration"] = calibration(confidences, correct)
    if info is not None:
        result["model"] = str(info.path)
    return result


def _aligned_predictions(gold, predicted, column: str) -> list[list[str]]:
    for g, p in zip(gold, predicted):
        if g.forms != p.forms:
            at = next(
                (i for i, (a, b) in enumerate(zip(g.forms, p.forms)) if a != b),
                min(len(g.forms), len(p.forms)),
            )
            line = p.first_line + p.words[at].line_index if at < len(p.words) else p.first_line
            raise PostaggerError(
                f"words differ from the gold file {g.source} (sentence starting at its line "
                f"{g.first_line}): the tags of different words cannot be compared",
                p.source,
                line,
            )
    if len(gold) != len(predicted):
        source = predicted[-1].source if predicted else None
        raise PostaggerError(f"gold has {len(gold)} sentences but predictions have {len(predicted)}", source)
    return [p.tags(column) for p in predicted]
