"""The course notes' warm-up: an LSTM that learns to continue a sine wave.

    python docs/examples/sine_lstm.py [--epochs 20] [--plot sine.png] [--seed 1]

Windows of 10 past values → the next value; `LSTM(20)` → `Dense(1)`, mean squared error.
The same Keras pieces the tagger uses (a recurrent layer over a sequence, a dense layer on
its output), on the simplest sequence task: regression of one number instead of a tag per
word. The held-out part is the wave's last fifth, after every training window, so the
network is scored on values it never saw. With matplotlib installed, `--plot` draws the
held-out wave and the network's one-step predictions. Needs the `train` extra (TensorFlow).
"""

from __future__ import annotations

import argparse

import numpy as np

WINDOW = 10  # past values per example
STEP = 0.1  # radians between two samples: a period is about 63 samples


def sine_windows(
    samples: int = 2000, window: int = WINDOW, step: float = STEP
) -> tuple[np.ndarray, np.ndarray]:
    """(windows, next values) of a unit-amplitude sine: x of shape (n, window, 1), y (n, 1)."""
    wave = np.sin(np.arange(samples + window) * step).astype(np.float32)
    x = np.lib.stride_tricks.sliding_window_view(wave[:-1], window)[:samples]
    return x[..., None].copy(), wave[window : window + samples, None].copy()


def split(x: np.ndarray, y: np.ndarray, held_out: float = 0.2):
    """The first part to train on, the last `held_out` share (later in time) to test on."""
    cut = int(len(x) * (1 - held_out))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def build(units: int = 20):
    import keras

    model = keras.Sequential([keras.Input((WINDOW, 1)), keras.layers.LSTM(units), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def train(epochs: int = 20, seed: int = 1, samples: int = 2000, verbose: int = 0):
    """Trains the network; returns (model, held-out mean squared error, held-out data)."""
    import keras

    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = split(*sine_windows(samples))
    model = build()
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, shuffle=True, verbose=verbose)
    mse = float(model.evaluate(x_test, y_test, verbose=0))
    return model, mse, (x_test, y_test)


def plot(model, x_test: np.ndarray, y_test: np.ndarray, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    predicted = model.predict(x_test, verbose=0)[:, 0]
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(y_test[:, 0], label="sine (held out)")
    ax.plot(predicted, "--", label="LSTM, one step ahead")
    ax.set_xlabel("time step")
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plot", help="draw the held-out wave and the predictions into this PNG")
    args = parser.parse_args()
    model, mse, (x_test, y_test) = train(args.epochs, args.seed, verbose=2)
    print(f"held-out mean squared error: {mse:.6f}")
    if args.plot:
        try:
            plot(model, x_test, y_test, args.plot)
        except ImportError:
            raise SystemExit("--plot needs matplotlib: pip install matplotlib") from None
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
