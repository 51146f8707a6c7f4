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
