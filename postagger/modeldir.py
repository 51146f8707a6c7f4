"""A model directory: the network's weights plus everything needed to rebuild and trust them.

    config.json      format version, hyper-parameters, provenance (data checksums, library
                     versions, seed, date, command)
    vocab.json       word, character and tag vocabularies
    tokenizer.json   tokenization rules learned from the training treebank
    metrics.json     dev (and test) scores
    weights.npz      the weights as plain NumPy arrays named "<layer>/<index>": read by the
                     NumPy and ONNX engines directly and by the Keras engine into a rebuilt
                     network (`postagger.engines` builds each; this module only reads and
                     writes the files)
    segmenter.json   the raw-text segmenter's settings, characters, sentence threshold and
    segmenter.npz    dev scores, and its weights (optional: without them raw text is split
                     by the rules of tokenizer.json, as in directories written before)
    tagger.onnx      the ONNX graphs of the sentence stage and of the segmenter, built from
    segmenter.onnx   the weights when the model is saved, their SHA-256 in config.json and
                     segmenter.json (optional: without them the graphs are built when the
                     model is loaded, which needs the onnx package; `postagger.onnx_files`)
    tagger.int8.onnx the sentence stage's graph with int8 weights (`tag --engine onnx-int8`),
                     made from tagger.onnx at saving, its SHA-256 in config.json (optional)

Directories written before weights.npz became the only weights file hold `model.keras`
(Keras's weights file) instead or as well; the Keras engine still reads it when there is no
weights.npz. Loading never deserialises code: the network is rebuilt from config.json with
`build_model` and only weight arrays are read (`allow_pickle=False`).
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from postagger.atomic import atomic_directory
from postagger.config import ModelConfig, SegmenterConfig
from postagger.errors import ModelError, PostaggerError
from postagger.jsonfile import read_json_object
from postagger.onnx_files import GRAPH_FILE, INT8_GRAPH_FILE, SEGMENTER_GRAPH_FILE, can_build_graphs, sha256
from postagger.text import TokenizerRules
from postagger.vocab import Vocabulary

MODEL_FORMAT = 1
FILES = ("config.json", "vocab.json", "tokenizer.json", "metrics.json")
WEIGHTS_FILE = "weights.npz"
KERAS_WEIGHTS_FILE = "model.keras"  # older directories only
SEGMENTER_FILE = "segmenter.json"
SEGMENTER_WEIGHTS_FILE = "segmenter.npz"
SEGMENTER_FORMAT = 1


@dataclass
class SegmenterInfo:
    """A trained segmenter (segmenter.json; its weights are in segmenter.npz)."""

    config: SegmenterConfig
    chars: list[str]  # character ids 2, 3, ... (0: padding, 1: unknown)
    threshold: float  # a sentence ends where its probability passes this (chosen on dev)
    scores: dict = field(default_factory=dict)  # dev scores
    provenance: dict = field(default_factory=dict)
    graph_sha256: str | None = None  # of segmenter.onnx, when the directory has it
    # character → the cuts its training text makes around it between letters or digits
    # (`postagger.segmentation.InfixSplits`); absent in directories written before it
    infix: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_json(self) -> dict:
        data = {
            "format": SEGMENTER_FORMAT,
            "config": self.config.to_json(),
            "chars": self.chars,
            "threshold": self.threshold,
            "scores": self.scores,
            "provenance": self.provenance,
        }
        if self.graph_sha256 is not None:
            data["onnx_sha256"] = self.graph_sha256
        if self.infix:
            data["infix"] = {char: list(cuts) for char, cuts in self.infix.items()}
        return data

    @classmethod
    def from_json(cls, data: dict, path: Path) -> SegmenterInfo:
        from postagger.segmentation import INFIX_CUTS

        if data.get("format") != SEGMENTER_FORMAT:
            raise ModelError(f"segmenter format {data.get('format')!r} is not supported", path)
        try:
            chars, threshold = [str(c) for c in data["chars"]], float(data["threshold"])
            config = SegmenterConfig.from_json(data["config"], path)
            graph = data.get("onnx_sha256")
            infix = {str(char): tuple(str(c) for c in cuts) for char, cuts in data.get("infix", {}).items()}
            if any(len(char) != 1 or not set(cuts) <= set(INFIX_CUTS) for char, cuts in infix.items()):
                raise ValueError(f"infix cuts must be one character each and of {', '.join(INFIX_CUTS)}")
            return cls(
                config,
                chars,
                threshold,
                dict(data.get("scores", {})),
                dict(data.get("provenance", {})),
                None if graph is None else str(graph),
                infix,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ModelError(f"damaged ({type(err).__name__}: {err})", path) from None


@dataclass
class TrainedSegmenter:
    """A segmenter to save: what segmenter.json holds and its weight arrays."""

    info: SegmenterInfo
    weights: dict


@dataclass
class ModelInfo:
    """Everything in a model directory except the network weights."""

    path: Path
    config: ModelConfig
    vocab: Vocabulary
    rules: TokenizerRules
    metrics: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    segmenter: SegmenterInfo | None = None  # None: raw text is split by the rules
    graph_sha256: str | None = None  # of tagger.onnx, when the directory has it
    int8_graph_sha256: str | None = None  # of tagger.int8.onnx, when the directory has it

    @property
    def weights_path(self) -> Path:
        """weights.npz, or model.keras in an older directory without it."""
        npz = self.path / WEIGHTS_FILE
        return (
            npz
            if npz.is_file() or not (self.path / KERAS_WEIGHTS_FILE).is_file()
            else self.path / KERAS_WEIGHTS_FILE
        )


PACKAGE_DIR = Path(__file__).resolve().parent


def default_model_dir(package_dir: Path = PACKAGE_DIR) -> Path:
    """The shipped English model: inside the installed package (a wheel carries it as
    postagger/models/en_ewt) or beside it in a source checkout / editable install."""
    for candidate in (package_dir / "models" / "en_ewt", package_dir.parent / "models" / "en_ewt"):
        if (candidate / "config.json").exists():
            return candidate
    raise ModelError(
        "the default model is not installed (looked in postagger/models/en_ewt and models/en_ewt); "
        "pass --model DIR or run `make model`"
    )


def model_dir(path: str | Path | None) -> Path:
    """The directory a `--model` value names: the shipped model for None."""
    return default_model_dir() if path is None else Path(path)


def _read_json(path: Path) -> dict:
    return read_json_object(path, "missing from the model directory", "damaged or truncated", ModelError)


def load_model_info(path: str | Path | None) -> ModelInfo:
    """Read and validate a model directory (without loading TensorFlow)."""
    path = model_dir(path)
    _check_files(path)
    meta = _read_json(path / "config.json")
    fmt = meta.get("format")
    if not isinstance(fmt, int):
        raise ModelError("not a postagger model (no format version)", path / "config.json")
    if fmt > MODEL_FORMAT:
        raise ModelError(
            f"written by a newer postagger (model format {fmt}; this version reads format "
            f"{MODEL_FORMAT}): upgrade postagger to use it",
            path / "config.json",
        )
    if fmt < MODEL_FORMAT:
        raise ModelError(f"model format {fmt} is no longer supported: retrain it", path / "config.json")
    if not isinstance(meta.get("config"), dict):
        raise ModelError("no settings in config.json", path / "config.json")
    config = ModelConfig.from_json(meta["config"], path / "config.json")
    try:
        vocab = Vocabulary.from_json(_read_json(path / "vocab.json"), path / "vocab.json")
    except PostaggerError as err:
        raise ModelError(err.message, err.path) from None
    if tuple(vocab.columns) != config.columns:
        raise ModelError(
            f"vocabulary is for {','.join(vocab.columns)} but the model predicts {','.join(config.columns)}",
            path,
        )
    rules = TokenizerRules.from_json(_read_json(path / "tokenizer.json"))
    metrics = _read_json(path / "metrics.json")
    segmenter = None
    if (path / SEGMENTER_FILE).is_file():
        segmenter = SegmenterInfo.from_json(_read_json(path / SEGMENTER_FILE), path / SEGMENTER_FILE)
    graph, int8_graph = meta.get("onnx_sha256"), meta.get("onnx_int8_sha256")
    return ModelInfo(
        path,
        config,
        vocab,
        rules,
        metrics,
        meta.get("provenance", {}),
        segmenter,
        None if graph is None else str(graph),
        None if int8_graph is None else str(int8_graph),
    )


def _check_files(path: Path) -> None:
    """A directory with every file a model needs, none of them a link leading outside."""
    if not path.exists():
        raise ModelError("no such model directory", path)
    if not path.is_dir():
        raise ModelError("is not a model directory", path)
    missing = [name for name in FILES if not (path / name).is_file()]
    if not (path / WEIGHTS_FILE).is_file() and not (path / KERAS_WEIGHTS_FILE).is_file():
        missing.append(WEIGHTS_FILE)
    if (path / SEGMENTER_FILE).is_file() and not (path / SEGMENTER_WEIGHTS_FILE).is_file():
        missing.append(SEGMENTER_WEIGHTS_FILE)
    if missing:
        raise ModelError(f"not a complete model directory (missing {', '.join(missing)})", path)
    root = path.resolve()
    names = (*FILES, WEIGHTS_FILE, KERAS_WEIGHTS_FILE, SEGMENTER_FILE, SEGMENTER_WEIGHTS_FILE, GRAPH_FILE)
    for name in (*names, INT8_GRAPH_FILE, SEGMENTER_GRAPH_FILE):
        if (path / name).exists() and not (path / name).resolve().is_relative_to(root):
            raise ModelError("points outside the model directory (a link?); refusing to read it", path / name)


def save_model_dir(
    path: str | Path,
    weights: dict,
    config: ModelConfig,
    vocab: Vocabulary,
    rules: TokenizerRules,
    metrics: dict,
    provenance: dict,
    segmenter: TrainedSegmenter | None = None,
) -> None:
    """Write a complete model directory atomically (an existing one is replaced whole);
    `weights` are the network's arrays by "<layer>/<index>" (`postagger.model.weight_arrays`)."""
    from postagger import __version__

    stored = stored_weights(weights, config)
    with atomic_directory(path) as tmp:
        meta = {
            "format": MODEL_FORMAT,
            "postagger_version": __version__,
            "config": config.to_json(),
            "provenance": provenance,
        }
        graph = _tagger_graph(as_loaded(stored), config)
        if graph is not None:
            from postagger.onnx_graph import quantize_graph

            int8_graph = quantize_graph(graph)
            (tmp / GRAPH_FILE).write_bytes(graph)
            (tmp / INT8_GRAPH_FILE).write_bytes(int8_graph)
            meta["onnx_sha256"], meta["onnx_int8_sha256"] = sha256(graph), sha256(int8_graph)
        (tmp / "config.json").write_text(_dump(meta), encoding="utf-8")
        (tmp / "vocab.json").write_text(_dump(vocab.to_json()), encoding="utf-8")
        (tmp / "tokenizer.json").write_text(_dump(rules.to_json()), encoding="utf-8")
        (tmp / "metrics.json").write_text(_dump(metrics), encoding="utf-8")
        _write_arrays(tmp / WEIGHTS_FILE, stored)
        if segmenter is not None:
            _write_segmenter(tmp, segmenter)


