"""Real processes: SIGTERM during training and a closed pipe while tagging."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import DEV, TRAIN

pytestmark = pytest.mark.slow  # trains models or starts processes

EXE = os.path.join(os.path.dirname(sys.executable), "postagger")


def test_sigterm_during_training_keeps_the_best_epoch(tmp_path):
    out = tmp_path / "m"
    proc = subprocess.Popen(
        [EXE, "train", str(TRAIN), "--dev", str(DEV), "-o", str(out), "--epochs", "200", "--patience", "0",
         "--lstm-units", "8", "--lstm-layers", "1", "--word-dim", "8", "--char-filters", "8",
         "--no-segmenter"],
        stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out / "training-state.json").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in stderr and "training interrupted; the best model so far" in stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["complete"] is False and metrics["best_epoch"] >= 1
    tagged = subprocess.run(
        [EXE, "tag", "--model", str(out), "--output-format", "inline"],
        input="A test .\n", capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert len(tagged.stdout.split()) == 3


def test_a_closed_pipe_ends_tagging_quietly(tiny_model, tmp_path):
    text = tmp_path / "big.txt"
    text.write_text("This is a sentence . Another one follows here .\n" * 5000, encoding="utf-8")
    proc = subprocess.Popen(
        [EXE, "tag", str(text), "--model", str(tiny_model), "--output-format", "inline"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert proc.returncode in (0, 141)
    assert stderr == ""
