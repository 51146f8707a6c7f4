"""The ONNX graphs a model directory stores (`tagger.onnx`, `segmenter.onnx`), so that
ONNX Runtime alone tags: building a graph needs the `onnx` package, whose import costs
about half a second, while running a serialized one needs only onnxruntime.

A graph file is written beside the weights it was built from, and its SHA-256 is recorded
(config.json, segmenter.json). Loading reads it only when that hash matches (else the
directory is refused: the graph belongs to other weights), and only when it holds nothing
a graph postagger builds never has: tensors stored outside the file (external data, which
would make ONNX Runtime read other files), operators outside the standard domain (custom
operators; the int8 graph may also hold ONNX Runtime's own `DynamicQuantizeLSTM`, compiled
into every onnxruntime), or functions. The check walks the protobuf wire format itself, so
it needs no `onnx` package either. Directories without graph files build the graph in
memory, as before.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from postagger.errors import ModelError

GRAPH_FILE = "tagger.onnx"
INT8_GRAPH_FILE = "tagger.int8.onnx"  # the same graph with int8 weights (`onnx_graph.quantize_graph`)
SEGMENTER_GRAPH_FILE = "segmenter.onnx"

# the message fields the check descends into: message type → {field number: field type}
_MODEL, _GRAPH, _NODE, _ATTRIBUTE, _TENSOR, _SPARSE, _OPSET = range(7)
_CHILDREN = {
    _MODEL: {7: _GRAPH, 8: _OPSET},
    _GRAPH: {1: _NODE, 5: _TENSOR, 15: _SPARSE},
    _NODE: {5: _ATTRIBUTE},
    _ATTRIBUTE: {5: _TENSOR, 6: _GRAPH, 10: _TENSOR, 11: _GRAPH, 22: _SPARSE, 23: _SPARSE},
    _SPARSE: {1: _TENSOR, 2: _TENSOR},
    _TENSOR: {},
    _OPSET: {},
}
_STANDARD_DOMAINS = ("", "ai.onnx")
#: ONNX Runtime's operator domain, and the one operator of it that the int8 graph holds
CONTRIB_DOMAIN = "com.microsoft"
INT8_OPERATORS = frozenset({"DynamicQuantizeLSTM"})


def can_build_graphs() -> bool:
    """Whether the onnx package, which builds graphs (at saving, and for directories without
    them at loading), is there (found without importing it)."""
    import importlib.util

    return importlib.util.find_spec("onnx") is not None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_graph(path: Path, recorded: str | None, contrib: frozenset[str] = frozenset()) -> bytes | None:
    """The serialized graph at `path` when the model directory has one (None when it has
    neither the file nor a recorded hash: an older directory); a `ModelError` when it does
    not match the recorded hash or holds what postagger's graphs never do (`contrib`: the
    operators of ONNX Runtime's own domain that this graph may hold)."""
    if not path.is_file():
        if recorded:
            raise ModelError("missing from the model directory (its SHA-256 is recorded)", path)
        return None
    data = path.read_bytes()
    if recorded is None or sha256(data) != recorded:
        raise ModelError("does not belong to the weights beside it (not the SHA-256 recorded)", path)
    problem = graph_problem(data, contrib)
    if problem is not None:
        raise ModelError(f"refused: {problem}", path)
    return data


def graph_problem(data: bytes, contrib: frozenset[str] = frozenset()) -> str | None:
    """Why a serialized ONNX model is not one postagger would build (external data, a
    custom operator domain, functions, a damaged encoding), or None. `contrib`: operators
    of ONNX Runtime's own domain that are allowed (none by default)."""
    try:
        return _message_problem(memoryview(data), _MODEL, 0, contrib)
    except (IndexError, ValueError) as err:
        return f"not a valid ONNX file ({err})"


def _message_problem(buf: memoryview, kind: int, depth: int, contrib: frozenset[str]) -> str | None:
    if depth > 32:
        return "graphs nested too deep"
    operator = domain = ""  # of a node
    for number, wire, value in _fields(buf):
        if kind == _MODEL and number == 25:
            return "it defines functions"
        if kind == _TENSOR and number == 13:
            return "a tensor stored outside the file (external data)"
        if kind == _TENSOR and number == 14 and value != 0:
            return "a tensor stored outside the file (external data)"
        if (kind, number) in ((_NODE, 4), (_NODE, 7), (_OPSET, 1)) and wire == 2:
            text = bytes(value).decode("utf-8", "replace")
            if number == 4:
                operator = text
                continue
            domain = text
            if domain not in _STANDARD_DOMAINS and not (contrib and domain == CONTRIB_DOMAIN):
                return f"operators of the domain {domain!r} (custom operators)"
        child = _CHILDREN[kind].get(number)
        if child is not None and wire == 2:
            problem = _message_problem(value, child, depth + 1, contrib)
            if problem is not None:
                return problem
    if kind == _NODE and domain == CONTRIB_DOMAIN and operator not in contrib:
        return f"the operator {domain}.{operator} (of that domain only {', '.join(sorted(contrib))})"
    return None


def _fields(buf: memoryview):
    """(field number, wire type, value) of each field of a protobuf message: an int for
    varints, a memoryview for length-delimited fields, None for fixed-width ones."""
    at, end = 0, len(buf)
    while at < end:
        key, at = _varint(buf, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(buf, at)
        elif wire == 2:
            size, at = _varint(buf, at)
            if at + size > end:
                raise ValueError("a field runs past the end")
            value, at = buf[at : at + size], at + size
        elif wire in (1, 5):
            value, at = None, at + (8 if wire == 1 else 4)
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value
    if at != end:
        raise ValueError("a field runs past the end")


def _varint(buf: memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7
        if shift > 63:
            raise ValueError("a varint too long")
