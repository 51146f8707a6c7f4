"""Pretrained word vectors: fastText `.bin`, word2vec-text `.vec` and `.vec.gz`.

Text files are read as a stream: only the rows a vocabulary needs (plus the first N other
words, for `--extend-vocab`) are kept, so memory grows with the words kept, never with the
file. Every block of lines is checked for the right number of fields (a bad block is then
walked line by line to name the bad line); the floats of the rows kept are parsed and
checked. fastText `.bin` models (through the `fasttext` package) also give vectors for words
without a row of their own, built from their character n-grams.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from postagger.errors import MissingExtra, PostaggerError
from postagger.jsonfile import read_json_object
from postagger.vocab import PAD_ID, Index, Vocabulary


@dataclass
class VectorTable:
    """Rows read from a vectors file: the wanted words found, the first `extra` other words in
    file order (fastText and word2vec files are sorted by frequency), and for `.bin` files a
    function giving a vector for any word."""

    dim: int
    rows: dict[str, np.ndarray]
    extra: list[tuple[str, np.ndarray]] = field(default_factory=list)
    subword: Callable[[str], np.ndarray] | None = None


def is_binary(path: str | Path) -> bool:
    return str(path).lower().endswith(".bin")


def read_vectors(path: str | Path, wanted: set[str], extra: int = 0) -> VectorTable:
    """The rows of `wanted` words (and `extra` further words) from a .bin, .vec or .vec.gz file."""
    path = Path(path)
    if not path.exists():
        raise PostaggerError("no such file", path)
    if path.is_dir():
        raise PostaggerError("is a directory, expected a vectors file (.bin, .vec, .vec.gz)", path)
    if is_binary(path):
        return _read_bin(path, wanted, extra)
    return _read_text(path, wanted, extra)


def import_fasttext():
    """The fasttext module, or a clear error naming the extra that brings it."""
    try:
        import fasttext
    except ImportError:
        raise MissingExtra("fastText", "fastText .bin vectors and `vectors train` need it") from None
    return fasttext


def load_fasttext(path: str | Path):
    """A fastText model from a .bin file, with a clear error for anything else."""
    fasttext = import_fasttext()

    try:
        return fasttext.load_model(str(path))
    except ValueError as err:
        raise PostaggerError(f"not a fastText .bin model ({err})", path) from None


def _read_bin(path: Path, wanted: set[str], extra: int) -> VectorTable:
    model = load_fasttext(path)
    dim = model.get_dimension()
    rows = {w: model.get_word_vector(w) for w in wanted if model.get_word_id(w) >= 0}
    others = []
    if extra:
        for w in model.words:
            if len(others) >= extra:
                break
            if w not in wanted and w != "</s>":
                others.append((w, model.get_word_vector(w)))
    return VectorTable(dim, rows, others, subword=model.get_word_vector)


_BLOCK_BYTES = 1 << 23


def _open_blocks(path: Path) -> Iterator[bytes]:
    """The file's first line alone, then blocks of about 8 MiB of whole lines."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as stream:
            yield stream.readline()
            while block := stream.read(_BLOCK_BYTES):
                if not block.endswith(b"\n"):
                    block += stream.readline()
                yield block
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
        raise PostaggerError(f"cannot read: {err}", path) from None


def _read_text(path: Path, wanted: set[str], extra: int) -> VectorTable:
    """Stream a word2vec-text file, block by block.

    Each block is checked as a whole with a few NumPy counts: its lines must hold
    exactly `dim` separating spaces each (fastText writes a space before each line's end; it
    is allowed). Only a block that fails the check is walked line by line, to name the first
    bad line. The words are then compared as bytes, and only the rows kept are decoded and
    their floats parsed and checked.
    """
    reader = _TextReader(path, {w.encode("utf-8") for w in wanted}, extra)
    blocks = _open_blocks(path)
    first = next(blocks)
    if not first:
        raise PostaggerError("no vectors in the file", path)
    reader.dim = _header(path, first)
    number = 1 if reader.dim is not None else 0  # lines before the next block
    if reader.dim is None:  # no header: the first line is a row and gives the dimension
        first = first.removeprefix(b"\xef\xbb\xbf")
        reader.dim = _fields(path, first.removesuffix(b"\n"), 1)
        blocks = itertools.chain([first], blocks)
    for block in blocks:
        number = reader.read_block(block, number)
    return VectorTable(reader.dim, reader.rows, reader.others)


def _fields(path: Path, line: bytes, number: int) -> int | None:
    """How many values follow the word on `line`; None for a blank line."""
    cut = line.find(b" ")
    if cut <= 0:
        if line.strip():
            raise PostaggerError("expected a word followed by its values", path, number)
        return None
    end = len(line) - line.endswith(b"\r")
    return line.count(b" ", cut, end) - (line[end - 1 : end] == b" ")


@dataclass
class _TextReader:
    path: Path
    wanted: set[bytes]
    extra: int
    dim: int | None = None
    rows: dict[str, np.ndarray] = field(default_factory=dict)
    others: list[tuple[str, np.ndarray]] = field(default_factory=list)
    kept: set[bytes] = field(default_factory=set)

    def read_block(self, block: bytes, number: int) -> int:
        """Check and read the lines of `block`, which follows line `number`; returns the
        number of its last line."""
        a = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(a == 10)  # each line's end (exclusive)
        if not len(ends) or ends[-1] != len(a) - 1:
            ends = np.append(ends, len(a))  # a last line without a newline
        starts = np.concatenate(([0], ends[:-1] + 1))
        if self._well_formed(a, starts, ends):
            lines = None
            words = _first_words(block, a, starts)
        else:  # walk the block line by line: skip blank lines, name the first bad one
            lines = self._check_lines(block.split(b"\n"), number)
            words = [line[: line.find(b" ")] for line in lines]
        wanted, kept = self.wanted, self.kept
        room = self.extra - len(self.others)
        picked = []
        for i, word in enumerate(words):
            if (word in wanted or room > 0) and word and word not in kept:
                kept.add(word)
                line = block[starts[i] : ends[i]] if lines is None else lines[i]
                picked.append((number + i + 1, word, line))
                if word not in wanted:
                    room -= 1
        if picked:
            self._parse(picked)
        return number + len(ends)

    def _well_formed(self, a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> bool:
        """Whether every line of a block (its bytes `a`) holds a word and `dim` values, from
        counts NumPy makes over the whole block: its spaces, less the spaces that end a
        line, must be `dim` a line; no line may be blank or start with a space. Two opposite
        errors within one block could cancel out; each row kept is checked again when parsed."""
        if (ends - starts < 2).any() or (a[starts] == 32).any():
            return False
        last = a[ends - 1]
        trailing = np.count_nonzero(last == 32) + np.count_nonzero((last == 13) & (a[ends - 2] == 32))
        return int(np.count_nonzero(a == 32)) - trailing == len(starts) * self.dim

    def _check_lines(self, lines: list[bytes], number: int) -> list[bytes]:
        """Name the first bad line of a block, or return its lines with the blank ones
        emptied (to keep the line numbers)."""
        if lines[-1] == b"":
            lines.pop()
        good = []
        for i, line in enumerate(lines):
            fields = _fields(self.path, line, number + i + 1)
            if fields is None:
                good.append(b"")
                continue
            if fields != self.dim:
                raise self._ragged(fields, number + i + 1)
            good.append(line)
        return good

    def _parse(self, picked: list[tuple[int, bytes, bytes]]) -> None:
        """Decode the words and parse the values of the rows kept, all at once where they
        are well formed; one row at a time to name a bad line."""
        values = io.BytesIO(b"\n".join(line[len(word) + 1 :] for _, word, line in picked))
        try:
            matrix = np.loadtxt(values, dtype=np.float32, ndmin=2, comments=None, quotechar=None)
            ok = matrix.shape == (len(picked), self.dim) and bool(np.isfinite(matrix).all())
        except ValueError:
            ok = False
        if not ok:
            matrix = np.stack([self._parse_row(number, word, line) for number, word, line in picked])
        for (number, word, _), vector in zip(picked, matrix):
            try:
                text = word.decode("utf-8")
            except UnicodeDecodeError:
                raise PostaggerError("the word is not valid UTF-8", self.path, number) from None
            if word in self.wanted:
                self.rows[text] = vector
            else:
                self.others.append((text, vector))

    def _parse_row(self, number: int, word: bytes, line: bytes) -> np.ndarray:
        try:
            vector = np.array(line[len(word) + 1 :].split(), dtype=np.float32)
        except ValueError:
            raise PostaggerError("a value is not a number", self.path, number) from None
        if vector.size != self.dim:
            raise self._ragged(vector.size, number)
        if not np.isfinite(vector).all():
            raise PostaggerError("a value is not a finite number", self.path, number)
        return vector

    def _ragged(self, found: int, number: int) -> PostaggerError:
        return PostaggerError(
            f"expected a word and {self.dim} values, found {found} values (ragged row or wrong dimension)",
            self.path,
            number,
        )


def _first_words(block: bytes, a: np.ndarray, starts: np.ndarray, window: int = 32) -> list[bytes]:
    """The word (the bytes up to the first space) of each line starting at `starts`: NumPy
    finds the space within the first `window` bytes; longer words are searched for."""
    positions = np.minimum(starts[:, None] + np.arange(window), len(a) - 1)
    spaces = a[positions] == 32
    lengths = np.where(spaces.any(1), spaces.argmax(1), -1).tolist()
    return [
        block[s : s + n] if n >= 0 else block[s : block.find(b" ", s)]
        for s, n in zip(starts.tolist(), lengths)
    ]


def _header(path: Path, raw: bytes) -> int | None:
    """The dimension from a 'COUNT DIM' header line, or None when the first line is a row."""
    parts = raw.removeprefix(b"\xef\xbb\xbf").split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        if int(parts[1]) < 1:
            raise PostaggerError("header gives a dimension of 0", path, 1)
        return int(parts[1])
    if len(parts) < 2 or (len(parts) == 2 and parts[0].isdigit()):
        raise PostaggerError("bad header: expected 'WORDS DIMENSION' or a first vector row", path, 1)
    return None


def wanted_words(vocab: Vocabulary) -> set[str]:
    """The rows a vocabulary can use: every word form (reserved ids aside) and its lower case."""
    forms = vocab.words.items[2:]
    return set(forms) | {f.lower() for f in forms}


@dataclass
class Alignment:
    """An embedding matrix for a vocabulary (possibly extended), and how it was filled:
    `anchors` are the ids of the training words whose row came from the vectors (exact or
    lower-cased form, not subword or random)."""

    vocab: Vocabulary
    matrix: np.ndarray
    coverage: dict
    anchors: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def align(vocab: Vocabulary, path: str | Path, extend_vocab: int = 0, seed: int = 1) -> Alignment:
    """Fill an embedding matrix from pretrained vectors: exact form, else lower-cased form, else
    (fastText .bin) subword vector, else random at the scale of the pretrained vectors.

    With `extend_vocab`, up to that many of the most frequent pretrained words missing from
    the vocabulary are added, so words unseen in training but known to the vectors get a real
    embedding at tagging time. Their training count stays 0, so they still count as OOV.
    """
    forms = vocab.words.items[2:]
    table = read_vectors(path, wanted_words(vocab), extra=extend_vocab)
    known = set(vocab.words.items)
    added = [(w, v) for w, v in table.extra if w not in known][:extend_vocab]
    if added:
        vocab = dataclasses.replace(vocab, words=Index([*vocab.words.items, *(w for w, _ in added)]))
    found = [*table.rows.values(), *(v for _, v in added)]
    scale = float(np.std(np.stack(found))) if found else 0.1
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, scale, size=(len(vocab.words), table.dim)).astype(np.float32)
    matrix[PAD_ID] = 0.0  # the unknown word (UNK_ID) keeps its random row
    kinds = {"exact": [], "lower": [], "subword": [], "missing": []}
    anchors = []
    for i, form in enumerate(vocab.words.items[2 : len(forms) + 2], 2):
        if form in table.rows:
            matrix[i], kind = table.rows[form], "exact"
        elif form.lower() in table.rows:
            matrix[i], kind = table.rows[form.lower()], "lower"
        elif table.subword is not None:
            matrix[i], kind = table.subword(form), "subword"
        else:
            kind = "missing"
        kinds[kind].append(form)
        if kind in ("exact", "lower"):
            anchors.append(i)
    for i, (_, vector) in enumerate(added, len(forms) + 2):
        matrix[i] = vector
    total_tokens = sum(vocab.word_counts.get(f, 0) for f in forms) or 1
    coverage = {
        "vectors": Path(path).name,
        "dim": table.dim,
        "types": {k: len(v) for k, v in kinds.items()},
        "tokens": {k: sum(vocab.word_counts.get(f, 0) for f in v) / total_tokens for k, v in kinds.items()},
        "added_words": len(added),
        "scale": scale,
    }
    return Alignment(vocab, matrix, coverage, np.array(anchors, np.int64))


