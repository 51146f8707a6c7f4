"""tf.distribute strategies for training, and the training step of several workers.

`--strategy multiworker` with a cluster in TF_CONFIG: every worker runs the same command on
the same files. The stages before the tagger's training that do not shape the shared
network run on the chief only (the raw-text segmenter, the subword pretraining); the
others (vocabularies, vectors alignment) are plain NumPy, the same on every worker. The
tagger then trains synchronously: each batch (the same on every worker: same data, same
seed) is split between the replicas, the gradients summed over all of them, and the
replicas start from the chief's weights (`broadcast_from_chief`). Only the chief writes the
model directory; the other workers train in a temporary directory, removed at the end.

Keras 3's own `fit`/`train_on_batch` cannot do this: reducing their per-replica logs over
workers fails (tensorflow/tensorflow#72388, keras-team/keras#20585: "Invalid reduction
dimension 0 for input with 0 dimensions"). `replica_step` runs Keras's `train_step` itself
under `strategy.run` and reduces only the loss.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
from collections.abc import Callable, Iterator

import numpy as np

from postagger.backend import load_tensorflow
from postagger.config import STRATEGIES
from postagger.errors import PostaggerError


def check_strategy(name: str) -> None:
    """Refuse an unknown strategy, or a TF_CONFIG that is not a cluster, before any work."""
    if name not in STRATEGIES:
        raise PostaggerError(f"unknown strategy {name!r}: use one of {', '.join(STRATEGIES)}")
    if name == "multiworker":
        cluster_tasks()


def tf_config() -> dict:
    """The TF_CONFIG environment variable, read and checked ({} without one): a cluster of
    task lists, and this process's task as {"type": ..., "index": N}."""
    try:
        config = json.loads(os.environ.get("TF_CONFIG") or "{}")
        cluster = config.get("cluster", {}) if isinstance(config, dict) else None
        if not isinstance(cluster, dict) or not all(isinstance(t, list) for t in cluster.values()):
            raise ValueError
    except ValueError:
        raise PostaggerError("TF_CONFIG is not a JSON object with a cluster of task lists") from None
    task = config.get("task", {})
    if not isinstance(task, dict) or not isinstance(task.get("index", 0), int):
        raise PostaggerError('TF_CONFIG\'s task must be {"type": "worker", "index": N}')
    return config


def cluster_tasks() -> int:
    """How many tasks TF_CONFIG's cluster has (1 without one)."""
    return sum(len(tasks) for tasks in tf_config().get("cluster", {}).values()) or 1


def several_workers(name: str) -> bool:
    """Whether strategy `name` trains over several processes."""
    return name == "multiworker" and cluster_tasks() > 1


def is_chief(name: str) -> bool:
    """Whether this process writes the model: always, but for a worker of a multi-worker
    cluster that is not its chief (the "chief" task, else worker 0)."""
    if not several_workers(name):
        return True
    config = tf_config()
    task = config.get("task", {})
    if "chief" in config["cluster"]:
        return task.get("type") == "chief"
    return task.get("type") == "worker" and task.get("index", 0) == 0


@functools.cache
def distribution_strategy(name: str):
    """The tf.distribute strategy called `name` (one instance per process: a multi-worker
    strategy must exist before TensorFlow runs anything else, see `train.train`):

    - "default": TensorFlow's default placement (one GPU if there is one, else the CPU);
    - "mirrored": synchronous data parallelism over all local GPUs (the CPU when there is
      none), each batch split between the replicas;
    - "multiworker": the same over the processes described by the TF_CONFIG environment
      variable (on one machine without TF_CONFIG: one worker).
    """
    tf, _ = load_tensorflow()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise PostaggerError(f"unknown strategy {name!r}: use one of {', '.join(STRATEGIES)}")


