"""`postagger tag` over files: blocks of input are parsed, tagged and formatted as text,
then written in input order.

A block (about 2,048 sentences, `postagger.conllu_io.read_blocks`) is the unit of work.
With `jobs` > 1, worker processes (`postagger.workers`) do all of a block's work
(decoding, parsing, tokenizing, tagging, formatting) and the main process only cuts the
input into blocks of bytes and writes the text that comes back: only bytes and strings
cross between processes, and the cores are busy with tagging rather than with passing
Python objects around. At most two blocks per worker are in flight, so memory stays bounded
however big the input is.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from postagger.conllu_io import Block
from postagger.formats import InputFormat, OutputFormat, Writer, block_items, read_input_blocks
from postagger.workers import fewer_collections, ordered_map

if TYPE_CHECKING:
    from postagger.modeldir import ModelInfo
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
    joint: bool = True  # the most probable tag combination seen in training (`decoding.Decoder`)


def tag_block(tagger: Tagger, block: Block, job: Job) -> Tagged:
    """Parse, tag and format one block of input."""
    items = block_items(block, job.in_fmt, tagger.tokenizer)
    tagged = tagger.tag_sentences([item.words for item in items], job.batch_size, job.top_k, job.joint)
    numbered = job.out_fmt is OutputFormat.conllu and job.in_fmt is not InputFormat.conllu
    pieces: list[str] = []
    writer = Writer(_Pieces(pieces), job.out_fmt, tagger.columns, sent_ids=not numbered)
    for item, sentence in zip(items, tagged):
        writer.write(item, sentence)
    if not numbered:
        pieces = ["".join(pieces)]
    return Tagged(pieces, numbered, len(items))


class _Pieces:
    """A write-only text stream that keeps each write as a piece."""

    def __init__(self, pieces: list[str]):
        self.write = pieces.append


def tag_files(
    stream: TextIO,
    model: ModelInfo | str | Path | None,
    engine: str,
    plan: list[tuple[str, Job]],
    jobs: int = 1,
    advance: Callable[[int, int], None] | None = None,
) -> None:
    """Tag each (path, job) of `plan` in turn ('-' is stdin) with the `model` (a model
    directory read already, or its path; None: the shipped model) run by `engine`, writing
    to `stream`; new CoNLL-U sentences are numbered across all files. `advance` is called
    with each block's item count and size in bytes (progress).

    With `jobs` > 1 and more than one block of input, `jobs` worker processes read the model
    and tag; this process never does (it would only delay the workers' start)."""
    from postagger.engines import check_engine  # NumPy: only where this process tags

    check_engine(engine)  # an engine that cannot run here is refused before any work
    sizes: deque[int] = deque()  # of the blocks read and not yet written (results come in order)

    def sized(path: str, job: Job):
        for block in read_input_blocks(path, job.in_fmt):
            sizes.append(len(block.data))
            yield block, job

    blocks = itertools.chain.from_iterable(sized(path, job) for path, job in plan)
    # one job: the network is loaded before any input is read (a model that cannot be used
    # is reported at once, even before stdin is typed)
    first = list(itertools.islice(blocks, 2)) if jobs > 1 else []
    with contextlib.ExitStack() as stack:
        if len(first) == 2:  # a worker that cannot read the model raises it with its first block
            tagged = ordered_map(
                str(_model_path(model)), engine, jobs, tag_block, itertools.chain(first, blocks)
            )
        else:  # one block (or one job): no worker processes to start
            from postagger.tagger import Tagger

            tagger = Tagger.from_info(_model_info(model), engine)
            stack.enter_context(fewer_collections())
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
            stream.flush()  # a block at a time: a live pipe's reader sees each line as it is tagged
            size = sizes.popleft()
            if advance is not None:
                advance(result.items, size)


def _model_path(model: ModelInfo | str | Path | None) -> Path:
    from postagger.modeldir import ModelInfo, model_dir

    return model.path if isinstance(model, ModelInfo) else model_dir(model)


def _model_info(model: ModelInfo | str | Path | None) -> ModelInfo:
    from postagger.modeldir import ModelInfo, load_model_info

    return model if isinstance(model, ModelInfo) else load_model_info(model)
