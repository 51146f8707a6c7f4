"""Scoring predicted tags against gold tags: accuracy (all, seen, unseen words), per-tag
precision/recall/F1, confusions, and how well the tagger's confidence is calibrated."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from postagger.errors import PostaggerError


def tag_report(gold: Iterable[list[str]], predicted: Iterable[list[str]], top_confusions: int = 15) -> dict:
    """Per-tag precision, recall, F1 and support of one column, and its most frequent
    confusions (gold, predicted, count), from tag sequences sentence by sentence."""
    gold_counts, pred_counts, hits, confusions = Counter(), Counter(), Counter(), Counter()
    for g_tags, p_tags in zip(gold, predicted, strict=True):
        for g, p in zip(g_tags, p_tags, strict=True):
            gold_counts[g] += 1
            pred_counts[p] += 1
            if g == p:
                hits[g] += 1
            else:
                confusions[(g, p)] += 1
    per_tag = {}
    for tag in sorted(set(gold_counts) | set(pred_counts)):
        precision = hits[tag] / pred_counts[tag] if pred_counts[tag] else 0.0
        recall = hits[tag] / gold_counts[tag] if gold_counts[tag] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_tag[tag] = {"precision": precision, "recall": recall, "f1": f1, "support": gold_counts[tag]}
    most = confusions.most_common(top_confusions)
    return {"per_tag": per_tag, "confusions": [{"gold": g, "predicted": p, "count": n} for (g, p), n in most]}


#: the universal features as the CoNLL 2018 shared task's evaluation script (conll18_ud_eval.py)
#: lists them: UFeats compares only these, and AllTags (UPOS, XPOS and UFeats) builds on it
UNIVERSAL_FEATURES = frozenset(
    {
        "PronType", "NumType", "Poss", "Reflex", "Foreign", "Abbr", "Gender", "Animacy", "Number",
        "Case", "Definite", "Degree", "VerbForm", "Mood", "Tense", "Aspect", "Voice", "Evident",
        "Polarity", "Person", "Polite",
    }
)  # fmt: skip


def same_order_feats(feats: str) -> str:
    """FEATS with its features sorted, so that feature order does not count."""
    return "|".join(sorted(feats.split("|")))


def universal_feats(feats: str) -> str:
    """FEATS as the CoNLL 2018 evaluation compares it: universal features only, sorted
    ('' when none is left; '_' leaves none)."""
    return "|".join(sorted(f for f in feats.split("|") if f.split("=", 1)[0] in UNIVERSAL_FEATURES))


def accuracy_scores(
    gold: dict[str, list[list[str]]],
    predicted: dict[str, list[list[str]]],
    forms: list[list[str]],
    is_known: Callable[[str], bool] | None = None,
) -> dict:
    """The one place accuracy is computed (training's dev scores, metrics.json, `evaluate`).

    Counts syntactic words (the caller passes the words of integer-id lines): `tokens`, and
    with `is_known` (whether a form was seen in training) `oov_tokens` and `seen_tokens`.
    Then the accuracy of every column given (dicts column → tags of each sentence), and with
    `is_known` on unseen and seen words, and the CoNLL 2018 metrics they allow: `feats` with
    feature order ignored, `ufeats` (universal features only) when FEATS is given, `alltags`
    (UPOS, XPOS and UFeats all right) when all three are. Keys: `upos`, `upos_oov`,
    `upos_seen`, `xpos`, ..., `ufeats`, `alltags`. Sentences of different lengths raise
    ValueError."""
    metrics = list(gold)
    if "feats" in gold:
        metrics.append("ufeats")
    if {"upos", "xpos", "feats"} <= set(gold):
        metrics.append("alltags")
    known = [[is_known(w) for w in s] for s in forms] if is_known is not None else None
    result: dict = {}
    for metric in metrics:
        pairs = [
            (g == p, k)
            for gs, ps, ks in zip(_rows(gold, metric), _rows(predicted, metric), known or forms, strict=True)
            for g, p, k in zip(gs, ps, ks, strict=True)
        ]
        if not result:
            result["tokens"] = len(pairs)
            if known is not None:
                result["oov_tokens"] = sum(not k for _, k in pairs)
                result["seen_tokens"] = len(pairs) - result["oov_tokens"]
        result[metric] = _share(ok for ok, _ in pairs)
        if known is not None:
            result[f"{metric}_oov"] = _share(ok for ok, k in pairs if not k)
            result[f"{metric}_seen"] = _share(ok for ok, k in pairs if k)
    return result


def _share(right: Iterable[bool]) -> float:
    """The share of true values (0 when there are none)."""
    right = list(right)
    return sum(right) / len(right) if right else 0.0


def _rows(tags: dict[str, list[list[str]]], metric: str) -> list[list]:
    """What `metric` compares, word by word: a column's tags, FEATS in a canonical order,
    universal features only, or (UPOS, XPOS, UFeats) triples."""
    if metric == "feats":
        return [[same_order_feats(t) for t in s] for s in tags["feats"]]
    if metric == "ufeats":
        return [[universal_feats(t) for t in s] for s in tags["feats"]]
    if metric == "alltags":
        ufeats = _rows(tags, "ufeats")
        return [list(zip(*triple)) for triple in zip(tags["upos"], tags["xpos"], ufeats)]
    return tags[metric]


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
    columns: list[str] | None = None,
) -> dict:
    """Score a model on gold CoNLL-U files, or score already predicted files against gold.

    With `predicted_paths`, the words of both must match sentence by sentence; the model
    (when given) then only supplies the training vocabulary for the OOV split. `columns`
    are the columns to score (default: the model's; UPOS without a model): each is scored
    (see `accuracy_scores`); per-tag scores, confusions and calibration (when the model tags)
    are about the first.
    """
    from postagger.conllu_io import check_tags, read_treebank
    from postagger.modeldir import load_model_info

    info = load_model_info(model_dir) if model_dir is not None or not predicted_paths else None
    if columns is None:
        columns = list(info.config.columns) if info else ["upos"]
    elif not predicted_paths and not set(columns) <= set(info.config.columns):
        raise PostaggerError(
            f"the model fills {', '.join(info.config.columns)}: it cannot be scored on {', '.join(columns)}"
        )
    column = columns[0]
    gold = list(read_treebank(gold_paths))
    if not gold:
        raise PostaggerError("no sentences with words", ", ".join(map(str, gold_paths)))
    gold_tags = {c: [check_tags(s, c) for s in gold] for c in columns}
    forms = [s.forms for s in gold]
    if predicted_paths:
        predicted = _aligned_predictions(gold, list(read_treebank(predicted_paths)), columns)
    else:
        from postagger.tagger import Tagger

        tagged = Tagger.from_info(info).tag_sentences(forms, top_k=1)
        predicted = {c: [t.tags[c] for t in tagged] for c in columns}
    result = {"column": column, "columns": columns}
    result.update(accuracy_scores(gold_tags, predicted, forms, info.vocab.is_known if info else None))
    result.update(tag_report(gold_tags[column], predicted[column]))
    result["confusion_matrix"] = confusion_matrix(gold_tags[column], predicted[column])
    if not predicted_paths:
        confidences = [best[0][1] for t in tagged for best in t.scores]
        correct = [g == p for gs, ps in zip(gold_tags[column], predicted[column]) for g, p in zip(gs, ps)]
        result["calibration"] = calibration(confidences, correct)
    if info is not None:
        result["model"] = str(info.path)
    return result


def _aligned_predictions(gold, predicted, columns: list[str]) -> dict[str, list[list[str]]]:
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
    return {c: [p.tags(c) for p in predicted] for c in columns}