def lost_peer(err: BaseException) -> PostaggerError | None:
    """A TensorFlow error of a multi-worker run (a collective aborted: another worker
    stopped or cannot be reached) as one message naming its cause; None for other errors.
    A worker whose peer never starts waits for it, as TensorFlow's collectives do."""
    tf, _ = load_tensorflow()
    if not isinstance(err, tf.errors.OpError):
        return None
    text = re.sub(r"\{\{[^}]*\}\}", "", str(err.message or ""))  # TensorFlow's node names
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    cause = lines[0] if lines else type(err).__name__
    return PostaggerError(
        f"the multi-worker training stopped: another worker stopped or cannot be reached ({cause})"
    )


@contextlib.contextmanager
def peers_watched(name: str) -> Iterator[None]:
    """With several workers (strategy `name`), a TensorFlow error that says a peer is gone
    becomes `lost_peer`'s one message; everything else passes through."""
    try:
        yield
    except Exception as err:
        failure = lost_peer(err) if several_workers(name) else None
        if failure is None:
            raise
        raise failure from None


def broadcast_from_chief(strategy, variables) -> None:
    """Give every replica the chief's (replica 0's) values of the floating-point
    `variables`: those set after creation (pretrained vectors, a pretrained character
    encoder) may differ between workers."""
    tf, _ = load_tensorflow()
    floats = [v for v in variables if "float" in str(v.dtype)]  # Keras variables name their dtype

    @tf.function
    def chief_values():
        def replica():
            context = tf.distribute.get_replica_context()
            keep = tf.cast(context.replica_id_in_sync_group == 0, tf.float32)
            return context.all_reduce("SUM", [tf.cast(v.value, tf.float32) * keep for v in floats])

        return strategy.run(replica)

    for variable, value in zip(floats, chief_values()):
        variable.assign(tf.cast(strategy.experimental_local_results(value)[0], str(variable.dtype)))


def replica_step(model, strategy) -> Callable[[dict, dict, dict], float]:
    """A training step over all replicas of `strategy`: `step(inputs, targets, weights)`
    with one whole batch of NumPy arrays (rows first), the same on every worker; each
    replica trains on its share of the rows; the mean loss over the replicas."""
    tf, _ = load_tensorflow()

    @tf.function(reduce_retracing=True)
    def distributed(values):
        logs = strategy.run(model.train_step, args=(values,))
        return strategy.reduce("MEAN", logs["loss"], axis=None)

    def step(inputs: dict, targets: dict, weights: dict) -> float:
        shares = replica_shares((inputs, targets, weights), strategy.num_replicas_in_sync)
        values = strategy.experimental_distribute_values_from_function(
            lambda context: shares[context.replica_id_in_sync_group]
        )
        model.reset_metrics()  # the loss of this step only, as train_on_batch reports it
        return float(distributed(values))

    return step


def replica_shares(batch: tuple[dict, dict, dict], replicas: int) -> list[tuple[dict, dict, dict]]:
    """`batch` (inputs, targets, sample weights: dicts of arrays, rows first) cut into
    `replicas` shares of consecutive rows, all of one size: rows that do not divide evenly
    are made up with copies of the first row that weigh 0 (every replica runs the step)."""
    inputs, targets, weights = batch
    rows = len(next(iter(inputs.values())))
    size = -(-rows // replicas)
    padded = size * replicas

    def pad(array: np.ndarray, zero: bool) -> np.ndarray:
        extra = np.repeat(array[:1], padded - rows, axis=0)
        return np.concatenate([array, np.zeros_like(extra) if zero else extra])

    inputs = {k: pad(v, False) for k, v in inputs.items()}
    targets = {k: pad(v, False) for k, v in targets.items()}
    weights = {k: pad(v, True) for k, v in weights.items()}
    parts = (inputs, targets, weights)
    cuts = [slice(r * size, (r + 1) * size) for r in range(replicas)]
    return [tuple({k: v[cut] for k, v in part.items()} for part in parts) for cut in cuts]
