"""The bad-input battery: every case gives correct output or one clear line, never a traceback.

Each case builds its input in a temporary folder and runs one command through CliRunner.
A case expects either exit 0 (the input is unusual but fine: the README lists these
decisions) or a documented exit code with one `postagger: error:` line naming the file
(and the line where there is one). No case may leave an output file behind on error.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass

import pytest
from conftest import TEST, TRAIN, conllu_block, write
from typer.testing import CliRunner

from postagger.cli import app

runner = CliRunner()
GOOD = conllu_block("1 The DET", "2 cat NOUN", "3 sleeps VERB", "4 . PUNCT", comments=("sent_id = a",))
ROW = "{i}\t{form}\t_\t{tag}\t_\t_\t_\t_\t_\t_\n"


@dataclass
class Case:
    command: list[str]  # {in} is the input file, {model} the tiny model, {out} an output path
    files: dict[str, bytes]  # name -> content, created in the temporary folder
    code: int  # expected exit code
    fragment: str = ""  # expected in the error line (or in stdout when code == 0)
    line: int | None = None  # line number the error must name


def rows(*tagged: str) -> str:
    return "".join(
        ROW.format(i=i, form=f, tag=t) for i, (f, t) in enumerate(pair.split("/") for pair in tagged)
    )


def b(text: str) -> bytes:
    return text.encode("utf-8")


ONLY_COMMENTS = b("# newdoc id = x\n# sent_id = 1\n")
NINE = b("1\tThe\t_\tDET\t_\t_\t_\t_\t_\n\n")
ELEVEN = b("1\tThe\t_\tDET\t_\t_\t_\t_\t_\t_\t_\n\n")
NON_INT = b("# c\n1\tThe\t_\tDET\t_\t_\t_\t_\t_\t_\nx\tcat\t_\tNOUN\t_\t_\t_\t_\t_\t_\n\n")
NON_SEQ = b("1\tThe\t_\tDET\t_\t_\t_\t_\t_\t_\n3\tcat\t_\tNOUN\t_\t_\t_\t_\t_\t_\n\n")
BAD_RANGE = b(
    "1-3\tdont\t_\t_\t_\t_\t_\t_\t_\t_\n1\tdo\t_\tAUX\t_\t_\t_\t_\t_\t_\n2\tnt\t_\tPART\t_\t_\t_\t_\t_\t_\n\n"
)
EMPTY_NODE = b(GOOD.replace("2\tcat", "1.1\tghost\t_\t_\t_\t_\t_\t_\t_\t_\n2\tcat"))
SPACES = b("1 The _ DET _ _ _ _ _ _\n\n")
CRLF = b(GOOD.replace("\n", "\r\n"))
BOM = b("\ufeff" + GOOD)
NO_FINAL_BLANK = b(GOOD.rstrip("\n") + "\n")
LATIN1 = b(GOOD) + "1\tcafé\t_\tNOUN\t_\t_\t_\t_\t_\t_\n\n".encode("latin-1")
NUL = b(GOOD) + b"1\tca\x00t\t_\tNOUN\t_\t_\t_\t_\t_\t_\n\n"
LONG_SENTENCE = b(" ".join(["word"] * 10_000) + "\n")
LONG_TOKEN = b(conllu_block("1 " + "x" * 5000 + " NOUN", "2 . PUNCT"))
UNSEEN_TAG = b(conllu_block("1 The DET", "2 cat MADEUPTAG"))
OTHER_WORDS = b(conllu_block("1 A DET", "2 dog NOUN"))
SAMPLE = TEST.read_bytes()

CASES = {
    # missing, unreadable or not a file
    "vocab-missing": Case(["vocab", "{dir}/none.conllu", "-o", "{out}"], {}, 2, "no such file"),
    "train-missing": Case(["train", "{dir}/none.conllu", "--dev", "{in}", "-o", "{out}"], {"in": b(GOOD)}, 2,
                          "no such file"),
    "evaluate-missing": Case(["evaluate", "{dir}/none.conllu", "--model", "{model}"], {}, 2, "no such file"),
    "tag-missing": Case(["tag", "{dir}/none.txt", "--model", "{model}"], {}, 2, "no such file"),
    "vectors-missing": Case(["vectors", "check", "{dir}/none.vec", "--vocab", "{vocab}"], {}, 2, "no such file"),
    "vectors-train-missing": Case(["vectors", "train", "{dir}/none.txt", "-o", "{out}"], {}, 2, "no such file"),
    "vectors-export-missing": Case(["vectors", "export", "{dir}/none.vec", "-o", "{out}"], {}, 2,
                                   "no such file or model directory"),
    "vectors-neighbors-unknown-word": Case(["vectors", "neighbors", "{model}", "zzqxjw"], {}, 2,
                                           "'zzqxjw' is not among"),
    "vocab-directory": Case(["vocab", "{dir}", "-o", "{out}"], {}, 2, "is a directory"),
    "evaluate-directory": Case(["evaluate", "{dir}", "--model", "{model}"], {}, 2, "is a directory"),
    "tag-directory": Case(["tag", "{dir}", "--model", "{model}"], {}, 2, "is not a file"),
    "vectors-directory": Case(["vectors", "extract", "{dir}", "--vocab", "{vocab}", "-o", "{out}"], {}, 2,
                              "is a directory"),
    # empty and comment-only files
    "vocab-empty": Case(["vocab", "{in}", "-o", "{out}"], {"in": b""}, 2, "no sentences"),
    "train-empty": Case(["train", "{in}", "--dev", "{in}", "-o", "{out}"], {"in": b""}, 2, "no sentences"),
    "evaluate-empty": Case(["evaluate", "{in}", "--model", "{model}"], {"in": b""}, 2, "no sentences"),
    "tag-empty": Case(["tag", "{in}", "--model", "{model}"], {"in": b""}, 0, ""),
    "vocab-only-comments": Case(["vocab", "{in}", "-o", "{out}"], {"in": ONLY_COMMENTS}, 2, "no sentences"),
    "tag-only-comments": Case(["tag", "{in}", "--model", "{model}"], {"in": ONLY_COMMENTS}, 0, "# newdoc id = x"),
    # malformed CoNLL-U
    "vocab-9-columns": Case(["vocab", "{in}", "-o", "{out}"], {"in": NINE}, 2, "found 9", 1),
    "vocab-11-columns": Case(["vocab", "{in}", "-o", "{out}"], {"in": ELEVEN}, 2, "found 11", 1),
    "tag-9-columns": Case(["tag", "{in}", "--model", "{model}", "-o", "{out}"], {"in": NINE}, 2, "found 9", 1),
    "evaluate-non-integer-id": Case(["evaluate", "{in}", "--model", "{model}"], {"in": NON_INT}, 2,
                                    "invalid ID 'x'", 3),
    "tag-non-integer-id": Case(["tag", "{in}", "--model", "{model}"], {"in": NON_INT}, 2, "invalid ID", 3),
    "evaluate-non-sequential": Case(["evaluate", "{in}", "--model", "{model}"], {"in": NON_SEQ}, 2,
                                    "out of sequence", 2),
    "train-tokenizer-no-model": Case(["train-tokenizer", "{in}", "--dev", "{in}", "--model", "{dir}/none"],
                                     {"in": b(GOOD)}, 3, "no such model directory"),
    "train-tokenizer-non-sequential": Case(["train-tokenizer", "{in}", "--dev", "{in}", "--model", "{model}"],
                                           {"in": NON_SEQ}, 2, "out of sequence", 2),
    "train-non-sequential": Case(["train", "{in}", "--dev", "{in}", "-o", "{out}"], {"in": NON_SEQ}, 2,
                                 "out of sequence", 2),
    "vocab-range-not-covered": Case(["vocab", "{in}", "-o", "{out}"], {"in": BAD_RANGE}, 2, "ends at word 3", 1),
    "tag-spaces-not-tabs": Case(["tag", "{in}", "--model", "{model}"], {"in": SPACES}, 2, "not spaces", 1),
    # unusual but fine
    "tag-empty-node": Case(["tag", "{in}", "--model", "{model}"], {"in": EMPTY_NODE}, 0, "1.1\tghost"),
    "evaluate-empty-node": Case(["evaluate", "{in}", "--model", "{model}", "--json"], {"in": EMPTY_NODE}, 0,
                                '"tokens": 4'),
    "tag-crlf": Case(["tag", "{in}", "--model", "{model}"], {"in": CRLF}, 0, "\r\n"),
    "vocab-crlf": Case(["vocab", "{in}", "-o", "{out}"], {"in": CRLF}, 0, ""),
    "vocab-bom": Case(["vocab", "{in}", "-o", "{out}"], {"in": BOM}, 0, ""),
    "tag-text-bom": Case(["tag", "{in}", "--model", "{model}", "--output-format", "inline"],
                         {"in.txt": b("\ufeffHello there.\n")}, 0, "Hello/"),
    "evaluate-no-final-blank": Case(["evaluate", "{in}", "--model", "{model}", "--json"],
                                    {"in": NO_FINAL_BLANK}, 0, '"tokens": 4'),
    # encodings and binary
    "vocab-latin1": Case(["vocab", "{in}", "-o", "{out}"], {"in": LATIN1}, 2, "not valid UTF-8", 7),
    "tag-text-latin1": Case(["tag", "{in}", "--model", "{model}"], {"in.txt": "caf\xe9\n".encode("latin-1")}, 2,
                            "not valid UTF-8", 1),
    "tag-nul": Case(["tag", "{in}", "--model", "{model}", "-o", "{out}"], {"in": NUL}, 2, "NUL byte", 7),
    # sizes
    "tag-10000-tokens": Case(["tag", "{in}", "--model", "{model}", "--input-format", "tokens",
                              "--output-format", "jsonl"], {"in.txt": LONG_SENTENCE}, 0, '"word"'),
    "tag-5000-char-token": Case(["tag", "{in}", "--model", "{model}", "--output-format", "tsv"],
                                {"in": LONG_TOKEN}, 0, "xxxxx"),
    # evaluation mismatches
    "evaluate-unseen-tag": Case(["evaluate", "{in}", "--model", "{model}", "--json"], {"in": UNSEEN_TAG}, 0,
                                "MADEUPTAG"),
    "evaluate-different-words": Case(["evaluate", "{in}", "--pred", "{dir}/pred.conllu"],
                                     {"in": b(GOOD), "pred.conllu": OTHER_WORDS}, 2, "the text differs", 1),
    "evaluate-text-missing": Case(["evaluate", "{in}", "--pred", "{dir}/pred.conllu"],
                                  {"in": b(GOOD + GOOD), "pred.conllu": b(GOOD)}, 2, "the text differs", 5),
    # models
    "tag-model-missing-file": Case(["tag", "{in}", "--model", "{broken}"], {"in": b(GOOD)}, 3,
                                   "missing weights.npz"),
    "tag-model-truncated": Case(["tag", "{in}", "--model", "{truncated}"], {"in": b(GOOD)}, 3, "weights.npz: damaged"),
    "tag-model-truncated-keras": Case(["tag", "{in}", "--model", "{truncated}", "--engine", "keras"], {"in": b(GOOD)}, 3, "weights.npz: damaged"),
    "tag-segmenter-truncated": Case(["tag", "{dir}/in.txt", "--model", "{segmenter_truncated}"], {"in.txt": b("Some text.\n")}, 3, "segmenter.npz: damaged"),
    "tag-segmenter-missing": Case(["tag", "{dir}/in.txt", "--model", "{segmenter_missing}"], {"in.txt": b("Some text.\n")}, 3, "missing segmenter.npz"),
    "tag-model-future": Case(["tag", "{in}", "--model", "{future}"], {"in": b(GOOD)}, 3, "newer postagger"),
    "tag-graph-swapped": Case(["tag", "{in}", "--model", "{graph_swapped}"], {"in": b(GOOD)}, 3, "tagger.onnx: does not belong to the weights"),
    "tag-graph-external-data": Case(["tag", "{in}", "--model", "{graph_external}"], {"in": b(GOOD)}, 3, "tagger.onnx: refused: a tensor stored outside the file"),
    "tag-graph-custom-operator": Case(["tag", "{in}", "--model", "{graph_custom}"], {"in": b(GOOD)}, 3, "tagger.onnx: refused: operators of the domain 'com.example'"),
    "tag-int8-graph-swapped": Case(["tag", "{in}", "--model", "{int8_swapped}", "--engine", "onnx-int8"], {"in": b(GOOD)}, 3, "tagger.int8.onnx: does not belong to the weights"),
    "tag-int8-graph-other-operator": Case(["tag", "{in}", "--model", "{int8_other}", "--engine", "onnx-int8"], {"in": b(GOOD)}, 3, "tagger.int8.onnx: refused: the operator com.microsoft.Attention"),
    "tag-segmenter-graph-swapped": Case(["tag", "{dir}/in.txt", "--model", "{segmenter_graph_swapped}"], {"in.txt": b("Some text.\n")}, 3, "segmenter.onnx: does not belong"),
    "info-not-a-model": Case(["info", "{dir}"], {}, 3, "not a complete model directory"),
    # vectors and vocabularies
    "vectors-wrong-dimension": Case(["vectors", "check", "{dir}/v.vec", "--vocab", "{vocab}"],
                                    {"v.vec": b("2 3\nThe 1 0 0\ncat 1 0\n")}, 2, "found 2 values", 3),
    "train-vocab-of-another-model": Case(["train", "{in}", "--dev", "{in}", "-o", "{out}", "--vocab", "{small}"],
                                         {"in": SAMPLE}, 2, "missing from the vocabulary"),
    "train-vocab-not-json": Case(["train", "{in}", "--dev", "{in}", "-o", "{out}", "--vocab", "{in}"],
                                 {"in": SAMPLE}, 2, "not a JSON vocabulary"),
}  # fmt: skip


@pytest.fixture(scope="module")
def broken_models(tiny_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("broken")
    made = {}
    for name in ("broken", "truncated", "future", "segmenter_truncated", "segmenter_missing"):
        made[name] = root / name
        shutil.copytree(tiny_model, made[name])
    (made["broken"] / "weights.npz").unlink()
    for name, weights in (("truncated", "weights.npz"), ("segmenter_truncated", "segmenter.npz")):
        data = (made[name] / weights).read_bytes()
        (made[name] / weights).write_bytes(data[: len(data) // 3])
    (made["segmenter_missing"] / "segmenter.npz").unlink()
    meta = json.loads((made["future"] / "config.json").read_text())
    meta["format"] = 2
    (made["future"] / "config.json").write_text(json.dumps(meta))
    made.update(stranger_graphs(tiny_model, root))
    small = root / "small.json"
    assert runner.invoke(app, ["vocab", str(write(root / "s.conllu", GOOD)), "-o", str(small)]).exit_code == 0
    made["small"] = small
    assert runner.invoke(app, ["vocab", str(TRAIN), "-o", str(root / "vocab.json")]).exit_code == 0
    made["vocab"] = root / "vocab.json"
    return made


def stranger_graphs(tiny_model, root) -> dict:
    """Model directories whose ONNX graphs were swapped or made by a stranger: one graph
    swapped for another (the hash recorded no longer fits), and graphs whose recorded hash
    fits but that read a tensor from /etc/passwd (external data) or use a custom operator
    (for the int8 graph: an operator of ONNX Runtime's domain other than its quantized LSTM)."""
    import hashlib

    import onnx
    from onnx.external_data_helper import set_external_data

    made = {}
    names = (
        "graph_swapped",
        "segmenter_graph_swapped",
        "graph_external",
        "graph_custom",
        "int8_swapped",
        "int8_other",
    )
    for name in names:
        made[name] = root / name
        shutil.copytree(tiny_model, made[name])
    tagger, segmenter = (
        (tiny_model / "tagger.onnx").read_bytes(),
        (tiny_model / "segmenter.onnx").read_bytes(),
    )
    (made["graph_swapped"] / "tagger.onnx").write_bytes(segmenter)
    (made["segmenter_graph_swapped"] / "segmenter.onnx").write_bytes(tagger)
    (made["int8_swapped"] / "tagger.int8.onnx").write_bytes(tagger)
    external = onnx.load_from_string(tagger)
    tensor = external.graph.initializer[0]
    set_external_data(tensor, location="/etc/passwd", offset=0, length=len(tensor.raw_data))
    tensor.data_location = onnx.TensorProto.EXTERNAL
    tensor.ClearField("raw_data")
    custom = onnx.load_from_string(tagger)
    custom.graph.node[0].domain = "com.example"
    other = onnx.load_from_string((tiny_model / "tagger.int8.onnx").read_bytes())
    quantized = [node for node in other.graph.node if node.domain == "com.microsoft"]
    assert quantized and all(node.op_type == "DynamicQuantizeLSTM" for node in quantized)
    quantized[0].op_type = "Attention"
    strangers = (
        ("graph_external", external, "tagger.onnx", "onnx_sha256"),
        ("graph_custom", custom, "tagger.onnx", "onnx_sha256"),
        ("int8_other", other, "tagger.int8.onnx", "onnx_int8_sha256"),
    )
    for name, model, file, key in strangers:
        graph = model.SerializeToString()
        (made[name] / file).write_bytes(graph)
        meta = json.loads((made[name] / "config.json").read_text())
        meta[key] = hashlib.sha256(graph).hexdigest()
        (made[name] / "config.json").write_text(json.dumps(meta))
    return made


def test_the_battery_reaches_every_command():
    """Every command and `vectors` subcommand meets bad input here: a command added without
    a case of its own fails this test; so does a battery without a model error (exit 3)."""
    import typer

    group = typer.main.get_command(app)
    commands = set()
    for name, command in group.commands.items():
        subcommands = getattr(command, "commands", None)
        commands |= {(name, sub) for sub in subcommands} if subcommands else {(name,)}
    failing = [case for case in CASES.values() if case.code != 0]
    reached = {tuple(c.command[:2]) if c.command[0] == "vectors" else (c.command[0],) for c in failing}
    assert commands == reached, commands ^ reached
    assert {case.code for case in failing} == {2, 3}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name, tmp_path, tiny_model, broken_models):
    case = CASES[name]
    folder = tmp_path / "in"
    folder.mkdir()
    main_input = None
    for file_name, content in case.files.items():
        path = folder / (file_name + ".conllu" if file_name == "in" else file_name)
        path.write_bytes(content)
        if file_name.startswith("in"):
            main_input = path
    out = tmp_path / "out"
    values = {"dir": folder, "in": main_input, "out": out, "model": tiny_model}
    values.update(broken_models)
    args = [part.format(**{k: str(v) for k, v in values.items()}) for part in case.command]
    result = runner.invoke(app, args)
    assert "Traceback" not in result.output
    assert result.exit_code == case.code, result.output
    if case.code == 0:
        assert case.fragment.encode() in result.stdout_bytes  # bytes: .stdout folds CRLF
        return
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("postagger: error: "), result.stderr
    assert case.fragment in lines[0]
    if case.line is not None:
        assert f":{case.line}: " in lines[0]
    assert not out.exists()  # no partial output
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []
