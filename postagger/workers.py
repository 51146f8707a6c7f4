"""The one pool of worker processes, behind `postagger tag --jobs` and
`Tagger.tag_stream(jobs=)`; and the process settings tagging wants wherever it runs.

Workers are spawned (never forked: the parent may hold TensorFlow), each loads the model
once and then runs tasks; results come back in task order, with at most two tasks per
worker in flight, so memory stays bounded however long the input is. Any failure — an
error in a task, a worker that dies, Ctrl-C, a consumer that stops reading — terminates the
workers and shuts the pool down without waiting: a waiting shutdown can hang for good (a
worker blocked writing a result that will never be read, the queue feeding it blocked
writing the next task, both bigger than a pipe's buffer).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from postagger.errors import PostaggerError

WORKER_DIED = "a worker process died (killed, or out of memory?); try fewer --jobs"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system says), at most 8:
    `tag --jobs 0`, the default, starts this many workers for inputs of several blocks."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def limit_threads() -> None:
    """One BLAS and OpenMP thread per process: the NumPy and ONNX engines' products are
    small, one thread is nearly as fast alone and far faster when other processes share the
    cores (threads that spin-wait for each other collapse under contention); worker
    processes are the way to use more cores. Call it before NumPy is first imported in the
    process (the `tag` command does, first thing; so does every worker)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _tune_collector() -> tuple[int, int, int]:
    """Tagging makes many short-lived objects (lines, fields, tags) and next to no reference
    cycles: the cyclic garbage collector need not run every 700 allocations, nor go through
    the objects that exist already (the loaded model) each time: 4% of tagging time.
    Returns the thresholds it replaced."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    return thresholds


@contextlib.contextmanager
def fewer_collections():
    """`_tune_collector` for the duration of a block (tagging in this process)."""
    thresholds = _tune_collector()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def ordered_map(model: str, engine: str, jobs: int, work: Callable, tasks: Iterable[tuple]) -> Iterator:
    """`work(tagger, *task)` for each task, in `jobs` worker processes that each hold a
    `Tagger` of the `model` directory run by `engine`; the results in task order. `work`
    must be a module-level function (it is sent to the workers by name)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")  # never fork a process that may hold TensorFlow
    _install_quiet_hook()
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                               initargs=(model, engine))  # fmt: skip
    try:
        pending: deque = deque()
        for task in tasks:
            try:
                pending.append(pool.submit(_run, work, task))
            except (OSError, ValueError) as err:  # a worker died while the next was started
                raise BrokenProcessPool(str(err)) from err
            if len(pending) >= 2 * jobs:
                yield _result(pending.popleft(), pool)
        while pending:
            yield _result(pending.popleft(), pool)
    except BrokenProcessPool:
        _stop(pool)
        raise PostaggerError(WORKER_DIED) from None
    except BaseException:  # an error in a task, Ctrl-C, a closed pipe, a consumer gone
        _stop(pool)
        raise
    pool.shutdown()


def _result(future, pool):
    """The future's result; BrokenProcessPool if the pool broke and left it unset. (Python
    3.11's manager thread marks the pending futures of a broken pool in a loop that a
    concurrent `submit` can cut short with "dictionary changed size during iteration":
    its traceback is kept quiet by `_quiet_manager_thread`, and the futures it did not
    reach would otherwise be waited for for ever.)"""
    from concurrent.futures import wait
    from concurrent.futures.process import BrokenProcessPool

    while not wait([future], timeout=1.0).done:
        if getattr(pool, "_broken", False):
            raise BrokenProcessPool(str(pool._broken))
    return future.result()


def _quiet_manager_thread(args) -> None:
    """`threading.excepthook`: the RuntimeError described in `_result` is dropped (it is the
    broken pool that `ordered_map` reports in one line); anything else is printed."""
    thread_class = type(args.thread).__name__ if args.thread is not None else ""
    if thread_class == "_ExecutorManagerThread" and issubclass(args.exc_type, RuntimeError):
        if "changed size during iteration" in str(args.exc_value):
            return
    _previous_excepthook[0](args)


_previous_excepthook = [threading.excepthook]  # the hook `_quiet_manager_thread` passes on to


def _install_quiet_hook() -> None:
    if threading.excepthook is not _quiet_manager_thread:
        _previous_excepthook[0] = threading.excepthook
        threading.excepthook = _quiet_manager_thread


def _stop(pool) -> None:
    """End the workers without waiting for them (see the module docstring); then give the
    pool's manager thread a moment to finish (before Python 3.12, one still tearing down
    at exit can make `concurrent.futures`' exit hook print "Bad file descriptor")."""
    manager = getattr(pool, "_executor_manager_thread", None)  # private: absent is fine
    _terminate_workers(pool)
    pool.shutdown(wait=False, cancel_futures=True)  # which forgets the manager thread
    if manager is not None:
        manager.join(timeout=5)


def _terminate_workers(pool) -> None:
    if sys.version_info >= (3, 14):
        pool.terminate_workers()
    else:  # before 3.14 the pool has no public way: its processes, by their private name
        for process in list((pool._processes or {}).values()):
            process.terminate()


# a worker process's state: its tagger, or why the model could not be loaded there
_tagger = None
_failure: PostaggerError | None = None


def _start_worker(model: str, engine: str) -> None:
    global _tagger, _failure
    limit_threads()  # before NumPy is first imported here, which loading the model does
    from postagger.tagger import Tagger

    try:
        _tagger = Tagger.load(model, engine)
    except PostaggerError as err:  # raised with the first task: a failed initializer
        _failure = err  # would only break the pool without a message
    _tune_collector()  # for the worker's whole life


def _run(work: Callable, task: tuple):
    if _failure is not None:
        raise _failure
    return work(_tagger, *task)
