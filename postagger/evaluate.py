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
    raw: bool = False,
    joint: bool = True,
    engine: str = "auto",
) -> dict:
    """Score a model on gold CoNLL-U files, or score already predicted files against gold.

    With `predicted_paths` of the same words as the gold, sentence by sentence, the model
    (when given) only supplies the training vocabulary for the OOV split; predicted files
    tokenized otherwise (the same text) are scored as the CoNLL 2018 shared task scores
    raw-text systems (`postagger.conll18`: F1 of tokens, sentences, words and tags, under
    "conll18"). With `raw`, the model tags the gold files' own raw text (its tokenizer
    included) and that is scored so. `joint`: the model's tags as `Tagger.tag_sentences`
    decodes them with `joint`; `engine` runs the model (`postagger.engines`). `columns` are
    the columns to score (default: the model's; UPOS without a model); per-tag scores,
    confusions and calibration (when the model tags gold words) are about the first.
    """
    from postagger.conllu_io import read_treebank
    from postagger.modeldir import load_model_info

    if raw and predicted_paths:
        raise PostaggerError("--raw tags the gold text with the model: leave out --pred")
    info = load_model_info(model_dir) if model_dir is not None or not predicted_paths else None
    if columns is None:
        columns = list(info.config.columns) if info else ["upos"]
    elif not predicted_paths and not set(columns) <= set(info.config.columns):
        raise PostaggerError(
            f"the model fills {', '.join(info.config.columns)}: it cannot be scored on {', '.join(columns)}"
        )
    gold = list(read_treebank(gold_paths))
    if not gold:
        raise PostaggerError("no sentences with words", ", ".join(map(str, gold_paths)))
    result: dict = {"column": columns[0], "columns": columns}
    if info is not None:
        result["model"] = str(info.path)
    if raw:
        return {**result, "conll18": _conll18(gold, _tag_raw_text(gold, info, joint, engine), columns)}
    predicted = list(read_treebank(predicted_paths)) if predicted_paths else None
    if predicted is not None and [s.forms for s in predicted] != [s.forms for s in gold]:
        return {**result, "conll18": _conll18(gold, predicted, columns)}
    result.update(_word_scores(gold, predicted, columns, info, joint, engine))
    if predicted is not None:
        result["conll18"] = _conll18(gold, predicted, columns)
    return result


def _word_scores(
    gold: list, predicted: list | None, columns: list[str], info, joint: bool = True, engine: str = "auto"
) -> dict:
    """Scores of the same words: the predicted sentences', or the model's tags."""
    from postagger.conllu_io import column_gaps

    column = columns[0]
    column_gaps(gold, columns)  # refuses a mostly empty column; a word without a gold tag counts as wrong
    gold_tags = {c: [s.tags(c) for s in gold] for c in columns}
    forms = [s.forms for s in gold]
    if predicted is not None:
        tags = {c: [s.tags(c) for s in predicted] for c in columns}
    else:
        from postagger.tagger import Tagger

        tagged = Tagger.from_info(info, engine).tag_sentences(forms, top_k=1, joint=joint)
        tags = {c: [t.tags[c] for t in tagged] for c in columns}
    result = accuracy_scores(gold_tags, tags, forms, info.vocab.is_known if info else None)
    result.update(tag_report(gold_tags[column], tags[column]))
    result["confusion_matrix"] = confusion_matrix(gold_tags[column], tags[column])
    if predicted is None:
        confidences = [best[0][1] for t in tagged for best in t.scores]
        correct = [g == p for gs, ps in zip(gold_tags[column], tags[column]) for g, p in zip(gs, ps)]
        result["calibration"] = calibration(confidences, correct)
    return result


def _conll18(gold: list, predicted: list, columns: list[str]) -> dict[str, dict]:
    """The CoNLL 2018 F1 scores that these columns allow: tokens, sentences and words
    always, UPOS and XPOS when scored, UFeats for FEATS, AllTags for all three."""
    from postagger import conll18

    wanted = {"tokens", "sentences", "words", *columns}
    if "feats" in columns:
        wanted.add("ufeats")
    if {"upos", "xpos", "feats"} <= set(columns):
        wanted.add("alltags")
    scores = conll18.score(gold, predicted)
    return {metric: scores[metric].to_json() for metric in conll18.METRICS if metric in wanted}


def _tag_raw_text(gold: list, info, joint: bool = True, engine: str = "auto") -> list:
    """The sentences the model makes of the gold files' raw text (`conll18.raw_text`), as
    `postagger tag` writes them."""
    import tempfile

    from postagger.conll18 import raw_text
    from postagger.conllu_io import read_treebank
    from postagger.formats import InputFormat, OutputFormat
    from postagger.pipeline import Job, tag_files

    with tempfile.TemporaryDirectory() as folder:
        text, tagged = Path(folder) / "gold.txt", Path(folder) / "tagged.conllu"
        text.write_text(raw_text(gold), encoding="utf-8")
        with open(tagged, "w", encoding="utf-8", newline="") as stream:
            job = Job(InputFormat.text, OutputFormat.conllu, joint=joint)
            tag_files(stream, info, engine, [(str(text), job)])
        return list(read_treebank([tagged]))
