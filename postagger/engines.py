"""Tagging engines: one way to run a saved network, named arrays in and named arrays out.

Every engine implements `Engine.run(inputs, outputs)`. The tagger network runs as two
stages (`TaggerNetwork`), because a word's input vector depends on that word alone and is
worth keeping between batches (`postagger.formtable.FormTable`):

- the word stage: "words" (n,) int32 word ids and "chars" (n, width) int32 character ids
  → "vectors" (n, dim) float32;
- the sentence stage: "vectors" (batch, time, dim) float32 and "lengths" (batch,) int32
  (right padding) → for each output head ("tags", "tags_1", ...) its probabilities
  (batch, time, tags) and "<head>_ids" (batch, time), the best tag ids, never padding.

Engines: "keras" (the Keras layers of `postagger.model`, also used to score dev during
training), "numpy" (`postagger.numpy_network`, no TensorFlow), "onnx" (the NumPy word stage
and the sentence stage in ONNX Runtime, `postagger.onnx_graph`). These three give the same
tags. "onnx-int8" runs the sentence stage with int8 weights (`onnx_graph.quantize_graph`):
faster, and its tags differ from theirs on about one word in a thousand; it is never
chosen unless asked for. A new network (another shape, another stage) plugs in as one
more `Engine` per implementation; what reads its outputs (decoding) does not change with
the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from postagger.config import ENGINES
from postagger.errors import ModelError, PostaggerError
from postagger.modeldir import WEIGHTS_FILE, ModelInfo, read_weight_arrays

if TYPE_CHECKING:  # NumPy is imported where arrays are made: checking an engine name needs none
    import numpy as np


class Engine(Protocol):
    def run(self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]) -> dict[str, np.ndarray]:
        """The named `outputs` of the network for the named `inputs` (arrays)."""
        ...


#: batches for the NumPy and ONNX engines end before padding exceeds this fraction of
#: their words (see `postagger.batching.length_groups`): their LSTMs compute padded steps
#: too, and smaller batches of long sentences cost less than that (EWT train: 13% padding →
#: 4%, 10% faster). Keras pays more for each call than for padding: no such limit.
MAX_PADDING = 0.1

#: the engines that run the sentence stage in ONNX Runtime
ONNX_ENGINES = ("onnx", "onnx-int8")


@dataclass(frozen=True)
class TaggerNetwork:
    """A tagger network's two stages, run by one engine (see the module docstring)."""

    engine: str  # "onnx", "onnx-int8", "numpy" or "keras"
    words: Engine
    sentences: Engine
    max_padding: float | None = MAX_PADDING  # how batches for this engine are cut


class KerasEngine:
    """A Keras model (`postagger.model.tagging_stages`) run on a batch."""

    def __init__(self, model):
        self.model = model

    def run(self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]) -> dict[str, np.ndarray]:
        import numpy as np

        result = self.model.predict_on_batch(dict(inputs))
        # under a distribution strategy Keras can return more rows than the batch (the
        # replicas' padding): only the batch's own rows are read
        rows = len(next(iter(inputs.values())))
        return {name: np.asarray(result[name])[:rows] for name in outputs}


class OnnxEngine:
    """A serialized ONNX graph in an ONNX Runtime session, one thread (several processes,
    `tag --jobs`, are the way to use more cores)."""

    def __init__(self, graph: bytes):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: no notices on stderr
        self.session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def run(self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]) -> dict[str, np.ndarray]:
        import numpy as np

        feed = {name: np.ascontiguousarray(value) for name, value in inputs.items()}
        return dict(zip(outputs, self.session.run(list(outputs), feed)))


