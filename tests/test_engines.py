"""Every engine runs the same network: the NumPy and ONNX Runtime engines must compute what
the Keras layers compute (to 1e-5), stage by stage through `Engine.run`, and the two stages
together must give what the whole trained Keras model gives."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import DEV, TEST, TRAIN

from postagger.batching import char_ids, encode_sentence, length_batches
from postagger.conllu_io import read_treebank
from postagger.engines import load_keras_model, load_tagger_network
from postagger.modeldir import ModelInfo, load_model_info
from postagger.text import TokenizerRules
from postagger.vocab import PAD_ID

ENGINES = ("keras", "numpy", "onnx")
EXTRA = [["x" * 300, "Zanzibarification", "."], ["Hello"], ["Yes", "!"]]  # long, unseen, one and two words


@pytest.fixture(scope="module")
def networks(tiny_model):
    info = load_model_info(tiny_model)
    return info, {engine: load_tagger_network(info, engine) for engine in ENGINES}


def word_inputs(forms: list[str], info: ModelInfo) -> dict[str, np.ndarray]:
    """The word stage's inputs for some word forms."""
    ids = [char_ids(f, info.vocab, info.config.max_word_chars) for f in forms]
    chars = np.zeros((len(forms), max(map(len, ids))), np.int32)
    for row, word in zip(chars, ids):
        row[: len(word)] = word
    return {"words": np.array([info.vocab.word_id(f) for f in forms], np.int32), "chars": chars}


def assert_engines_agree(info: ModelInfo, nets: dict, sentences: list[list[str]], whole) -> None:
    """Both stages of every engine give the Keras engine's values, and the stages together
    give the probabilities of `whole`, the Keras model, on batches of the given sentences."""
    heads = list(info.vocab.output_names.values())
    outputs = heads + [f"{name}_ids" for name in heads]
    data = [encode_sentence(s, info.vocab, info.config.max_word_chars) for s in sentences]
    for batch in length_batches(data, 16):
        forms = [f for i in batch.index for f in sentences[i]]
        vectors = {
            e: net.words.run(word_inputs(forms, info), ["vectors"])["vectors"] for e, net in nets.items()
        }
        real = batch.weights.astype(bool)
        padded = np.zeros((*real.shape, vectors["keras"].shape[1]), np.float32)
        padded[real] = vectors["keras"]
        inputs = {"vectors": padded, "lengths": real.sum(1).astype(np.int32)}
        got = {e: net.sentences.run(inputs, outputs) for e, net in nets.items()}
        for engine in nets:
            np.testing.assert_allclose(vectors[engine], vectors["keras"], atol=1e-5)
            for name in heads:
                np.testing.assert_allclose(got[engine][name][real], got["keras"][name][real], atol=1e-5)
                assert_same_choice(got[engine][f"{name}_ids"][real], got["keras"][name][real])
        expected = whole.predict_on_batch(batch.inputs)
        for name in heads:
            np.testing.assert_allclose(got["keras"][name][real], np.asarray(expected[name])[real], atol=1e-5)


def assert_same_choice(ids: np.ndarray, probs: np.ndarray) -> None:
    """Each chosen id is Keras's best real tag (the padding tag, id 0, is never chosen);
    where two tags tie within float noise (untrained networks are nearly uniform) either is
    right, so the choice must only score the best."""
    probs = np.where(np.arange(probs.shape[1]) == PAD_ID, -1.0, probs)
    chosen = np.take_along_axis(probs, ids[:, None].astype(np.int64), 1)[:, 0]
    np.testing.assert_allclose(chosen, probs.max(1), atol=1e-5)
    clear = np.sort(probs, 1)[:, -1] - np.sort(probs, 1)[:, -2] > 1e-4
    assert (ids[clear] == probs[clear].argmax(1)).all()


def test_every_engine_computes_what_the_keras_model_computes(networks):
    info, nets = networks
    assert {e: net.engine for e, net in nets.items()} == {e: e for e in ENGINES}
    sentences = [s.forms for s in read_treebank([TRAIN, DEV, TEST])] + EXTRA
    assert_engines_agree(info, nets, sentences, load_keras_model(info))


