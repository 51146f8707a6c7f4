"""The sentence stage of the network (stacked BiLSTM and softmax heads) as an ONNX graph, for
ONNX Runtime (`postagger.engines.OnnxEngine`): its LSTM kernel does a whole time step
(recurrent product, gates, state update) in compiled code, where the NumPy engine makes
about a dozen NumPy calls per step.

The graph is built from the same `weights.npz` arrays when a model is saved and stored
beside them (`tagger.onnx`, checked when read: `postagger.onnx_files`), so that tagging
needs ONNX Runtime but not the onnx package; for a directory without it, it is built in
memory when the model is loaded (a few milliseconds, and the import of onnx). The word stage
before it stays in NumPy (`postagger.numpy_network.NumpyWordEncoder`).

Keras and ONNX lay an LSTM out differently: Keras's kernel is (input, 4 × units) with the
gates in the order input, forget, cell, output; ONNX's W is (directions, 4 × units, input)
in the order input, output, forget, cell, with a second bias for the recurrent product
(zero here). ONNX's `sequence_lens` gives each sentence its length: the backward direction
starts at its last real word, as Keras does with a right-padded mask, and padded steps
output zeros (never read).
"""

from __future__ import annotations

import numpy as np


def _onnx_gate_order(a: np.ndarray) -> np.ndarray:
    """Keras's gate blocks i, f, c, o (last axis) in ONNX's order i, o, f, c."""
    units = a.shape[-1] // 4
    i, f, c, o = (a[..., k * units : (k + 1) * units] for k in range(4))
    return np.concatenate([i, o, f, c], -1)


