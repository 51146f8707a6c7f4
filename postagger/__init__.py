"""postagger: a part-of-speech tagger for Universal Dependencies treebanks (BiLSTM, Keras 3).

`from postagger import Tagger` gives the Python API; TensorFlow is imported only when a
model is loaded, so importing this package is cheap.
"""

__version__ = "0.1.0"

from postagger.tagger import Tagger  # noqa: E402

__all__ = ["Tagger", "__version__"]