def follow_neighbours(
    matrix: np.ndarray, anchors: np.ndarray, started: np.ndarray, added: int, k: int
) -> np.ndarray:
    """The fine-tuned embedding `matrix` with its last `added` rows (the `--extend-vocab`
    words, which training never updates) moved as fine-tuning moved their neighbours.

    Fine-tuning moves the training words' rows away from the pretrained space; the added rows
    stay in it, so a word unseen in training but known to the vectors lands where the tagger
    no longer looks. Each added row is shifted by the mean displacement (trained row minus
    `started`, its pretrained row) of its `k` nearest `anchors` (training words that started
    from a pretrained row; cosine in the pretrained space), weighted by their similarity —
    a local version of mapping pretrained rows into the task-trained space (Madhyastha et al.
    2016). Returns a new matrix; `matrix` is left as it is.
    """
    out = np.array(matrix, np.float32)
    if not added or not k or not len(anchors):
        return out
    k = min(k, len(anchors))
    rows = out[len(out) - added :]  # still the pretrained values
    displacement = out[anchors] - started
    unit = started / np.maximum(np.linalg.norm(started, axis=1, keepdims=True), 1e-12)
    step = 1024  # added rows at a time: a (step × anchors) similarity matrix, 74 MB for 18,000 anchors
    for lo in range(0, added, step):
        block = rows[lo : lo + step]
        similar = (block / np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)) @ unit.T
        nearest = np.argpartition(-similar, k - 1, axis=1)[:, :k]
        weight = np.maximum(np.take_along_axis(similar, nearest, 1), 0.0) + 1e-6
        shift = np.einsum("nk,nkd->nd", weight, displacement[nearest]) / weight.sum(1, keepdims=True)
        rows[lo : lo + step] = block + shift
    return out


