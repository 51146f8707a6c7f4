"""The public Python API: `Tagger.load(path).tag(sentences)`.

>>> from postagger import Tagger
>>> tagger = Tagger.load()            # the shipped English model
>>> tagger.tag([["I", "saw", "her", "."]])
[['PRON', 'VERB', 'PRON', 'PUNCT']]
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from postagger.modeldir import ModelInfo, load_model_info, load_network
from postagger.text import Tokenizer

T = TypeVar("T")


class Tagger:
    """A loaded model. Picklable: it pickles as its path and reloads on the other side."""

    def __init__(self, info: ModelInfo, network, engine: str = "auto"):
        self.info = info
        self.network = network
        self.engine = engine
        self.tokenizer = Tokenizer(info.rules)
        self._encoded_forms: dict = {}  # form → its ids (see encode_sentence's cache)
        self._table = None  # the NumPy and ONNX engines' FormTable, made on first use

    @classmethod
    def load(cls, path: str | Path | None = None, engine: str = "auto") -> Tagger:
        """Load a model directory (default: the shipped English model).

        `engine` "auto" computes from weights.npz without importing TensorFlow (fast
        start-up): with ONNX Runtime for the BiLSTM layers when onnxruntime is installed
        ("onnx" insists on it), else with NumPy alone ("numpy"); "keras" uses the Keras
        model. All give the same tags.
        """
        info = load_model_info(path)
        return cls(info, load_network(info, engine), engine)

    def __reduce__(self):
        return (Tagger.load, (str(self.info.path), self.engine))

    @property
    def path(self) -> Path:
        return self.info.path

    @property
    def column(self) -> str:
        """The primary column (the one `tag` returns and confidences are about)."""
        return self.info.config.column

    @property
    def columns(self) -> list[str]:
        """Every column the model fills, e.g. ["upos", "xpos", "feats"]."""
        return list(self.info.config.columns)

    def tag(
        self, sentences: Iterable[Sequence[str]], batch_size: int = 64, all_columns: bool = False
    ) -> list:
        """Tags for each sentence (a sequence of word forms): the primary column's tags, or
        with `all_columns` a dict column → tags per sentence."""
        stream = self.tag_stream(sentences, batch_size=batch_size, all_columns=all_columns)
        return [tags for _, tags in stream]

    def tag_stream(
        self,
        items: Iterable[T],
        words: Callable[[T], Sequence[str]] = lambda x: x,
        batch_size: int = 64,
        window: int = 2048,
        jobs: int = 1,
        top_k: int = 0,
        all_columns: bool = False,
    ) -> Iterator[tuple]:
        """Tag a stream lazily, in input order: `window` items at a time are grouped by
        length into batches, so memory stays bounded however long the stream is.

        Yields (item, tags), or with `top_k` > 0 (item, tags, scores) where scores holds,
        for each word, its `top_k` best (tag, probability) pairs of the primary column, best
        first. `tags` are the primary column's, or with `all_columns` a dict column → tags.

        With `jobs` > 1, windows are tagged by that many worker processes (each loads the
        model once), at most two windows per worker in flight; a stream of one window is
        tagged here, without starting workers. The workers are spawned (never forked), so a
        script that uses `jobs` must do so under `if __name__ == "__main__":`.
        """
        iterator = iter(items)
        chunk = list(itertools.islice(iterator, window))
        if jobs > 1 and chunk:
            second = list(itertools.islice(iterator, window))
            if second:
                windows = _windows(iterator, window, [chunk, second])
                del chunk, second  # held by `windows` until handed out, then by the workers' queue
                yield from self._tag_in_workers(windows, words, batch_size, jobs, top_k, all_columns)
                return
        # one window in memory at a time: the last one is let go before the next is read
        while chunk:
            results = self.tag_forms([list(words(i)) for i in chunk], batch_size, top_k)
            yield from _joined(chunk, results, self.column, all_columns)
            chunk = results = None
            chunk = list(itertools.islice(iterator, window))

    def tag_forms(self, forms: list[list[str]], batch_size: int = 64, top_k: int = 0) -> list[tuple]:
        """For each sentence (empty ones get no tags), (column → tags, scores): scores is
        None, or with `top_k` > 0 each word's `top_k` best (tag, probability) pairs of the
        primary column."""
        from postagger.batching import encode_sentence
        from postagger.inference import FormTable, NumpyNetwork, predict_heads, tag_with_table

        vocab, max_chars = self.info.vocab, self.info.config.max_word_chars
        nonempty = [i for i, f in enumerate(forms) if f]
        results: list = [None] * len(forms)
        for i, f in enumerate(forms):
            if not f:
                results[i] = ({c: [] for c in vocab.columns}, [] if top_k > 0 else None)
        if isinstance(self.network, NumpyNetwork):
            if self._table is None:
                self._table = FormTable(self.network, vocab, max_chars)
            heads, scores = tag_with_table(
                self.network, self._table, [forms[i] for i in nonempty], batch_size, top_k
            )
        else:  # the Keras model
            cache = self._encoded_forms
            encoded = [encode_sentence(forms[i], vocab, max_chars, cache=cache) for i in nonempty]
            heads, scores = predict_heads(self.network, encoded, vocab, batch_size, top_k)
        for j, i in enumerate(nonempty):
            results[i] = (vocab.columns_of(heads[j]), scores[j] if scores is not None else None)
        return results

    def _tag_in_workers(self, chunks, words, batch_size: int, jobs: int, top_k: int, all_columns: bool):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")  # never fork a process that may hold TensorFlow
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                                 initargs=(str(self.path), self.engine)) as pool:  # fmt: skip
            pending: deque = deque()
            for chunk in chunks:
                forms = [list(words(i)) for i in chunk]
                pending.append((chunk, pool.submit(_tag_in_worker, forms, batch_size, top_k)))
                if len(pending) >= 2 * jobs:
                    done, future = pending.popleft()
                    yield from _joined(done, future.result(), self.column, all_columns)
            while pending:
                done, future = pending.popleft()
                yield from _joined(done, future.result(), self.column, all_columns)


def _windows(iterator: Iterator, size: int, read: list[list]) -> Iterator[list]:
    """The windows already `read`, then the rest of `iterator` in windows of `size`."""
    while read:
        yield read.pop(0)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
        chunk = None


def _joined(chunk: list, results: list, column: str, all_columns: bool) -> Iterator[tuple]:
    """(item, tags) pairs, or (item, tags, scores) when the results have scores; tags are
    the primary `column`'s, or with `all_columns` the dict of every column's."""
    for item, (columns, scores) in zip(chunk, results):
        tags = columns if all_columns else columns[column]
        yield (item, tags) if scores is None else (item, tags, scores)


_worker_tagger: Tagger | None = None


def _start_worker(path: str, engine: str) -> None:
    global _worker_tagger
    # one BLAS thread per worker (the workers are the parallelism); set before NumPy is
    # first imported here, which loading the model does
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _worker_tagger = Tagger.load(path, engine)


def _tag_in_worker(forms: list[list[str]], batch_size: int, top_k: int) -> list:
    assert _worker_tagger is not None
    return _worker_tagger.tag_forms(forms, batch_size, top_k)
