"""postagger: a part-of-speech tagger for Universal Dependencies treebanks (BiLSTM, Keras 3).

`from postagger import Tagger` gives the Python API (`TaggedSentence` is what it returns);
they are imported on first use, so that importing this package (and the command line's
`--help`) loads neither NumPy nor TensorFlow.
"""

__version__ = "0.1.0"

__all__ = ["TaggedSentence", "Tagger", "__version__"]


def __getattr__(name: str):
    if name == "Tagger":
        from postagger.tagger import Tagger

        return Tagger
    if name == "TaggedSentence":
        from postagger.decoding import TaggedSentence

        return TaggedSentence
    raise AttributeError(f"module 'postagger' has no attribute {name!r}")
