"""The sentence-level part of the network (stacked BiLSTM and softmax heads) run by ONNX
Runtime: its LSTM kernel does a whole time step (recurrent product, gates, state update)
in compiled code, where the NumPy engine makes about a dozen NumPy calls per step.

The ONNX graph is built in memory from the same `weights.npz` arrays when a model is
loaded (a few milliseconds); nothing else is stored. The word and character
representations before it stay in NumPy (`postagger.inference.NumpyNetwork`).

Keras and ONNX lay an LSTM out differently: Keras's kernel is (input, 4 × units) with the
gates in the order input, forget, cell, output; ONNX's W is (directions, 4 × units, input)
in the order input, output, forget, cell, with a second bias for the recurrent product
(zero here). ONNX's `sequence_lens` gives each sentence its length: the backward direction
starts at its last real word, as Keras does with a right-padded mask, and padded steps
output zeros (never read).
"""

from __future__ import annotations

import numpy as np

from postagger.errors import PostaggerError


def available() -> bool:
    """Whether onnxruntime and onnx can be imported."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def require() -> None:
    if not available():
        raise PostaggerError(
            "--engine onnx needs onnxruntime and onnx: pip install onnxruntime onnx (or use --engine numpy)"
        )


def _onnx_gate_order(a: np.ndarray) -> np.ndarray:
    """Keras's gate blocks i, f, c, o (last axis) in ONNX's order i, o, f, c."""
    units = a.shape[-1] // 4
    i, f, c, o = (a[..., k * units : (k + 1) * units] for k in range(4))
    return np.concatenate([i, o, f, c], -1)


def build_graph(weights: dict[str, np.ndarray], layers: int, heads: list[str]) -> bytes:
    """A serialized ONNX model: input "x" (batch, time, features) float32 and "lengths"
    (batch,) int32; per head name, an output of that name, (batch, time, tags)
    probabilities, and "<name>_ids" (batch, time) int64, the best tag ids, never the
    padding tag (id 0)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers = [], []

    def constant(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(value, name))
        return name

    # time-major for the LSTM operator (layout 0)
    nodes.append(helper.make_node("Transpose", ["x"], ["x_tm"], perm=[1, 0, 2]))
    current = "x_tm"
    for i in range(1, layers + 1):
        kf, uf, bf, kb, ub, bb = (weights[f"bilstm_{i}/{j}"].astype(np.float32) for j in range(6))
        units = uf.shape[0]
        w = np.stack([_onnx_gate_order(kf).T, _onnx_gate_order(kb).T])
        r = np.stack([_onnx_gate_order(uf).T, _onnx_gate_order(ub).T])
        zero = np.zeros(4 * units, np.float32)
        b = np.stack([np.concatenate([_onnx_gate_order(v), zero]) for v in (bf, bb)])
        inputs = [
            current,
            constant(f"W{i}", np.ascontiguousarray(w)),
            constant(f"R{i}", np.ascontiguousarray(r)),
            constant(f"B{i}", b),
            "lengths",
        ]
        nodes.append(
            helper.make_node("LSTM", inputs, [f"lstm{i}"], direction="bidirectional", hidden_size=units)
        )
        # (time, directions, batch, units) -> (time, batch, directions × units): forward first
        nodes.append(helper.make_node("Transpose", [f"lstm{i}"], [f"lstm{i}_t"], perm=[0, 2, 1, 3]))
        shape = constant(f"shape{i}", np.array([0, 0, 2 * units], np.int64))
        nodes.append(helper.make_node("Reshape", [f"lstm{i}_t", shape], [f"layer{i}"]))
        current = f"layer{i}"
    nodes.append(helper.make_node("Transpose", [current], ["states"], perm=[1, 0, 2]))
    outputs = []
    for name in heads:
        kernel = constant(f"{name}_kernel", weights[f"{name}/0"].astype(np.float32))
        bias = constant(f"{name}_bias", weights[f"{name}/1"].astype(np.float32))
        nodes.append(helper.make_node("MatMul", ["states", kernel], [f"{name}_product"]))
        nodes.append(helper.make_node("Add", [f"{name}_product", bias], [f"{name}_logits"]))
        nodes.append(helper.make_node("Softmax", [f"{name}_logits"], [name], axis=-1))
        tags = weights[f"{name}/0"].shape[1]
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", "time", tags]))
        # the best of the real tags (1..): as NumPy's argmax with the padding tag's
        # probability set below all others (the first of equal maxima wins in both)
        nodes.append(helper.make_node("Slice", [name, "one", "end", "last_axis"], [f"{name}_real"]))
        nodes.append(helper.make_node("ArgMax", [f"{name}_real"], [f"{name}_best"], axis=-1, keepdims=0))
        nodes.append(helper.make_node("Add", [f"{name}_best", "one"], [f"{name}_ids"]))
        outputs.append(helper.make_tensor_value_info(f"{name}_ids", TensorProto.INT64, ["batch", "time"]))
    constant("one", np.array([1], np.int64))
    constant("end", np.array([np.iinfo(np.int64).max], np.int64))
    constant("last_axis", np.array([-1], np.int64))
    features = weights["bilstm_1/0"].shape[0]
    graph = helper.make_graph(
        nodes,
        "postagger",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "time", features]),
            helper.make_tensor_value_info("lengths", TensorProto.INT32, ["batch"]),
        ],
        outputs,
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # read by every onnxruntime since 1.14
    return model.SerializeToString()


class OnnxSentenceNetwork:
    """Stacked BiLSTM + heads in one ONNX Runtime session, one thread (like the NumPy
    engine: `tag --jobs` is the way to use more cores)."""

    def __init__(self, weights: dict[str, np.ndarray], layers: int, heads: list[str]):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: no notices on stderr
        self.heads = heads
        self.session = onnxruntime.InferenceSession(
            build_graph(weights, layers, heads), options, providers=["CPUExecutionProvider"]
        )

    def __call__(
        self, x: np.ndarray, lengths: np.ndarray, ids: bool = False, scores: bool = True
    ) -> tuple[dict, dict]:
        """As `NumpyNetwork.heads_of`."""
        names = self.heads
        if ids:
            names = [f"{h}_ids" for h in self.heads] + (["tags"] if scores else [])
        feed = {"x": np.ascontiguousarray(x, np.float32), "lengths": lengths.astype(np.int32)}
        result = dict(zip(names, self.session.run(names, feed)))
        if not ids:
            return result, {}
        probs = {"tags": result["tags"]} if scores else {}
        return probs, {h: result[f"{h}_ids"] for h in self.heads}
