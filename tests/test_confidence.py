"""Tag confidences (--with-confidence, --top-k), MISC merging and calibration."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import TEST, conllu_block, write
from typer.testing import CliRunner

from postagger.cli import app
from postagger.conllu_io import merge_misc, read_treebank
from postagger.evaluate import calibration, confusion_matrix

runner = CliRunner()


def test_top_k_probabilities_are_a_distribution_best_first(tiny_tagger):
    forms = [s.forms for s in read_treebank([TEST])][:20]
    n_tags = len(tiny_tagger.info.vocab.tags.items)
    scored = tiny_tagger.tag_sentences(forms, top_k=n_tags)  # asks for more than there are
    tags = tiny_tagger.tag(forms)
    for tagged, sentence_tags in zip(scored, tags):
        assert tagged.tags["upos"] == sentence_tags
        for best, tag in zip(tagged.scores, sentence_tags):
            probs = [p for _, p in best]
            assert len(best) == n_tags - 1  # every tag but padding
            assert best[0][0] == tag and probs == sorted(probs, reverse=True)
            assert sum(probs) == pytest.approx(1.0, abs=1e-3)  # with the others, they sum to 1


def test_merge_misc_keeps_other_items_and_replaces_ours():
    assert merge_misc("_", {"UPOSProb": "0.9"}) == "UPOSProb=0.9"
    assert merge_misc("SpaceAfter=No|UPOSProb=0.1", {"UPOSProb": "0.9"}) == "SpaceAfter=No|UPOSProb=0.9"
    assert merge_misc("Gloss=x", {}) == "Gloss=x"


def test_confidence_in_every_output_format(tiny_model, tmp_path):
    text = conllu_block("1 Hello INTJ", "2 world NOUN", comments=("sent_id = a",)).replace(
        "\t_\n", "\tSpaceAfter=No\n", 1
    )
    path = write(tmp_path / "in.conllu", text)
    args = ["tag", str(path), "--model", str(tiny_model)]
    conllu = runner.invoke(app, [*args, "--top-k", "2"])
    assert conllu.exit_code == 0, conllu.output
    first = [line for line in conllu.stdout.splitlines() if line.startswith("1\t")][0]
    misc = first.split("\t")[9].split("|")
    assert misc[0] == "SpaceAfter=No" and misc[1].startswith("UPOSProb=") and misc[2].startswith("UPOSTop=")
    again = write(tmp_path / "again.conllu", conllu.stdout)  # tagging a tagged file replaces, not appends
    twice = runner.invoke(app, ["tag", str(again), "--model", str(tiny_model), "--top-k", "2"])
    assert twice.stdout == conllu.stdout
    tsv = runner.invoke(app, [*args, "--with-confidence", "--output-format", "tsv"])
    rows = [line.split("\t") for line in tsv.stdout.splitlines() if line]
    assert all(len(r) == 3 and 0 < float(r[2]) <= 1 for r in rows)
    jsonl = runner.invoke(app, [*args, "--top-k", "3", "--output-format", "jsonl"])
    record = json.loads(jsonl.stdout)
    assert len(record["probs"]) == 2 and all(len(top) == 3 for top in record["top"])
    assert [top[0][0] for top in record["top"]] == record["tags"]
    inline = runner.invoke(app, [*args, "--with-confidence", "--output-format", "inline"])
    assert inline.exit_code == 2 and "inline output has no room" in inline.output


def test_calibration_on_hand_made_cases():
    result = calibration([0.3, 0.55, 0.97, 0.999, 1.0], [False, True, True, True, True])
    buckets = {(b["from"], b["to"]): b for b in result["buckets"]}
    assert buckets[(0.0, 0.5)]["words"] == 1 and buckets[(0.0, 0.5)]["accuracy"] == 0.0
    assert buckets[(0.99, 1.0)]["words"] == 2  # 1.0 falls in the last, closed bucket
    assert buckets[(0.6, 0.7)]["words"] == 0 and buckets[(0.6, 0.7)]["accuracy"] is None
    # |0 − 0.3|·1/5 + |1 − 0.55|·1/5 + |1 − 0.97|·1/5 + |1 − 0.9995|·2/5
    assert result["ece"] == pytest.approx((0.3 + 0.45 + 0.03 + 0.001) / 5)
    assert buckets[(0.5, 0.6)]["review_share_below"] == pytest.approx(0.2)
    assert buckets[(0.5, 0.6)]["accuracy_at_or_above"] == 1.0


def test_confusion_matrix_counts_pairs():
    matrix = confusion_matrix([["A", "B", "B"]], [["A", "A", "B"]])
    assert matrix == {"tags": ["A", "B"], "counts": [[1, 0], [1, 1]]}


def test_evaluate_reports_calibration_and_the_matrix(tiny_model):
    result = runner.invoke(app, ["evaluate", str(TEST), "--model", str(tiny_model), "--json"])
    data = json.loads(result.stdout)
    assert 0 <= data["calibration"]["ece"] < 1
    assert sum(b["words"] for b in data["calibration"]["buckets"]) == data["tokens"]
    assert np.sum(data["confusion_matrix"]["counts"]) == data["tokens"]
    shown = runner.invoke(app, ["evaluate", str(TEST), "--model", str(tiny_model), "--confusion"])
    assert shown.exit_code == 0 and "Confusion matrix" in shown.stdout and "Calibration" in shown.stdout