def onnx_available() -> bool:
    """Whether onnxruntime can be imported (found without importing it)."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def onnx_graph(path: Path, recorded: str | None, build: Callable[[], bytes]) -> bytes:
    """The model directory's graph file (checked: `onnx_files.read_graph`), else one built
    in memory by `build` (needs the onnx package)."""
    from postagger.onnx_files import can_build_graphs, read_graph

    graph = read_graph(path, recorded)
    if graph is not None:
        return graph
    if not can_build_graphs():
        raise ModelError(
            "no ONNX graph stored (a directory written before they were): pip install onnx to build "
            "it, or use --engine numpy",
            path.parent,
        )
    return build()


def check_engine(engine: str) -> None:
    """Refuse an engine that cannot run here: an unknown name, or onnx without onnxruntime
    (imports ONNX Runtime only when asked for "onnx": "auto" costs nothing here)."""
    if engine not in ENGINES:
        raise PostaggerError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    if engine in ONNX_ENGINES and not onnx_available():
        raise PostaggerError(
            f"--engine {engine} needs onnxruntime: pip install onnxruntime (or use --engine numpy)"
        )


def resolve_engine(engine: str, info: ModelInfo) -> str:
    """The engine that `engine` means for this model: "auto" is onnx when the directory has
    weights.npz and onnxruntime and onnx are installed, numpy without them, and keras for an
    older directory with model.keras only. Refuses an engine that cannot run here."""
    check_engine(engine)
    if engine != "auto":
        return engine
    return best_array_engine(info) if (info.path / WEIGHTS_FILE).is_file() else "keras"


def best_array_engine(info: ModelInfo | None = None) -> str:
    """The fastest engine that runs from weight arrays here: onnx (when onnxruntime is
    installed and the directory stores its graphs or the onnx package can build them), else
    numpy."""
    from postagger.onnx_files import GRAPH_FILE, can_build_graphs

    stored = info is not None and (info.path / GRAPH_FILE).is_file()
    return "onnx" if onnx_available() and (stored or can_build_graphs()) else "numpy"


def load_tagger_network(info: ModelInfo, engine: str = "auto") -> TaggerNetwork:
    """The model's network for tagging, run by `engine` (see `resolve_engine`); all give
    the same tags."""
    engine = resolve_engine(engine, info)
    if engine == "keras":
        return keras_tagger_network(load_keras_model(info), info)
    npz = info.path / WEIGHTS_FILE
    return array_tagger_network(info, read_weight_arrays(npz, widen=False), engine, npz)


def array_tagger_network(
    info: ModelInfo, arrays: dict, engine: str, source: Path, stored_graph: bool = True
) -> TaggerNetwork:
    """The network of weight arrays (as weights.npz holds them, read from `source`) run by
    the "numpy", "onnx" or "onnx-int8" engine; weights that do not fit the model are a
    `ModelError`. The onnx engines run the directory's graph files when it has them, unless
    `stored_graph` is False (arrays that are not the directory's own: training builds
    their graph)."""
    from postagger.numpy_network import NumpySentenceNetwork, NumpyWordEncoder, sizes_problem

    vocab = info.vocab
    sizes = {"words": len(vocab.words), "chars": len(vocab.chars)}
    sizes.update({name: len(vocab.tagsets[head]) for head, name in vocab.output_names.items()})
    try:
        problem = sizes_problem(arrays, sizes)
        if problem is not None:
            raise ModelError(problem, source)
        words = NumpyWordEncoder(arrays)
        if engine in ONNX_ENGINES:
            sentences = OnnxEngine(_sentence_graph(info, arrays, engine, stored_graph))
        else:
            sentences = NumpySentenceNetwork(info.config, arrays)
    except (KeyError, ValueError, IndexError) as err:
        raise ModelError(f"weights do not fit this config ({type(err).__name__}: {err})", source) from None
    return TaggerNetwork(engine, words, sentences)


def _sentence_graph(info: ModelInfo, arrays: dict, engine: str, stored: bool) -> bytes:
    """The sentence stage's ONNX graph for the "onnx" or "onnx-int8" engine: the directory's
    file (unless not `stored`), else built from `arrays`."""
    from postagger.numpy_network import head_names
    from postagger.onnx_files import GRAPH_FILE, INT8_GRAPH_FILE, INT8_OPERATORS, can_build_graphs, read_graph
    from postagger.onnx_graph import build_graph, quantize_graph

    layers, heads = info.config.lstm_layers, head_names(arrays)

    def build() -> bytes:
        return build_graph(arrays, layers, heads)

    def exact() -> bytes:
        return onnx_graph(info.path / GRAPH_FILE, info.graph_sha256, build) if stored else build()

    if engine == "onnx":
        return exact()
    path = info.path / INT8_GRAPH_FILE
    graph = read_graph(path, info.int8_graph_sha256, INT8_OPERATORS) if stored else None
    if graph is not None:
        return graph
    if not can_build_graphs():
        raise ModelError(
            "no int8 graph stored (a directory written before they were): pip install onnx to "
            "make it, or use --engine onnx",
            path,
        )
    return quantize_graph(exact())


def keras_tagger_network(model, info: ModelInfo) -> TaggerNetwork:
    """The stages of a Keras network of `postagger.model.build_model` (sharing its weights)."""
    from postagger.model import tagging_stages

    heads = list(info.vocab.output_names.values())
    words, sentences = tagging_stages(model, info.config, heads)
    return TaggerNetwork("keras", KerasEngine(words), KerasEngine(sentences), max_padding=None)


def load_keras_model(info: ModelInfo):
    """The Keras network rebuilt from the config with the directory's weights (weights.npz,
    or model.keras in an older directory); no code is deserialised."""
    from postagger.model import build_model, set_weight_arrays

    model = build_model(info.config, info.vocab)
    path = info.weights_path
    if path.name == WEIGHTS_FILE:
        set_weight_arrays(model, read_weight_arrays(path), path)
        return model
    try:
        model.load_weights(path)
    except Exception as err:  # Keras raises many types for damaged or mismatched files
        raise ModelError(
            f"cannot read the weights ({type(err).__name__}: {str(err).splitlines()[0][:200]}); "
            "the file is damaged or does not belong to this config and vocabulary",
            path,
        ) from None
    return model


def load_segmenter_network(info: ModelInfo, engine: str = "auto") -> Engine | None:
    """The model's raw-text segmenter run by `engine` (as `load_tagger_network`): "chars"
    and "categories" ids (batch, time) → "boundaries" (batch, time, labels); None for a model
    without one."""
    from postagger.modeldir import SEGMENTER_WEIGHTS_FILE
    from postagger.segmentation import CATEGORIES

    if info.segmenter is None:
        return None
    engine = resolve_engine(engine, info)
    if engine == "onnx-int8":
        engine = "onnx"  # int8 weights are for the tagger's LSTMs: the segmenter is small
    path = info.path / SEGMENTER_WEIGHTS_FILE
    arrays = read_weight_arrays(path)
    config = info.segmenter.config
    rows = {
        "seg_char_embedding/0": len(info.segmenter.chars) + 2,
        "seg_category_embedding/0": len(CATEGORIES) + 2,
    }
    if any(name not in arrays or arrays[name].shape[0] != n for name, n in rows.items()):
        raise ModelError("weights do not belong to the characters of segmenter.json", path)
    if engine == "keras":
        from postagger.model import build_segmenter, set_weight_arrays

        model = build_segmenter(config, *rows.values())
        set_weight_arrays(model, arrays, path)
        return KerasEngine(model)
    try:
        if engine == "onnx":
            from postagger.onnx_files import SEGMENTER_GRAPH_FILE
            from postagger.onnx_graph import build_segmenter_graph

            graph = onnx_graph(
                info.path / SEGMENTER_GRAPH_FILE,
                info.segmenter.graph_sha256,
                lambda: build_segmenter_graph(arrays, config.dilations),
            )
            return OnnxEngine(graph)
        from postagger.numpy_network import NumpySegmenter

        return NumpySegmenter(config.dilations, arrays)
    except (KeyError, ValueError, IndexError) as err:
        raise ModelError(f"weights do not fit segmenter.json ({type(err).__name__}: {err})", path) from None
