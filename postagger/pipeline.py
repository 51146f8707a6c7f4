"""`postagger tag` over files: blocks of input are parsed, tagged and formatted as text,
then written in input order.

A block (about 2,048 sentences, `postagger.conllu_io.read_blocks`) is the unit of work.
With `jobs` > 1, worker processes do all of a block's work (decoding, parsing, tokenizing,
tagging, formatting) and the main process only cuts the input into blocks of bytes and
writes the text that comes back: only bytes and strings cross between processes, and the
cores are busy with tagging rather than with passing Python objects around. At most two
blocks per worker are in flight, so memory stays bounded however big the input is.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TextIO

from postagger.conllu_io import Block
from postagger.errors import PostaggerError
from postagger.formats import InputFormat, OutputFormat, Writer, block_items, read_input_blocks
from postagger.modeldir import ModelInfo, load_network
from postagger.tagger import Tagger


@dataclass
class Tagged:
    """A tagged block's output text, in pieces (one per sentence when `numbered`)."""

    pieces: list[str]
    numbered: bool  # each piece is a new CoNLL-U sentence still to get its "# sent_id" line
    items: int  # sentences (or other items) in the block


@dataclass
class Job:
    """What to do with every block."""

    in_fmt: InputFormat
    out_fmt: OutputFormat
    batch_size: int = 64
    top_k: int = 0


def tag_block(tagger: Tagger, block: Block, job: Job) -> Tagged:
    """Parse, tag and format one block of input."""
    items = block_items(block, job.in_fmt, tagger.tokenizer)
    results = tagger.tag_forms([item.words for item in items], job.batch_size, job.top_k)
    numbered = job.out_fmt is OutputFormat.conllu and job.in_fmt is not InputFormat.conllu
    pieces: list[str] = []
    writer = Writer(_Pieces(pieces), job.out_fmt, tagger.columns, sent_ids=not numbered)
    for item, (columns, scores) in zip(items, results):
        writer.write(item, columns, scores)
    if not numbered:
        pieces = ["".join(pieces)]
    return Tagged(pieces, numbered, len(items))


class _Pieces:
    """A write-only text stream that keeps each write as a piece."""

    def __init__(self, pieces: list[str]):
        self.write = pieces.append


def tag_files(
    stream: TextIO,
    model: ModelInfo,
    engine: str,
    plan: list[tuple[str, Job]],
    jobs: int = 1,
    advance: Callable[[int], None] | None = None,
) -> None:
    """Tag each (path, job) of `plan` in turn ('-' is stdin) with the `model`, writing to
    `stream`; new CoNLL-U sentences are numbered across all files. `advance` is called with
    each block's item count (progress).

    With `jobs` > 1 and more than one block of input, `jobs` worker processes load the
    network and tag; this process never does (it would only add to the start-up time)."""
    blocks = ((block, job) for path, job in plan for block in read_input_blocks(path, job.in_fmt))
    # one job: the network is loaded before any input is read (a model that cannot be used
    # is reported at once, even before stdin is typed)
    first = list(itertools.islice(blocks, 2)) if jobs > 1 else []
    with contextlib.ExitStack() as stack:
        if len(first) == 2:
            tagged = _tag_in_workers(model, engine, itertools.chain(first, blocks), jobs)
        else:  # one block (or one job): no worker processes to start
            tagger = Tagger(model, load_network(model, engine), engine)
            stack.enter_context(_fewer_collections())
            tagged = (tag_block(tagger, block, job) for block, job in itertools.chain(first, blocks))
        count = 0
        for result in tagged:
            if result.numbered:
                for piece in result.pieces:
                    count += 1
                    stream.write(f"# sent_id = {count}\n")
                    stream.write(piece)
            else:
                stream.write(result.pieces[0])
            if advance is not None:
                advance(result.items)


def _tag_in_workers(
    model: ModelInfo, engine: str, blocks: Iterator[tuple[Block, Job]], jobs: int
) -> Iterator[Tagged]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")  # never fork a process that may hold TensorFlow
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                               initargs=(str(model.path), engine))  # fmt: skip
    try:
        pending: deque = deque()
        for block, job in blocks:
            try:
                pending.append(pool.submit(_tag_in_worker, block, job))
            except (OSError, ValueError) as err:  # a worker died while the next was started
                raise BrokenProcessPool(str(err)) from err
            if len(pending) >= 2 * jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    except BrokenProcessPool:
        _stop(pool)
        raise PostaggerError("a worker process died (killed, or out of memory?); try fewer --jobs") from None
    except BaseException:  # an error in a block, Ctrl-C, a closed output pipe
        _stop(pool)
        raise
    pool.shutdown()


def _stop(pool) -> None:
    """End the workers without waiting for them. A waiting shutdown can hang for good: a
    worker blocked writing a result that will never be read, the queue feeding it blocked
    writing the next block (both bigger than a pipe's buffer)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14
    if terminate is not None:
        terminate()
    else:
        for process in list((pool._processes or {}).values()):
            process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


_worker_tagger: Tagger | PostaggerError | None = None


def _start_worker(path: str, engine: str) -> None:
    global _worker_tagger
    # one BLAS thread per worker (the workers are the parallelism); set before NumPy is
    # first imported here, which loading the model does
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        _worker_tagger = Tagger.load(path, engine)
    except PostaggerError as err:  # raised with the first block, as a failed initializer
        _worker_tagger = err  # would only break the pool without a message
    _fewer_collections().__enter__()  # for the worker's whole life


@contextlib.contextmanager
def _fewer_collections():
    """Tagging makes many short-lived objects (lines, fields, tags) and next to no reference
    cycles: the cyclic garbage collector need not run every 700 allocations, nor go through
    the objects that exist already (the loaded model) each time: 4% of tagging time."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _tag_in_worker(block: Block, job: Job) -> Tagged:
    if isinstance(_worker_tagger, PostaggerError):
        raise _worker_tagger
    assert _worker_tagger is not None
    return tag_block(_worker_tagger, block, job)
