"""The public Python API: `Tagger.load(path).tag(sentences)`.

>>> from postagger import Tagger
>>> tagger = Tagger.load()            # the shipped English model
>>> tagger.tag([["I", "saw", "her", "."]])
[['PRON', 'VERB', 'PRON', 'PUNCT']]
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from postagger.modeldir import ModelInfo, load_model_info, load_network
from postagger.text import Tokenizer

T = TypeVar("T")


class Tagger:
    """A loaded model. Picklable: it pickles as its path and reloads on the other side."""

    def __init__(self, info: ModelInfo, network):
        self.info = info
        self.network = network
        self.tokenizer = Tokenizer(info.rules)

    @classmethod
    def load(cls, path: str | Path | None = None, engine: str = "auto") -> Tagger:
        """Load a model directory (default: the shipped English model).

        `engine` "auto" computes with NumPy when the model has weights.npz (no TensorFlow
        import: fast start-up), "numpy" insists on it, "keras" uses the Keras model.
        """
        info = load_model_info(path)
        return cls(info, load_network(info, engine))

    def __reduce__(self):
        return (Tagger.load, (str(self.info.path),))

    @property
    def path(self) -> Path:
        return self.info.path

    @property
    def column(self) -> str:
        return self.info.config.column

    def tag(self, sentences: Iterable[Sequence[str]], batch_size: int = 64) -> list[list[str]]:
        """Tags for each sentence (a sequence of word forms)."""
        return [tags for _, tags in self.tag_stream(sentences, batch_size=batch_size)]

    def tag_stream(
        self,
        items: Iterable[T],
        words: Callable[[T], Sequence[str]] = lambda x: x,
        batch_size: int = 64,
        window: int = 2048,
    ) -> Iterator[tuple[T, list[str]]]:
        """Tag a stream lazily, in input order: `window` items at a time are grouped by
        length into batches, so memory stays bounded however long the stream is."""
        from postagger.batching import encode_sentence
        from postagger.inference import predict_tags

        vocab, max_chars = self.info.vocab, self.info.config.max_word_chars
        iterator = iter(items)
        while chunk := list(itertools.islice(iterator, window)):
            forms = [list(words(item)) for item in chunk]
            results: list[list[str]] = [[] for _ in chunk]
            nonempty = [i for i, f in enumerate(forms) if f]
            encoded = [encode_sentence(forms[i], vocab, max_chars) for i in nonempty]
            for i, tags in zip(nonempty, predict_tags(self.network, encoded, vocab.tags.items, batch_size)):
                results[i] = tags
            yield from zip(chunk, results)