def test_a_sentence_gets_the_same_probabilities_whatever_its_batch(networks):
    """Padding never leaks into real words: alone, or padded beside a longer sentence
    (both directions of every layer start and stop at the sentence's own words)."""
    info, nets = networks
    short = ["It", "works", "."]
    long = ["A", "much", "longer", "sentence", "pads", "the", "short", "one", "."]
    for net in nets.values():
        vectors = net.words.run(word_inputs(short + long, info), ["vectors"])["vectors"]
        alone = net.sentences.run(
            {"vectors": vectors[None, :3], "lengths": np.array([3], np.int32)}, ["tags"]
        )
        both = np.zeros((2, 9, vectors.shape[1]), np.float32)
        both[0, :3], both[1] = vectors[:3], vectors[3:]
        together = net.sentences.run({"vectors": both, "lengths": np.array([3, 9], np.int32)}, ["tags"])
        np.testing.assert_allclose(together["tags"][0, :3], alone["tags"][0], atol=1e-6)


@pytest.mark.parametrize("engine", ["numpy", "onnx"])  # keras: test_tagger_engines_agree
@pytest.mark.parametrize("rows", [4, 60, 20_000])
def test_the_form_table_gives_the_tags_of_fresh_vectors(tiny_model, monkeypatch, engine, rows):
    """Tagging from the table of word vectors (kept across batches, emptied when full,
    bypassed for a batch with more distinct forms than it holds) gives the tags and scores
    of vectors computed afresh for every batch (a table of one batch's size)."""
    from postagger import Tagger, formtable

    forms = [s.forms for s in read_treebank([DEV, TEST])] + EXTRA
    tagger = Tagger.load(tiny_model, engine)
    monkeypatch.setattr(formtable, "FORM_TABLE_ROWS", 2)  # every batch has more distinct forms
    fresh = Tagger(tagger.info, tagger.network).tag_sentences(forms, 16, top_k=3)
    monkeypatch.setattr(formtable, "FORM_TABLE_ROWS", rows)
    table = Tagger(tagger.info, tagger.network)
    for _ in range(2):  # the second pass reads the table (or refills it)
        got = table.tag_sentences(forms, 16, top_k=3)
        assert [t.tags for t in got] == [t.tags for t in fresh]
        for a, b in zip(got, fresh):
            assert [[t for t, _ in word] for word in a.scores] == [[t for t, _ in word] for word in b.scores]
            probs = [[p for _, p in w] for w in a.scores]
            np.testing.assert_allclose(probs, [[p for _, p in w] for w in b.scores], atol=1e-6)
    assert all(t.scores is None for t in table.tag_sentences(forms, 16))


@pytest.mark.slow
@pytest.mark.parametrize(
    "settings",
    [
        {"word_repr": "both", "char_encoder": "lstm"},
        {"word_repr": "chars", "char_encoder": "lstm"},
        {"word_repr": "chars", "char_encoder": "cnn", "char_kernel": 4},
        {"word_repr": "word", "lstm_layers": 3},
        {"word_repr": "both", "dual_embeddings": True},
        {"word_repr": "both", "extend_vocab": 2},  # the word embedding holds pretrained rows: float16
        {"columns": ("upos", "xpos", "feats")},
        {"columns": ("xpos", "feats", "upos"), "feats_heads": "split"},
    ],
)
def test_every_engine_matches_keras_for_each_architecture(settings, tmp_path):
    """Untrained networks of each shape (random weights exercise every path as well),
    saved and loaded by each engine."""
    from postagger.config import ModelConfig
    from postagger.engines import keras_tagger_network
    from postagger.model import build_model, set_weight_arrays, weight_arrays
    from postagger.modeldir import read_weight_arrays, save_model_dir
    from postagger.vocab import Index, build_vocabulary

    sentences = list(read_treebank([DEV]))
    config = ModelConfig(word_dim=8, char_dim=6, char_units=5, char_filters=7, lstm_units=9, **settings)
    vocab = build_vocabulary(sentences, config.columns, feats_heads=config.feats_heads)
    added = ["zebra", "quokka"]  # as --extend-vocab adds them: after the training words
    vocab = dataclasses.replace(vocab, words=Index([*vocab.words.items, *added]))
    assert vocab.trained_words() == len(vocab.words) - 2
    model = build_model(config, vocab)
    save_model_dir(tmp_path / "m", weight_arrays(model), config, vocab, TokenizerRules(), {}, {})
    with np.load(tmp_path / "m" / "weights.npz") as stored:
        half = {name for name in stored.files if stored[name].dtype == np.float16}
    expected = {"word_embedding/0"} if config.extend_vocab else set()
    assert half == ({"pretrained_embedding/0"} if config.dual_embeddings else expected)
    set_weight_arrays(model, read_weight_arrays(tmp_path / "m" / "weights.npz"), "saved")  # as saved
    info = load_model_info(tmp_path / "m")
    nets = {"keras": keras_tagger_network(model, info)}
    nets.update({e: load_tagger_network(info, e) for e in ("numpy", "onnx")})
    assert_engines_agree(info, nets, [s.forms for s in sentences] + EXTRA + [["a", "zebra", "quokka"]], model)