def save_segmenter(path: str | Path, segmenter: TrainedSegmenter) -> None:
    """Put a segmenter into an existing model directory (replacing its own), atomically:
    the directory is rewritten whole, the other files copied."""
    import shutil

    path = Path(path)
    load_model_info(path)  # a complete model directory to add to
    with atomic_directory(path) as tmp:
        for name in (*FILES, WEIGHTS_FILE, KERAS_WEIGHTS_FILE, GRAPH_FILE, INT8_GRAPH_FILE):
            if (path / name).is_file():
                shutil.copy2(path / name, tmp / name)
        _write_segmenter(tmp, segmenter)


def _write_segmenter(folder: Path, segmenter: TrainedSegmenter) -> None:
    info = segmenter.info
    graph = _segmenter_graph(segmenter.weights, info.config)
    if graph is not None:
        (folder / SEGMENTER_GRAPH_FILE).write_bytes(graph)
    info = dataclasses.replace(info, graph_sha256=None if graph is None else sha256(graph))
    (folder / SEGMENTER_FILE).write_text(_dump(info.to_json()), encoding="utf-8")
    _write_arrays(folder / SEGMENTER_WEIGHTS_FILE, segmenter.weights)


def _tagger_graph(arrays: dict, config: ModelConfig) -> bytes | None:
    """The ONNX graph of the sentence stage (tagger.onnx), or None without the onnx package."""
    if not can_build_graphs():
        return None
    from postagger.numpy_network import head_names
    from postagger.onnx_graph import build_graph

    return build_graph(arrays, config.lstm_layers, head_names(arrays))


