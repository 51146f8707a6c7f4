"""The wheel as users get it: built from the checkout, installed outside it, tagging with
the bundled model (`pip install postagger`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_wheel_installs_and_tags_with_its_bundled_model(tmp_path):
    """pip builds the wheel; it is installed into a folder of its own (its dependencies are
    this environment's), and run from elsewhere, with that folder first on the path: the
    package and its model come from the installed wheel, not from the checkout."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(tmp_path / "dist"), str(ROOT)], check=True)
    [wheel] = (tmp_path / "dist").glob("postagger-*-py3-none-any.whl")
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    env = {**os.environ, "PYTHONPATH": str(site)}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def postagger(*args: str, stdin: str = "") -> str:
        command = [sys.executable, "-m", "postagger", *args]
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, env=env, cwd=elsewhere)
        assert done.returncode == 0, done.stderr
        return done.stdout

    where = subprocess.run(
        [sys.executable, "-c", "import postagger, postagger.modeldir as m; print(postagger.__file__);"
         "print(m.default_model_dir())"],
        capture_output=True, text=True, env=env, cwd=elsewhere, check=True,
    ).stdout.split()  # fmt: skip
    assert all(Path(p).is_relative_to(site) for p in where), where
    model = Path(where[1])
    graphs = {"tagger.onnx", "tagger.int8.onnx", "segmenter.onnx"}
    assert {"weights.npz", *graphs} <= {p.name for p in model.iterdir()}
    tagged = postagger("tag", "--output-format", "jsonl", stdin="The cat sat on the mat. It purred.\n")
    sentences = [json.loads(line) for line in tagged.splitlines()]
    assert [s["words"] for s in sentences] == [
        ["The", "cat", "sat", "on", "the", "mat", "."],
        ["It", "purred", "."],
    ]
    assert sentences[0]["tags"][:2] == ["DET", "NOUN"]
    assert json.loads(postagger("info", "--json"))["path"] == str(model)