def fingerprint(path: str | Path) -> dict:
    """Name, size and SHA-256 of the first 16 MiB: enough to tell vectors files apart cheaply;
    and, from `FILE.source.json` beside it when there is one (`bench/glove_vectors.py` writes
    it), where the vectors come from and their licence."""
    path = Path(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        digest.update(f.read(16 << 20))
    found = {"name": path.name, "bytes": path.stat().st_size, "sha256_16mib": digest.hexdigest()}
    source = path.with_name(path.name + ".source.json")
    if source.is_file():
        found["source"] = read_json_object(source, "no such file", "not a JSON source description")
    return found


def train_vectors(
    text: str | Path,
    output: str | Path,
    dim: int = 100,
    epochs: int = 5,
    min_count: int = 5,
    threads: int = 0,
) -> dict:
    """Train skipgram fastText vectors on raw text and write a .bin model atomically."""
    fasttext = import_fasttext()

    text, output = Path(text), Path(output)
    if not text.is_file():
        raise PostaggerError("no such file", text)
    if not output.parent.exists():
        raise PostaggerError("output folder does not exist", output.parent)
    try:
        model = fasttext.train_unsupervised(
            str(text), model="skipgram", dim=dim, epoch=epochs, minCount=min_count,
            thread=threads or os.cpu_count() or 1, verbose=0,
        )  # fmt: skip
    except (ValueError, RuntimeError) as err:  # "Empty vocabulary. Try a smaller -minCount value."
        raise PostaggerError(
            f"cannot train vectors: {err} (lower --min-count or give more text)", text
        ) from None
    tmp = output.with_name(f".{output.name}.tmp")
    try:
        model.save_model(str(tmp))
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return {"words": len(model.words), "dim": dim}


def nearest(
    matrix: np.ndarray, words: list[str], query: np.ndarray, k: int, exclude: Iterable[str] = ()
) -> list[tuple[str, float]]:
    """The k rows most similar to `query` by cosine similarity."""
    norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
    sims = matrix @ query / np.where(norms == 0, 1.0, norms)
    skip = set(exclude)
    out = []
    for i in np.argsort(-sims):
        if words[i] not in skip:
            out.append((words[i], float(sims[i])))
            if len(out) == k:
                break
    return out


def embedding_rows(source: str | Path, limit: int) -> tuple[list[str], np.ndarray, Callable | None]:
    """(words, vectors, subword function or None) from a vectors file or a trained model's own
    word embedding layer (reserved ids left out)."""
    source = Path(source)
    if source.is_dir():
        from postagger.modeldir import WEIGHTS_FILE, load_model_info, read_weight_arrays

        info = load_model_info(source)
        if info.config.word_repr == "chars":
            raise PostaggerError(
                "the model has no word embedding (it was trained with --word-repr chars)", source
            )
        if info.weights_path.name == WEIGHTS_FILE:  # a plain array: no need to build the network
            matrix = read_weight_arrays(info.weights_path)["word_embedding/0"]
        else:  # an older directory with model.keras only
            from postagger.engines import load_keras_model

            matrix = np.asarray(load_keras_model(info).get_layer("word_embedding").get_weights()[0])
        # with --dual-embeddings the trained embedding covers the training words only
        return info.vocab.words.items[2 : len(matrix)][:limit], matrix[2:][:limit], None
    if not source.exists():
        raise PostaggerError("no such file or model directory", source)
    if is_binary(source):
        model = load_fasttext(source)
        words = [w for w in model.words if w != "</s>"][:limit]
        matrix = np.stack([model.get_word_vector(w) for w in words]) if words else np.zeros((0, 1))
        return words, matrix, model.get_word_vector
    table = _read_text(source, set(), extra=limit)
    words = [w for w, _ in table.extra]
    matrix = np.stack([v for _, v in table.extra]) if words else np.zeros((0, table.dim))
    return words, matrix, None


def extract(source: str | Path, vocab: Vocabulary, output: str | Path, extend_vocab: int = 0) -> dict:
    """Write a small .vec with the rows `vocab` needs (exact and lower-cased forms; from a .bin
    also subword vectors for vocabulary words it has no row for) plus `extend_vocab` further
    frequent words, so that a huge vectors file is read once."""
    from postagger.atomic import atomic_output

    forms = vocab.words.items[2:]
    table = read_vectors(source, wanted_words(vocab), extra=extend_vocab)
    rows = dict(table.rows)
    if table.subword is not None:
        for form in forms:
            if form not in rows and form.lower() not in rows:
                rows[form] = table.subword(form)
    rows.update((w, v) for w, v in table.extra if w not in rows)
    with atomic_output(output, newline="\n") as out:
        out.write(f"{len(rows)} {table.dim}\n")
        for word, vector in rows.items():
            out.write(word + " " + " ".join(f"{x:.6g}" for x in vector) + "\n")
    return {"words": len(rows), "dim": table.dim, "from_vocabulary": len(rows) - len(table.extra)}


def export_projector(source: str | Path, output_dir: str | Path, limit: int = 100_000) -> dict:
    """vectors.tsv and metadata.tsv (one word per line, same order) for TensorBoard's projector."""
    from postagger.atomic import atomic_output

    words, matrix, _ = embedding_rows(source, limit)
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise PostaggerError("exists and is not a directory", out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_output(out / "vectors.tsv", newline="\n") as f:
        for row in matrix:
            f.write("\t".join(f"{x:.6g}" for x in row) + "\n")
    with atomic_output(out / "metadata.tsv", newline="\n") as f:
        for word in words:
            # the projector reads one label per line: tabs and line breaks would shift rows
            f.write(word.replace("\t", " ").replace("\n", " ") + "\n")
    return {"words": len(words), "dim": int(matrix.shape[1]) if len(words) else 0}
