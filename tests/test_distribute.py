"""Training under tf.distribute strategies, on this CPU split into two logical devices."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import DEV, TINY, TRAIN

pytestmark = pytest.mark.slow  # trains models or starts processes

SCRIPT = """
import json, sys
from postagger.backend import load_tensorflow
tf, _ = load_tensorflow()
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from postagger.config import ModelConfig
from postagger.train import train
config = ModelConfig(**json.loads(sys.argv[1]))
metrics = train([sys.argv[2]], [sys.argv[3]], sys.argv[4], config, strategy=sys.argv[5], segmenter=None)
print(json.dumps(metrics["dev"]))
"""


def train_with(strategy: str, out) -> dict:
    config = json.dumps({**TINY, "epochs": 6})
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, config, str(TRAIN), str(DEV), str(out), strategy],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_mirrored_training_over_two_logical_cpus_learns(tmp_path):
    from postagger import Tagger

    dev = train_with("mirrored", tmp_path / "m")
    provenance = json.loads((tmp_path / "m" / "config.json").read_text())["provenance"]
    assert provenance["strategy"] == {"name": "mirrored", "replicas": 2}
    assert dev["upos"] > 0.5  # it learned (the tiny model reaches about 0.7 on one device)
    assert Tagger.load(tmp_path / "m").tag([["A", "test", "."]])  # an ordinary model directory


def test_multiworker_without_tf_config_is_one_local_worker(tmp_path):
    train_with("multiworker", tmp_path / "w")
    provenance = json.loads((tmp_path / "w" / "config.json").read_text())["provenance"]
    assert provenance["strategy"]["name"] == "multiworker"


def test_multiworker_with_several_workers_is_refused_before_any_work(tmp_path, monkeypatch):
    """Two workers fail inside Keras 3's training step (tensorflow/tensorflow#72388, seen
    here with two processes on 127.0.0.1): refused with one line, before TensorFlow."""
    from typer.testing import CliRunner

    from postagger.cli import app

    cluster = {
        "cluster": {"worker": ["127.0.0.1:23451", "127.0.0.1:23452"]},
        "task": {"type": "worker", "index": 0},
    }
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
    args = ["train", str(TRAIN), "--dev", str(DEV), "-o", str(tmp_path / "m"), "--strategy", "multiworker"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "tensorflow/tensorflow#72388" in result.stderr
    assert not (tmp_path / "m").exists()
    monkeypatch.setenv("TF_CONFIG", "not json")
    assert "TF_CONFIG is not a JSON object" in CliRunner().invoke(app, args).stderr