def test_tagger_engines_agree(tiny_model):
    from postagger import Tagger

    forms = [s.forms for s in read_treebank([TEST])]
    expected = Tagger.load(tiny_model, "keras").tag_sentences(forms, top_k=2)
    for engine in ("numpy", "onnx", "auto"):
        got = Tagger.load(tiny_model, engine).tag_sentences(forms, top_k=2)
        assert [t.tags for t in got] == [t.tags for t in expected]
        assert [[[tag for tag, _ in w] for w in t.scores] for t in got] == [
            [[tag for tag, _ in w] for w in t.scores] for t in expected
        ]


def test_onnx_engine_without_onnxruntime(networks, monkeypatch):
    """--engine onnx asks for what it needs; auto falls back to NumPy alone."""
    from postagger import engines
    from postagger.errors import PostaggerError

    info, _ = networks
    monkeypatch.setattr(engines, "onnx_available", lambda: False)
    with pytest.raises(PostaggerError, match="pip install onnxruntime"):
        load_tagger_network(info, "onnx")
    assert load_tagger_network(info, "auto").engine == "numpy"


def test_the_stored_graphs_run_without_the_onnx_package(tiny_model, tmp_path):
    """A saved model carries tagger.onnx and segmenter.onnx (their SHA-256 recorded): with
    the onnx package unimportable, ONNX Runtime runs them and gives the NumPy engine's tags;
    `import onnx` never happens."""
    import hashlib
    import json

    meta = json.loads((tiny_model / "config.json").read_text())
    graph = (tiny_model / "tagger.onnx").read_bytes()
    assert meta["onnx_sha256"] == hashlib.sha256(graph).hexdigest()
    segmenter = json.loads((tiny_model / "segmenter.json").read_text())
    assert (
        segmenter["onnx_sha256"] == hashlib.sha256((tiny_model / "segmenter.onnx").read_bytes()).hexdigest()
    )
    code = (
        "import sys, json\n"
        "sys.modules['onnx'] = None\n"
        "from postagger import Tagger\n"
        f"text = open({str(TEST)!r}, encoding='utf-8').read()\n"
        "out = {}\n"
        "for engine in ('onnx', 'numpy'):\n"
        f"    tagger = Tagger.load({str(tiny_model)!r}, engine)\n"
        "    out[engine] = [[s.words, s.tags['upos']] for s in tagger.tag_text('The cat sat. It slept.')]\n"
        "assert tagger is not None and 'onnx' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    out = json.loads(result.stdout)
    assert out["onnx"] == out["numpy"] and out["onnx"]


def test_directories_without_stored_graphs_still_load(tiny_model, tmp_path):
    """Written before graphs were stored: the graphs are built in memory, as before."""
    import json
    import shutil

    from postagger import Tagger

    old = tmp_path / "old"
    shutil.copytree(tiny_model, old)
    for name, key_file in (("tagger.onnx", "config.json"), ("segmenter.onnx", "segmenter.json")):
        (old / name).unlink()
        data = json.loads((old / key_file).read_text())
        del data["onnx_sha256"]
        (old / key_file).write_text(json.dumps(data))
    forms = [s.forms for s in read_treebank([TEST])]
    got = Tagger.load(old, "onnx").tag_sentences(forms)
    assert [t.tags for t in got] == [t.tags for t in Tagger.load(tiny_model, "onnx").tag_sentences(forms)]
    assert Tagger.load(old, "onnx").tag_text("It works.") == Tagger.load(tiny_model, "onnx").tag_text(
        "It works."
    )


def test_the_padding_tag_is_never_chosen(tiny_model, tmp_path):
    """Even when the network prefers the padding tag everywhere, every engine's best ids
    and top-k lists hold real tags only."""
    import shutil

    from postagger import Tagger
    from postagger.modeldir import read_weight_arrays

    shutil.copytree(tiny_model, tmp_path / "m")
    weights = read_weight_arrays(tmp_path / "m" / "weights.npz")
    weights["tags/1"][0] = 100.0  # the bias of the padding tag
    np.savez(tmp_path / "m" / "weights.npz", **weights)
    forms = [s.forms for s in read_treebank([TEST])]
    for engine in ENGINES:
        tagger = Tagger.load(tmp_path / "m", engine)
        for tagged in tagger.tag_sentences(forms, top_k=3):
            assert "<pad>" not in tagged.tags["upos"]
            assert all(tag != "<pad>" and 0 <= p <= 1 for word in tagged.scores for tag, p in word)


def test_tagging_with_numpy_never_imports_tensorflow(tiny_model):
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from postagger.cli import app\n"
        f"r = CliRunner().invoke(app, ['tag', '--model', {str(tiny_model)!r}], input='A test.\\n')\n"
        "assert r.exit_code == 0 and 'TokenRange=0:1' in r.stdout, r.output\n"  # its segmenter too
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent)