class _Graph:
    """Nodes and constant tensors of an ONNX graph being built."""

    def __init__(self):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.initializers = [], []

    def node(self, op: str, inputs: list[str], output: str, **attributes) -> str:
        self.nodes.append(self.helper.make_node(op, inputs, [output], **attributes))
        return output

    def constant(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(self.numpy_helper.from_array(value, name))
        return name


def build_graph(weights: dict[str, np.ndarray], layers: int, heads: list[str]) -> bytes:
    """A serialized ONNX model: inputs "vectors" (batch, time, features) float32 and
    "lengths" (batch,) int32; per head name, an output of that name, (batch, time, tags)
    probabilities, and "<name>_ids" (batch, time) int64, the best tag ids, never the
    padding tag (id 0)."""
    from onnx import TensorProto, helper

    g = _Graph()
    # time-major for the LSTM operator (layout 0)
    current = g.node("Transpose", ["vectors"], "vectors_tm", perm=[1, 0, 2])
    for i in range(1, layers + 1):
        current = _bilstm_layer(g, weights, i, current)
    g.node("Transpose", [current], "states", perm=[1, 0, 2])
    g.constant("one", np.array([1], np.int64))
    g.constant("end", np.array([np.iinfo(np.int64).max], np.int64))
    g.constant("last_axis", np.array([-1], np.int64))
    outputs = []
    for name in heads:
        tags = weights[f"{name}/0"].shape[1]
        _head(g, weights, name)
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", "time", tags]))
        outputs.append(helper.make_tensor_value_info(f"{name}_ids", TensorProto.INT64, ["batch", "time"]))
    features = weights["bilstm_1/0"].shape[0]
    inputs = [
        helper.make_tensor_value_info("vectors", TensorProto.FLOAT, ["batch", "time", features]),
        helper.make_tensor_value_info("lengths", TensorProto.INT32, ["batch"]),
    ]
    graph = helper.make_graph(g.nodes, "postagger", inputs, outputs, g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # read by every onnxruntime since 1.14
    return model.SerializeToString()


def _bilstm_layer(g: _Graph, weights: dict[str, np.ndarray], i: int, current: str) -> str:
    """BiLSTM layer `i` on the time-major `current`; returns its time-major output."""
    kf, uf, bf, kb, ub, bb = (weights[f"bilstm_{i}/{j}"].astype(np.float32) for j in range(6))
    units = uf.shape[0]
    w = np.stack([_onnx_gate_order(kf).T, _onnx_gate_order(kb).T])
    r = np.stack([_onnx_gate_order(uf).T, _onnx_gate_order(ub).T])
    zero = np.zeros(4 * units, np.float32)
    b = np.stack([np.concatenate([_onnx_gate_order(v), zero]) for v in (bf, bb)])
    inputs = [
        current,
        g.constant(f"W{i}", np.ascontiguousarray(w)),
        g.constant(f"R{i}", np.ascontiguousarray(r)),
        g.constant(f"B{i}", b),
        "lengths",
    ]
    lstm = g.node("LSTM", inputs, f"lstm{i}", direction="bidirectional", hidden_size=units)
    # (time, directions, batch, units) -> (time, batch, directions × units): forward first
    side_by_side = g.node("Transpose", [lstm], f"lstm{i}_t", perm=[0, 2, 1, 3])
    shape = g.constant(f"shape{i}", np.array([0, 0, 2 * units], np.int64))
    return g.node("Reshape", [side_by_side, shape], f"layer{i}")


def _head(g: _Graph, weights: dict[str, np.ndarray], name: str) -> None:
    """The softmax head `name` on "states", and its best tag ids "<name>_ids"."""
    kernel = g.constant(f"{name}_kernel", weights[f"{name}/0"].astype(np.float32))
    bias = g.constant(f"{name}_bias", weights[f"{name}/1"].astype(np.float32))
    product = g.node("MatMul", ["states", kernel], f"{name}_product")
    logits = g.node("Add", [product, bias], f"{name}_logits")
    g.node("Softmax", [logits], name, axis=-1)
    # the best of the real tags (1..): as NumPy's argmax with the padding tag's
    # probability set below all others (the first of equal maxima wins in both)
    real = g.node("Slice", [name, "one", "end", "last_axis"], f"{name}_real")
    best = g.node("ArgMax", [real], f"{name}_best", axis=-1, keepdims=0)
    g.node("Add", [best, "one"], f"{name}_ids")


def build_segmenter_graph(weights: dict[str, np.ndarray], dilations: list[int]) -> bytes:
    """The segmenter (`postagger.model.build_segmenter`) as a serialized ONNX model: inputs
    "chars" and "categories" (batch, time) int32, output "boundaries" (batch, time, labels)."""
    from onnx import TensorProto, helper

    g = _Graph()
    w = {name: value.astype(np.float32) for name, value in weights.items()}
    chars = g.node("Gather", [g.constant("char_table", w["seg_char_embedding/0"]), "chars"], "char_vectors")
    table = g.constant("category_table", w["seg_category_embedding/0"])
    categories = g.node("Gather", [table, "categories"], "category_vectors")
    joined = g.node("Concat", [chars, categories], "joined", axis=-1)
    pad = g.node("Equal", ["chars", g.constant("pad_id", np.array(0, np.int32))], "is_pad")
    real = g.node("Cast", [g.node("Not", [pad], "is_real")], "real_btc", to=TensorProto.FLOAT)
    # (batch, channels, 1, time): a 1-D convolution as a 2-D one of height 1, for which ONNX
    # Runtime uses its blocked-channel (NCHWc) kernels: the convolutions 1.6 times as fast
    # here; the same values but for float rounding (~1e-6 in the probabilities)
    real = g.node("Unsqueeze", [real, g.constant("channel_axes", np.array([1, 2], np.int64))], "real")
    height = g.constant("height_axis", np.array([2], np.int64))
    joined = g.node("Transpose", [joined], "joined_bct", perm=[0, 2, 1])
    x = g.node("Mul", [g.node("Unsqueeze", [joined, height], "joined_bc1t"), real], "seg_input")
    channels = w["seg_char_embedding/0"].shape[1] + w["seg_category_embedding/0"].shape[1]
    for i, dilation in enumerate(dilations, 1):
        kernel = w[f"seg_conv_{i}/0"]  # Keras (width, in, out) → ONNX (out, in, 1, width)
        width, filters = kernel.shape[0], kernel.shape[2]
        side = (width - 1) // 2 * dilation
        inputs = [x, g.constant(f"conv{i}_w", np.ascontiguousarray(kernel.transpose(2, 1, 0)[:, :, None, :])),
                  g.constant(f"conv{i}_b", w[f"seg_conv_{i}/1"])]  # fmt: skip
        shape = {"dilations": [1, dilation], "pads": [0, side, 0, side], "kernel_shape": [1, width]}
        h = g.node("Conv", inputs, f"conv{i}", **shape)
        h = g.node("Mul", [g.node("Relu", [h], f"relu{i}"), real], f"masked{i}")
        x = g.node("Add", [x, h], f"residual{i}") if channels == filters else h
        channels = filters
    states = g.node("Transpose", [g.node("Squeeze", [x, height], "residual_bct")], "states", perm=[0, 2, 1])
    product = g.node("MatMul", [states, g.constant("dense_w", w["seg_boundaries/0"])], "dense")
    logits = g.node("Add", [product, g.constant("dense_b", w["seg_boundaries/1"])], "logits")
    g.node("Softmax", [logits], "boundaries", axis=-1)
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT32, ["batch", "time"])
        for name in ("chars", "categories")
    ]
    labels = w["seg_boundaries/1"].shape[0]
    outputs = [helper.make_tensor_value_info("boundaries", TensorProto.FLOAT, ["batch", "time", labels])]
    graph = helper.make_graph(g.nodes, "postagger_segmenter", inputs, outputs, g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def quantize_graph(graph: bytes) -> bytes:
    """The sentence-stage graph of `build_graph` with int8 weights (`tag --engine
    onnx-int8`): ONNX Runtime's dynamic quantization of the LSTMs and the heads' products
    (activations are quantized as they come), about 1.8 times faster on an x86 CPU. Weights
    use 7 of the 8 bits (`reduce_range`), as ONNX Runtime advises for CPUs without VNNI
    instructions, whose int8 products can saturate at full range. Needs the onnx package."""
    import logging
    import tempfile
    from pathlib import Path

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # it advises "pre-processing" on the root logger: not for this graph
    try:
        with tempfile.TemporaryDirectory() as tmp:
            source, target = Path(tmp, "tagger.onnx"), Path(tmp, "tagger.int8.onnx")
            source.write_bytes(graph)
            quantize_dynamic(
                source, target, op_types_to_quantize=["LSTM", "MatMul"], weight_type=QuantType.QInt8,
                reduce_range=True,
            )  # fmt: skip
            return target.read_bytes()
    finally:
        root.setLevel(level)
