from __future__ import annotations

import pickle

import pytest
from conftest import DEV, TEST, TRAIN

from postagger.conllu_io import read_treebank


def sentences(n=200):
    return [s.forms for s in read_treebank([TRAIN, DEV, TEST])][:n]


def test_tags_do_not_depend_on_the_batch(tiny_tagger):
    data = sentences()
    assert len(data) == 200
    assert tiny_tagger.tag(data, batch_size=1) == tiny_tagger.tag(data, batch_size=64)


def test_stream_keeps_input_order_across_windows(tiny_tagger):
    data = sentences(50)
    items = [(i, words) for i, words in enumerate(data)]
    out = list(tiny_tagger.tag_stream(items, words=lambda item: item[1], window=7))
    assert [item[0] for item, _ in out] == list(range(50))
    assert [tagged.tags["upos"] for _, tagged in out] == tiny_tagger.tag(data)


def test_empty_sentences_get_empty_tags(tiny_tagger):
    assert tiny_tagger.tag([[], ["Hello"], []])[::2] == [[], []]


def test_a_tagger_pickles_as_its_path(tiny_tagger):
    again = pickle.loads(pickle.dumps(tiny_tagger))
    assert again.path == tiny_tagger.path
    assert again.tag(sentences(5)) == tiny_tagger.tag(sentences(5))


def test_worker_processes_give_the_same_tags_in_the_same_order(tiny_tagger):
    forms = [s.forms for s in read_treebank([TRAIN, DEV, TEST])]
    forms.insert(5, [])
    alone = list(tiny_tagger.tag_stream(forms, window=16))
    workers = list(tiny_tagger.tag_stream(forms, window=16, jobs=2))
    assert workers == alone and len(workers) == len(forms)
    scored = list(tiny_tagger.tag_stream(forms, window=16, jobs=2, top_k=2))
    here = list(tiny_tagger.tag_stream(forms, window=16, top_k=2))
    assert [(item, tagged.tags) for item, tagged in scored] == [(item, tagged.tags) for item, tagged in alone]
    for (_, a), (_, b) in zip(scored, here, strict=True):
        # the workers run one BLAS thread: sums may differ in the last bits
        assert [[t for t, _ in w] for w in a.scores] == [[t for t, _ in w] for w in b.scores]
        assert [p for w in a.scores for _, p in w] == pytest.approx(
            [p for w in b.scores for _, p in w], abs=1e-6
        )


def test_tag_jobs_from_the_command_line(tiny_model, tmp_path):
    from typer.testing import CliRunner

    from postagger.cli import app

    lines = [" ".join(s.forms) for s in read_treebank([TRAIN, DEV, TEST])] * 10  # 2,300 > one window
    (tmp_path / "in.tok").write_text("\n".join(lines) + "\n", encoding="utf-8")
    outputs = []
    for jobs in ("1", "2"):
        args = ["tag", str(tmp_path / "in.tok"), "--model", str(tiny_model), "--input-format", "tokens"]
        result = CliRunner().invoke(app, [*args, "--output-format", "tsv", "--jobs", jobs])
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] and outputs[0].count("\n\n") == len(lines)


def test_the_parallel_tagging_example_runs_with_multiprocessing(tiny_model, tmp_path):
    """docs/examples/parallel_tagging.py: the per-partition function that PySpark's
    mapPartitions would call, run here by a multiprocessing pool."""
    import subprocess
    import sys
    from pathlib import Path

    from postagger import Tagger

    example = Path(__file__).resolve().parent.parent / "docs" / "examples" / "parallel_tagging.py"
    sentences = [s.forms for s in read_treebank([TRAIN, DEV, TEST])]
    source = tmp_path / "corpus.txt"
    source.write_text("".join(" ".join(s) + "\n" for s in sentences), encoding="utf-8")
    target = tmp_path / "tagged.txt"
    subprocess.run(
        [sys.executable, str(example), "local", str(source), str(target), "--model", str(tiny_model),
         "--processes", "2", "--chunk-lines", "40"],
        check=True, timeout=300,
    )  # fmt: skip
    expected = Tagger.load(tiny_model).tag(sentences)
    got = [[pair.rsplit("/", 1)[1] for pair in line.split()] for line in target.read_text().splitlines()]
    assert got == expected


def test_a_stream_lets_each_window_go_before_reading_the_next(tiny_tagger):
    """Memory is bounded by one window: items already tagged are not kept alive."""
    import gc
    import weakref

    class Item:
        def __init__(self, words):
            self.words = words

    def items():
        for _ in range(10):
            for forms in [["A", "test", "."], ["Another", "one", "."]] * 2:
                yield Item(forms)

    alive = []
    for n, (item, _) in enumerate(tiny_tagger.tag_stream(items(), words=lambda it: it.words, window=4)):
        alive.append(weakref.ref(item))
        del item
        if n == 13:  # inside the fourth window: the first two are gone
            gc.collect()
            assert not any(ref() for ref in alive[:8])


KILL_A_WORKER = """
import multiprocessing, os, signal, sys, time
from postagger import Tagger
from postagger.errors import PostaggerError

def items():
    for n in range(100_000):
        if n == 3000:  # the workers are busy with the first windows: one of them dies
            os.kill(multiprocessing.active_children()[0].pid, signal.SIGKILL)
        yield ["A", "test", "sentence", "."]

if __name__ == "__main__":
    try:
        for _ in Tagger.load(sys.argv[1]).tag_stream(items(), window=500, jobs=2):
            pass
    except PostaggerError as err:
        print(err)
    deadline = time.monotonic() + 10  # the others were told to stop, not waited for
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    print("left:", len(multiprocessing.active_children()))
"""


def test_a_worker_that_dies_under_tag_stream_is_one_clear_error(tiny_model, tmp_path):
    """The same pool as `tag --jobs`: a killed worker (as by the out-of-memory killer) stops
    the stream with one PostaggerError, and no worker is left running (or hanging)."""
    import subprocess
    import sys

    script = tmp_path / "kill.py"
    script.write_text(KILL_A_WORKER, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script), str(tiny_model)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    died = "a worker process died (killed, or out of memory?); try fewer --jobs"
    assert result.stdout.splitlines() == [died, "left: 0"], result.stdout + result.stderr[-2000:]
