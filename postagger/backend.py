"""Importing TensorFlow and Keras quietly.

TensorFlow writes start-up chatter straight to file descriptor 2 before its logging is set
up (no GPU found, CPU instruction sets), which `TF_CPP_MIN_LOG_LEVEL` does not silence.
During the import, stderr goes to a temporary file; afterwards every line that is not
such chatter is written back, so real warnings and errors still reach the user.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

_CHATTER = re.compile(
    r"cudart_stub|cuda_platform|cuInit|cuda_dnn|cuda_fft|cuda_blas|cpu_feature_guard|"
    r"absl::InitializeLog|To enable the following instructions|rebuild TensorFlow|"
    r"Unable to register cu|computation_placer|TF-TRT Warning|oneDNN custom operations"
)


@contextlib.contextmanager
def _filtered_stderr():
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode("utf-8", "replace").splitlines(keepends=True):
                if not _CHATTER.search(line):
                    sys.stderr.write(line)


def load_tensorflow():
    """(tensorflow, keras), imported once with their start-up noise filtered."""
    if sys.modules.get("keras") is not None and sys.modules.get("tensorflow") is not None:
        return sys.modules["tensorflow"], sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    try:
        with _filtered_stderr():
            import tensorflow as tf

            tf.config.list_physical_devices()  # device discovery prints its own chatter
            import keras
    except ImportError:  # a tag-only install: TensorFlow is the `train` extra
        from postagger.errors import MissingExtra

        raise MissingExtra("TensorFlow", "training and the Keras engine need it") from None
    return tf, keras