def _segmenter_graph(arrays: dict, config: SegmenterConfig) -> bytes | None:
    """The segmenter's ONNX graph (segmenter.onnx), or None without the onnx package."""
    if not can_build_graphs():
        return None
    from postagger.onnx_graph import build_segmenter_graph

    return build_segmenter_graph(arrays, config.dilations)


def _dump(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


#: weights stored as float16 in weights.npz: the frozen pretrained vectors of
#: --dual-embeddings (up to hundreds of thousands of rows with --extend-vocab), half the
#: size; read back as float32, so every engine computes with the same rounded values
HALF_PRECISION_WEIGHTS = ("pretrained_embedding/",)
#: the same for the word embedding itself when --extend-vocab filled it with pretrained
#: rows (fine-tuned or frozen) without --dual-embeddings
EXTENDED_EMBEDDING = "word_embedding/"


def stored_weights(arrays: dict, config: ModelConfig) -> dict:
    """The arrays as weights.npz keeps them (`HALF_PRECISION_WEIGHTS` in float16, and
    `EXTENDED_EMBEDDING` with `config.extend_vocab` but not `config.dual_embeddings`)."""
    import numpy as np

    half = HALF_PRECISION_WEIGHTS
    if config.extend_vocab and not config.dual_embeddings:
        half = (*half, EXTENDED_EMBEDDING)
    return {name: a.astype(np.float16) if name.startswith(half) else a for name, a in arrays.items()}


def as_loaded(arrays: dict) -> dict:
    """Arrays as a model is computed with: float16 ones widened to float32."""
    import numpy as np

    return {name: a.astype(np.float32) if a.dtype == np.float16 else a for name, a in arrays.items()}


def _write_arrays(path: Path, arrays: dict) -> None:
    import numpy as np

    with open(path, "wb") as stream:
        np.savez(stream, **arrays)


def read_weight_arrays(npz: Path, widen: bool = True) -> dict:
    """The arrays of a weights.npz, read without unpickling; float16 ones widened to float32
    unless `widen` is False (the NumPy word stage widens the rows it gathers: the same values,
    without converting a table of hundreds of thousands of rows at every start)."""
    import numpy as np

    try:
        with np.load(npz, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
            return as_loaded(arrays) if widen else arrays
    except FileNotFoundError:
        raise ModelError("missing: this model can only be used with --engine keras", npz) from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise ModelError(f"damaged or truncated ({type(err).__name__}: {err})", npz) from None


def describe(info: ModelInfo) -> dict:
    """What a model is, as `postagger info --json` prints it: treebank, tag set, sizes,
    scores, settings, provenance and the directory's size in bytes."""
    return {
        "path": str(info.path),
        "treebank": info.provenance.get("treebank"),
        "column": info.config.column,
        "columns": list(info.config.columns),
        "tags": info.vocab.tag_names(),
        "vocabulary": info.vocab.summary(),
        "config": info.config.to_json(),
        "metrics": {k: v for k, v in info.metrics.items() if k != "history"},
        "provenance": info.provenance,
        "size_bytes": sum(f.stat().st_size for f in info.path.iterdir() if f.is_file()),
    }
