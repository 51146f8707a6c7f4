from __future__ import annotations

import json
import shutil

import pytest

from postagger.errors import ModelError
from postagger.modeldir import default_model_dir, load_model_info


@pytest.fixture
def copy(tiny_model, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(tiny_model, target)
    return target


def test_loads_a_complete_directory(tiny_model):
    info = load_model_info(tiny_model)
    assert info.config.column == "upos" and len(info.vocab.tags) > 10


@pytest.mark.parametrize("name", ["config.json", "vocab.json", "weights.npz"])
def test_a_missing_file_is_named(copy, name):
    (copy / name).unlink()
    with pytest.raises(ModelError, match=f"missing {name}"):
        load_model_info(copy)


def test_a_future_format_asks_for_an_upgrade(copy):
    meta = json.loads((copy / "config.json").read_text())
    meta["format"] = 99
    (copy / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="newer postagger .*upgrade"):
        load_model_info(copy)


def test_unknown_settings_are_refused(copy):
    meta = json.loads((copy / "config.json").read_text())
    meta["config"]["attention_heads"] = 4
    (copy / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="unknown settings attention_heads"):
        load_model_info(copy)


def test_truncated_json_and_weights(copy):
    from postagger.engines import load_keras_model, load_tagger_network

    text = (copy / "vocab.json").read_text()
    (copy / "vocab.json").write_text(text[: len(text) // 2])
    with pytest.raises(ModelError, match="vocab.json: damaged or truncated"):
        load_model_info(copy)
    (copy / "vocab.json").write_text(text)
    data = (copy / "weights.npz").read_bytes()
    (copy / "weights.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="weights.npz: damaged or truncated"):
        load_tagger_network(load_model_info(copy))
    with pytest.raises(ModelError, match="weights.npz: damaged or truncated"):
        load_keras_model(load_model_info(copy))


def test_an_older_directory_with_model_keras_only_still_loads(copy, tiny_model):
    """Before weights.npz was the only weights file, directories held model.keras."""
    from postagger import Tagger
    from postagger.engines import load_keras_model, load_tagger_network

    load_keras_model(load_model_info(copy)).save(copy / "model.keras")
    (copy / "weights.npz").unlink()
    sentence = [["A", "test", "of", "the", "old", "layout", "."]]
    assert Tagger.load(copy).tag(sentence) == Tagger.load(tiny_model).tag(sentence)
    with pytest.raises(ModelError, match="only be used with --engine keras"):
        load_tagger_network(load_model_info(copy), "numpy")
    data = (copy / "model.keras").read_bytes()
    (copy / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="model.keras: cannot read the weights"):
        load_keras_model(load_model_info(copy))


@pytest.mark.filterwarnings("ignore:Skipping nested container")
def test_weights_from_another_vocabulary_are_refused(copy):
    from postagger.engines import load_keras_model, load_tagger_network

    vocab = json.loads((copy / "vocab.json").read_text())
    vocab["words"] = vocab["words"][:-5]
    (copy / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(ModelError, match="not belong"):
        load_keras_model(load_model_info(copy))
    with pytest.raises(ModelError, match="not belong"):
        load_tagger_network(load_model_info(copy))


def test_not_a_model_directory(tmp_path):
    with pytest.raises(ModelError, match="no such model directory"):
        load_model_info(tmp_path / "none")
    with pytest.raises(ModelError, match="not a complete model directory"):
        load_model_info(tmp_path)


def test_the_default_model_is_found_in_the_source_tree():
    path = default_model_dir()
    assert path.name == "en_ewt" and (path / "weights.npz").is_file()


def test_the_default_model_is_found_in_a_wheel_layout_first(tmp_path):
    wheel = tmp_path / "site-packages" / "postagger"
    (wheel / "models" / "en_ewt").mkdir(parents=True)
    (wheel / "models" / "en_ewt" / "config.json").write_text("{}")
    assert default_model_dir(wheel) == wheel / "models" / "en_ewt"
    source = tmp_path / "checkout" / "postagger"
    source.mkdir(parents=True)
    (source.parent / "models" / "en_ewt").mkdir(parents=True)
    (source.parent / "models" / "en_ewt" / "config.json").write_text("{}")
    assert default_model_dir(source) == source.parent / "models" / "en_ewt"
    with pytest.raises(ModelError, match="default model is not installed"):
        default_model_dir(tmp_path / "elsewhere" / "postagger")


def test_files_linked_from_outside_the_directory_are_refused(copy, tmp_path):
    outside = tmp_path / "elsewhere.json"
    (copy / "vocab.json").rename(outside)
    (copy / "vocab.json").symlink_to(outside)
    with pytest.raises(ModelError, match="points outside the model directory"):
        load_model_info(copy)


def test_a_config_from_before_the_char_encoder_option_means_the_cnn():
    from postagger.config import ModelConfig

    old = {k: v for k, v in ModelConfig().to_json().items() if k not in ("char_encoder", "char_units")}
    assert ModelConfig.from_json(old).char_encoder == "cnn"


def test_a_model_from_before_joint_heads_loads_as_one_column(copy):
    """config.json with "column" and vocab.json format 1, as single-column models were
    written (the tags and the NumPy engine's output are the same)."""
    from postagger import Tagger

    sentence = [["The", "cat", "sat", "."]]
    expected = Tagger.load(copy).tag(sentence)
    meta = json.loads((copy / "config.json").read_text())
    meta["config"]["column"] = meta["config"].pop("columns")[0]
    del meta["config"]["feats_heads"]
    (copy / "config.json").write_text(json.dumps(meta))
    vocab = json.loads((copy / "vocab.json").read_text())
    vocab.update(format=1, column=vocab.pop("columns")[0], tags=vocab["tags"]["upos"])
    (copy / "vocab.json").write_text(json.dumps(vocab))
    info = load_model_info(copy)
    assert info.config.columns == ("upos",) and info.vocab.columns == ["upos"]
    assert Tagger.load(copy).tag(sentence) == expected
