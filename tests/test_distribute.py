"""Training under tf.distribute strategies, on this CPU split into two logical devices."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import DEV, TINY, TRAIN

SLOW = pytest.mark.slow  # trains models or starts processes

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


@SLOW
def test_mirrored_training_over_two_logical_cpus_learns(tmp_path):
    from postagger import Tagger

    dev = train_with("mirrored", tmp_path / "m")
    provenance = json.loads((tmp_path / "m" / "config.json").read_text())["provenance"]
    assert provenance["strategy"] == {"name": "mirrored", "replicas": 2}
    assert dev["upos"] > 0.5  # it learned (the tiny model reaches about 0.7 on one device)
    assert Tagger.load(tmp_path / "m").tag([["A", "test", "."]])  # an ordinary model directory


@SLOW
def test_multiworker_without_tf_config_is_one_local_worker(tmp_path):
    train_with("multiworker", tmp_path / "w")
    provenance = json.loads((tmp_path / "w" / "config.json").read_text())["provenance"]
    assert provenance["strategy"]["name"] == "multiworker"


def test_a_batch_is_cut_into_equal_replica_shares_and_padding_weighs_nothing():
    import numpy as np

    from postagger.distributed import replica_shares

    rows = np.arange(5)[:, None] * np.ones((1, 3), np.int32)
    batch = ({"words": rows}, {"tags": rows + 10}, {"tags": np.ones((5, 3), np.float32)})
    shares = replica_shares(batch, 2)
    assert [len(inputs["words"]) for inputs, _, _ in shares] == [3, 3]
    assert shares[1][0]["words"][:, 0].tolist() == [3, 4, 0]  # the first row again
    assert shares[1][2]["tags"][:, 0].tolist() == [1, 1, 0]  # weighing nothing
    assert np.concatenate([s[1]["tags"] for s in shares])[:5].tolist() == (rows + 10).tolist()
    assert len(replica_shares(batch, 1)) == 1 and len(replica_shares(batch, 1)[0][0]["words"]) == 5


def _free_ports(n: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


TINY_NETWORK = ["--char-dim", "8", "--char-filters", "16", "--lstm-units", "16", "--lstm-layers", "1"]


def _start_two_workers(tmp_path, options: list[str], streams) -> list[subprocess.Popen]:
    """`postagger train --strategy multiworker` with `options` as workers 0 (the chief) and
    1 of a two-task TF_CONFIG cluster on 127.0.0.1, into tmp_path/out0 and out1;
    `streams(index)` gives a process's stdout/stderr arguments for Popen."""
    import os

    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    processes = []
    for index in (0, 1):
        args = [sys.executable, "-m", "postagger", "train", str(TRAIN), "--dev", str(DEV),
                "-o", str(tmp_path / f"out{index}"), "--strategy", "multiworker", *options]  # fmt: skip
        task = {"type": "worker", "index": index}
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": task})}
        processes.append(subprocess.Popen(args, env=env, **streams(index)))
    return processes


@SLOW
def test_two_workers_on_localhost_train_one_model(tmp_path):
    """`postagger train --strategy multiworker` as two processes with a two-task TF_CONFIG:
    both finish; the chief (worker 0) alone trains the segmenter and the subword
    pretraining and writes the model, which tags and records two replicas; the other
    worker writes nothing and ends on the same dev score (the replicas stayed in step,
    through a restart epoch too)."""
    import random

    from postagger import Tagger
    from postagger.conllu_io import read_treebank

    rng = random.Random(0)
    words = sorted({w.lower() for s in read_treebank([TRAIN]) for w in s.forms})
    vectors = tmp_path / "toy.vec"
    rows = [f"{w} " + " ".join(f"{rng.gauss(0, 1):.3f}" for _ in range(8)) for w in words]
    vectors.write_text(f"{len(rows)} 8\n" + "\n".join(rows) + "\n", encoding="utf-8")
    options = [*TINY_NETWORK, "--learning-rate", "0.01", "--batch-size", "8", "--epochs", "4",
               "--patience", "0", "--vectors", str(vectors), "--subword-pretraining",
               "--restart-epochs", "1"]  # fmt: skip
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    processes = _start_two_workers(tmp_path, options, lambda index: pipes)
    try:
        outputs = [p.communicate(timeout=600) for p in processes]
    finally:
        for p in processes:
            p.kill()
    assert [p.returncode for p in processes] == [0, 0], [err[-3000:] for _, err in outputs]

    chief = tmp_path / "out0"
    config = json.loads((chief / "config.json").read_text())
    assert config["provenance"]["strategy"] == {"name": "multiworker", "replicas": 2}
    assert (chief / "segmenter.json").exists() and config["config"]["subword_pretraining"]
    assert not (tmp_path / "out1").exists()
    assert Tagger.load(chief).tag([["A", "test", "."]])
    metrics = json.loads((chief / "metrics.json").read_text())
    assert [bool(h.get("restart")) for h in metrics["history"]] == [False] * 4 + [True]
    dev = metrics["dev"]["upos"]
    assert f"(dev upos {dev:.4f}); the chief wrote the model" in " ".join(outputs[1][1].split())


@SLOW
def test_a_worker_whose_chief_dies_stops_with_one_message(tmp_path):
    """The chief killed while both train: the other worker does not hang; it ends with one
    line naming the cause, exit 2, no Python traceback, nothing left in its directory."""
    import signal
    import time

    logs = [open(tmp_path / f"worker{index}.log", "w+") for index in (0, 1)]
    options = [*TINY_NETWORK, "--epochs", "200", "--patience", "0", "--no-segmenter"]
    processes = _start_two_workers(
        tmp_path, options, lambda index: {"stdout": subprocess.DEVNULL, "stderr": logs[index]}
    )
    try:
        deadline = time.monotonic() + 300
        while "epoch   2" not in (tmp_path / "worker1.log").read_text():  # both are training
            assert time.monotonic() < deadline and processes[1].poll() is None
            time.sleep(0.2)
        processes[0].send_signal(signal.SIGKILL)
        assert processes[1].wait(timeout=120) == 2
    finally:
        for p in processes:
            p.kill()
        for log in logs:
            log.close()
    stderr = (tmp_path / "worker1.log").read_text()
    errors = [line for line in stderr.splitlines() if line.startswith("postagger: error:")]
    assert len(errors) == 1 and "another worker stopped or cannot be reached" in errors[0]
    assert "Traceback" not in stderr and "{{" not in errors[0]
    assert not (tmp_path / "out1").exists()


def test_a_bad_tf_config_is_refused_before_any_work(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from postagger.cli import app

    monkeypatch.setenv("TF_CONFIG", "not json")
    args = ["train", str(TRAIN), "--dev", str(DEV), "-o", str(tmp_path / "m"), "--strategy", "multiworker"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "TF_CONFIG is not a JSON object" in result.stderr
    assert not (tmp_path / "m").exists()
    cluster, task = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, {"type": "worker", "index": "0"}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "TF_CONFIG's task must be" in result.stderr
