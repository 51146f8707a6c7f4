"""Shared fixtures: the sample treebank slices in data/ and one tiny model trained once."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
TRAIN = DATA / "en_ewt-sample-train.conllu"
DEV = DATA / "en_ewt-sample-dev.conllu"
TEST = DATA / "en_ewt-sample-test.conllu"

#: a small segmenter, trained in about a second on the sample
TINY_SEGMENTER = dict(filters=16, layers=3, epochs=3)
TINY = dict(
    word_dim=16, char_dim=8, char_filters=16, lstm_units=16, lstm_layers=1,
    learning_rate=0.01, batch_size=8, epochs=12, patience=0, dropout=0.1,
)  # fmt: skip


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A small model (with a small segmenter) trained in seconds on the 150-sentence sample of EWT."""
    from postagger.config import ModelConfig, SegmenterConfig
    from postagger.train import train

    out = tmp_path_factory.mktemp("models") / "tiny"
    segmenter = SegmenterConfig(**TINY_SEGMENTER)
    train([TRAIN], [DEV], out, ModelConfig(**TINY), test_paths=[TEST], command="pytest", segmenter=segmenter)
    return out


@pytest.fixture(scope="session")
def rules_model(tiny_model, tmp_path_factory) -> Path:
    """The tiny model without its segmenter, as directories written before segmenters:
    raw text is split by the rules learned from the treebank."""
    import shutil

    out = tmp_path_factory.mktemp("models") / "rules"
    shutil.copytree(tiny_model, out, ignore=shutil.ignore_patterns("segmenter.*"))
    return out


@pytest.fixture(scope="session")
def joint_model(tmp_path_factory) -> Path:
    """A small model of UPOS, XPOS and FEATS (one head per feature) on the same sample."""
    from postagger.config import ModelConfig
    from postagger.train import train

    out = tmp_path_factory.mktemp("models") / "joint"
    config = ModelConfig(**{**TINY, "columns": ("upos", "xpos", "feats"), "feats_heads": "split"})
    train([TRAIN], [DEV], out, config, test_paths=[TEST], command="pytest", segmenter=None)
    return out


@pytest.fixture(scope="session")
def tiny_tagger(tiny_model):
    from postagger import Tagger

    return Tagger.load(tiny_model)


TRAINED = {"tiny_model", "joint_model", "tiny_tagger", "rules_model"}


def pytest_collection_modifyitems(items):
    """A test that needs a trained model is slow (the first one trains it); so is any test
    marked so in its module. `pytest -m "not slow"` runs the rest in seconds."""
    for item in items:
        if TRAINED & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def conllu_block(*rows: str, comments: tuple[str, ...] = ()) -> str:
    """A CoNLL-U sentence from 'id form upos' rows (other columns '_')."""
    lines = [f"# {c}" for c in comments]
    for row in rows:
        token_id, form, upos = row.split(" ")
        lines.append("\t".join([token_id, form, "_", upos, "_", "_", "_", "_", "_", "_"]))
    return "\n".join(lines) + "\n\n"