def test_the_int8_engine_tags_nearly_as_the_exact_ones(tiny_model, tmp_path):
    """A saved model carries tagger.int8.onnx (the sentence stage with int8 weights, its
    SHA-256 recorded), whose only operator outside the standard domain is ONNX Runtime's
    own quantized LSTM (allowed there, nowhere else). `onnx-int8` runs it: the probabilities
    round a little, the tags stay those of the exact engines on nearly every word, and the
    segmenter is the exact one. A directory written before the file existed makes the same
    graph in memory."""
    import hashlib
    import json
    import shutil

    from postagger import Tagger
    from postagger.onnx_files import INT8_OPERATORS, graph_problem

    graph = (tiny_model / "tagger.int8.onnx").read_bytes()
    meta = json.loads((tiny_model / "config.json").read_text())
    assert meta["onnx_int8_sha256"] == hashlib.sha256(graph).hexdigest()
    assert graph_problem(graph, INT8_OPERATORS) is None
    assert "custom operators" in graph_problem(graph)  # the exact graphs may not hold it
    assert len(graph) < 0.5 * len((tiny_model / "tagger.onnx").read_bytes())

    forms = [s.forms for s in read_treebank([TEST, DEV])]
    exact = Tagger.load(tiny_model, "onnx").tag_sentences(forms, top_k=1)
    int8 = Tagger.load(tiny_model, "onnx-int8")
    assert int8.network.engine == "onnx-int8"
    got = int8.tag_sentences(forms, top_k=1)
    pairs = [(a, b) for x, y in zip(exact, got) for a, b in zip(x.tags["upos"], y.tags["upos"])]
    differ = sum(a != b for a, b in pairs)
    # the tiny network's probabilities are close together: 21 of 1,583 differ here (the
    # shipped model: 36 of 100,376)
    assert differ <= 0.04 * len(pairs), f"{differ} of {len(pairs)} tags differ"
    probs = [p for t in exact for ((_, p),) in t.scores]
    int8_probs = [p for t in got for ((_, p),) in t.scores]
    assert probs != int8_probs and np.allclose(probs, int8_probs, atol=0.1)
    text = "The cat sat. It slept."
    assert [t.words for t in int8.tag_text(text)] == [
        t.words for t in Tagger.load(tiny_model, "onnx").tag_text(text)
    ]

    old = tmp_path / "old"
    shutil.copytree(tiny_model, old)
    (old / "tagger.int8.onnx").unlink()
    del meta["onnx_int8_sha256"]
    (old / "config.json").write_text(json.dumps(meta))
    assert [t.tags for t in Tagger.load(old, "onnx-int8").tag_sentences(forms)] == [t.tags for t in got]


def test_without_the_int8_graph_or_onnx_the_int8_engine_says_what_to_do(tiny_model, tmp_path, monkeypatch):
    import json
    import shutil

    import postagger.onnx_files
    from postagger.errors import ModelError

    old = tmp_path / "old"
    shutil.copytree(tiny_model, old)
    (old / "tagger.int8.onnx").unlink()
    meta = json.loads((old / "config.json").read_text())
    del meta["onnx_int8_sha256"]
    (old / "config.json").write_text(json.dumps(meta))
    monkeypatch.setattr(postagger.onnx_files, "can_build_graphs", lambda: False)
    with pytest.raises(ModelError, match="no int8 graph stored.*pip install onnx.*--engine onnx"):
        load_tagger_network(load_model_info(old), "onnx-int8")
    assert load_tagger_network(load_model_info(old), "onnx").engine == "onnx"  # the exact graph is stored


def test_evaluate_scores_what_an_engine_tags(tiny_model):
    """`evaluate --engine`: the exact engines score alike; onnx-int8 scores its own tags."""
    import json

    from typer.testing import CliRunner

    from postagger.cli import app

    def scores(*engine: str) -> dict:
        result = CliRunner().invoke(
            app, ["evaluate", str(TEST), "--model", str(tiny_model), "--json", *engine]
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    default, numpy_, int8 = scores(), scores("--engine", "numpy"), scores("--engine", "onnx-int8")
    assert default["upos"] == numpy_["upos"] and default["per_tag"] == numpy_["per_tag"]
    assert abs(int8["upos"] - default["upos"]) < 0.03
    assert int8["calibration"] != default["calibration"]  # its own probabilities
