"""The public Python API: `Tagger.load(path).tag(sentences)`.

>>> from postagger import Tagger
>>> tagger = Tagger.load()            # the shipped English model
>>> tagger.tag([["I", "saw", "her", "."]])
[['PRON', 'VERB', 'PRON', 'PUNCT']]
>>> tagger.tag_sentences([["I", "saw", "her", "."]], top_k=2)[0].tags["upos"]
['PRON', 'VERB', 'PRON', 'PUNCT']
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from postagger.batching import length_groups
from postagger.decoding import Decoder, JointChoice, TaggedSentence
from postagger.engines import TaggerNetwork, load_segmenter_network, load_tagger_network
from postagger.formtable import FormTable
from postagger.modeldir import ModelInfo, load_model_info
from postagger.segmentation import Segmenter
from postagger.text import Tokenizer

T = TypeVar("T")


class Tagger:
    """A loaded model. Picklable: it pickles as its path and engine and reloads on the
    other side."""

    def __init__(self, info: ModelInfo, network: TaggerNetwork, engine: str = "auto"):
        """`network` is the model's network run by an engine (`postagger.engines`);
        `engine` the name it was asked for, which a pickled copy asks for again."""
        self.info = info
        self.network = network
        self.engine = engine
        self._table = FormTable(network.words, info.vocab, info.config.max_word_chars)
        self._tokenizer: Segmenter | Tokenizer | None = None

    @property
    def tokenizer(self) -> Segmenter | Tokenizer:
        """What splits raw text into sentences of tokens: the model's trained segmenter, or
        the rules learned from its treebank for a model without one (made on first use)."""
        if self._tokenizer is None:
            network = load_segmenter_network(self.info, self.engine)
            rules = self.info.rules
            self._tokenizer = (
                Tokenizer(rules) if network is None else Segmenter(network, self.info.segmenter, rules)
            )
        return self._tokenizer

    @classmethod
    def load(cls, path: str | Path | None = None, engine: str = "auto") -> Tagger:
        """Load a model directory (default: the shipped English model).

        `engine` "auto" computes from weights.npz without importing TensorFlow (fast
        start-up): with ONNX Runtime for the BiLSTM layers when onnxruntime is installed
        ("onnx" insists on it), else with NumPy alone ("numpy"); "keras" uses the Keras
        layers. All give the same tags.
        """
        return cls.from_info(load_model_info(path), engine)

    @classmethod
    def from_info(cls, info: ModelInfo, engine: str = "auto") -> Tagger:
        """A tagger of a model directory already read (`postagger.modeldir.load_model_info`)."""
        return cls(info, load_tagger_network(info, engine), engine)

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

    def tag(self, sentences: Iterable[Sequence[str]], batch_size: int = 64) -> list[list[str]]:
        """The primary column's tags of each sentence (a sequence of word forms)."""
        return [tagged.tags[self.column] for tagged in self.tag_sentences(sentences, batch_size)]

    def tag_sentences(
        self, sentences: Iterable[Sequence[str]], batch_size: int = 64, top_k: int = 0, joint: bool = True
    ) -> list[TaggedSentence]:
        """A `TaggedSentence` for each sentence (a sequence of word forms; an empty one gets
        no tags): the tags of every column, and with `top_k` > 0 each word's `top_k` best
        (tag, probability) pairs of the primary column. With `joint` (and a model of several
        columns that knows its training data's tag combinations), each word gets the most
        probable combination seen in training (`decoding.Decoder`); else each column's own
        best tag. Sentences are batched by length; the result is in input order."""
        forms = list(sentences)
        decoder = Decoder(self.info.vocab, len(forms), top_k, self._joint_choice if joint else None)
        lengths = np.fromiter(map(len, forms), np.intp, len(forms))
        nonempty = np.flatnonzero(lengths)
        self._table.prepare(f for words in forms for f in words)
        for group in length_groups(lengths[nonempty], batch_size, max_padding=self.network.max_padding):
            index = nonempty[group]
            sizes = lengths[index]
            rows, vectors = self._table.rows([f for i in index for f in forms[i]])
            real = np.arange(sizes.max()) < sizes[:, None]
            at = np.zeros(real.shape, np.intp)
            at[real] = rows
            inputs = {"vectors": vectors[at], "lengths": sizes.astype(np.int32)}
            decoder.add(
                index.tolist(), sizes.tolist(), self.network.sentences.run(inputs, decoder.outputs), real
            )
        return decoder.sentences

    @functools.cached_property
    def _joint_choice(self) -> JointChoice | None:
        """The model's `JointChoice` (None for a model without one), made on first use."""
        return JointChoice.of(self.info.vocab)

    def tag_text(
        self, text: str, batch_size: int = 64, top_k: int = 0, joint: bool = True
    ) -> list[TaggedSentence]:
        """The sentences the model's tokenizer finds in raw text, tagged: each
        `TaggedSentence` has its `words` and their `spans` in `text` too (blank lines always
        end a sentence; longer sentences than `formats.MAX_SENTENCE_TOKENS` are cut)."""
        from postagger.conllu_io import Block
        from postagger.formats import InputFormat, block_items

        items = block_items(Block(text.encode("utf-8"), "<text>", 1), InputFormat.text, self.tokenizer)
        tagged = self.tag_sentences([item.words for item in items], batch_size, top_k, joint)
        return [
            dataclasses.replace(sentence, words=item.words, spans=item.word_spans())
            for item, sentence in zip(items, tagged)
        ]

    def tag_stream(
        self,
        items: Iterable[T],
        words: Callable[[T], Sequence[str]] = lambda x: x,
        batch_size: int = 64,
        window: int = 2048,
        jobs: int = 1,
        top_k: int = 0,
        joint: bool = True,
    ) -> Iterator[tuple[T, TaggedSentence]]:
        """Tag a stream lazily, in input order: (item, `TaggedSentence`) for each item,
        whose words are `words(item)`. `window` items at a time are grouped by length into
        batches, so memory stays bounded however long the stream is.

        With `jobs` > 1, windows are tagged by that many worker processes
        (`postagger.workers`: each loads the model once), at most two windows per worker in
        flight; a stream of one window is tagged here, without starting workers. The
        workers are spawned (never forked), so a script that uses `jobs` must do so under
        `if __name__ == "__main__":`.
        """
        iterator = iter(items)
        chunk = list(itertools.islice(iterator, window))
        if jobs > 1 and chunk:
            second = list(itertools.islice(iterator, window))
            if second:
                windows = _windows(iterator, window, [chunk, second])
                del chunk, second  # held by `windows` until handed out, then by the workers' queue
                yield from self._tag_in_workers(windows, words, (batch_size, top_k, joint), jobs)
                return
        # one window in memory at a time: the last one is let go before the next is read
        while chunk:
            yield from zip(chunk, self.tag_sentences([words(i) for i in chunk], batch_size, top_k, joint))
            chunk = None
            chunk = list(itertools.islice(iterator, window))

    def _tag_in_workers(self, windows: Iterator[list], words, settings: tuple, jobs: int):
        """`settings`: `tag_sentences`'s batch_size, top_k and joint."""
        from postagger.workers import ordered_map

        sent: deque = deque()  # the windows whose tags are on their way

        def tasks():
            for chunk in windows:
                sent.append(chunk)
                yield [list(words(i)) for i in chunk], *settings

        for tagged in ordered_map(str(self.path), self.engine, jobs, _tag_window, tasks()):
            yield from zip(sent.popleft(), tagged)


def _windows(iterator: Iterator, size: int, read: list[list]) -> Iterator[list]:
    """The windows already `read`, then the rest of `iterator` in windows of `size`."""
    while read:
        yield read.pop(0)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
        chunk = None


def _tag_window(tagger: Tagger, forms: list[list[str]], *settings) -> list[TaggedSentence]:
    """A worker's task (`postagger.workers.ordered_map`): one window of sentences."""
    return tagger.tag_sentences(forms, *settings)
