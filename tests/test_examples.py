"""The examples in docs/examples run as documented."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sine_windows_hold_the_next_value():
    sine = load_example("sine_lstm")
    x, y = sine.sine_windows(50)
    assert x.shape == (50, sine.WINDOW, 1) and y.shape == (50, 1)
    np.testing.assert_allclose(x[7, :, 0], np.sin(np.arange(7, 7 + sine.WINDOW) * sine.STEP), atol=1e-6)
    np.testing.assert_allclose(y[7, 0], np.sin((7 + sine.WINDOW) * sine.STEP), atol=1e-6)
    (train_x, _), (test_x, _) = sine.split(x, y)
    assert len(train_x) == 40 and len(test_x) == 10  # held out: the last fifth, later in time


@pytest.mark.slow
def test_the_sine_lstm_learns_to_continue_the_wave(tmp_path):
    """The course's warm-up: held-out mean squared error on a unit sine below 0.01 (an
    untrained network, or one that predicts the mean, scores about 0.5)."""
    sine = load_example("sine_lstm")
    model, mse, (x_test, y_test) = sine.train(epochs=10, seed=1)
    assert mse < 0.01
    untrained = float(sine.build().evaluate(x_test, y_test, verbose=0))
    assert untrained > 0.05  # the bar is one training has to earn
    assert float(np.mean(y_test**2)) > 0.3  # the held-out part is a real stretch of the wave
    pytest.importorskip("matplotlib")
    sine.plot(model, x_test, y_test, str(tmp_path / "sine.png"))
    assert (tmp_path / "sine.png").read_bytes().startswith(b"\x89PNG")
