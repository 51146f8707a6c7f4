"""`postagger tag` in blocks: read as bytes, parsed, tagged and formatted in worker processes
with --jobs, written in input order."""

from __future__ import annotations

import shutil

import pytest
from conftest import DEV, TEST, TRAIN
from typer.testing import CliRunner

from postagger import conllu_io, formats
from postagger.cli import app
from postagger.conllu_io import read_blocks, read_treebank
from postagger.errors import PostaggerError

runner = CliRunner()


@pytest.fixture
def inputs(tmp_path):
    """The sample treebank as CoNLL-U, raw text (a paragraph per sentence) and tokens."""
    conllu = b"".join(p.read_bytes() for p in (TRAIN, DEV, TEST))
    (tmp_path / "in.conllu").write_bytes(conllu)
    sentences = list(read_treebank([TRAIN, DEV, TEST]))
    texts = [
        line.split("=", 1)[1].strip() for s in sentences for line in s.lines if line.startswith("# text")
    ]
    (tmp_path / "in.txt").write_text("".join(t + "\n\n" for t in texts), encoding="utf-8")
    (tmp_path / "in.tok").write_text("".join(" ".join(s.forms) + "\n" for s in sentences), encoding="utf-8")
    return tmp_path


def tag(model, *args: str) -> str:
    result = runner.invoke(app, ["tag", "--model", str(model), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("name,out_fmt", [("in.conllu", "conllu"), ("in.txt", "conllu"),
                                          ("in.tok", "conllu"), ("in.txt", "jsonl")])  # fmt: skip
def test_blocks_and_workers_give_the_output_of_one_block(tiny_model, inputs, monkeypatch, name, out_fmt):
    """Cut into many blocks (7 sentences each), tagged here or by two worker processes, and
    with two files in a row: the same text as one block, sentences numbered throughout."""
    path = str(inputs / name)
    fmt = ["--input-format", "tokens"] if name.endswith(".tok") else []
    whole = tag(tiny_model, path, path, *fmt, "--output-format", out_fmt)
    monkeypatch.setattr(conllu_io, "BLOCK_UNITS", 7)
    assert tag(tiny_model, path, path, *fmt, "--output-format", out_fmt) == whole
    assert tag(tiny_model, path, path, *fmt, "--output-format", out_fmt, "--jobs", "2") == whole
    if out_fmt == "conllu" and name != "in.conllu":
        ids = [line for line in whole.splitlines() if line.startswith("# sent_id = ")]
        assert ids == [f"# sent_id = {n}" for n in range(1, len(ids) + 1)] and len(ids) > 2 * 7 * 2
    if name == "in.conllu":  # every byte but the tag columns is the input's
        assert whole.count("\n") == 2 * (inputs / name).read_text(encoding="utf-8").count("\n")


def test_blocks_hold_whole_sentences_and_know_their_first_line(tmp_path):
    data = b"# a\n1\tx\t_\t_\t_\t_\t_\t_\t_\t_\n\n" * 5 + b"1\ty\t_\t_\t_\t_\t_\t_\t_\t_\n"
    (tmp_path / "a.conllu").write_bytes(data)
    blocks = list(read_blocks(tmp_path / "a.conllu", units=2))
    assert [b.first_line for b in blocks] == [1, 7, 13]  # the last: one sentence and a line
    assert b"".join(b.data for b in blocks) == data
    assert all(b.data.endswith(b"\n\n") for b in blocks[:-1])
    lines = list(read_blocks(tmp_path / "a.conllu", units=4, per_line=True))
    assert [b.first_line for b in lines] == [1, 5, 9, 13] and b"".join(b.data for b in lines) == data
    text = b"no blank line here\n" * 10
    (tmp_path / "a.txt").write_bytes(text)
    cut = list(read_blocks(tmp_path / "a.txt", max_lines=4))
    assert [b.first_line for b in cut] == [1, 5, 9] and b"".join(b.data for b in cut) == text


@pytest.mark.parametrize(
    "bad,message",
    [(b"1\tca\x00t\t_\t_\t_\t_\t_\t_\t_\t_\n", "NUL byte"),
     (b"1\tcaf\xe9\t_\t_\t_\t_\t_\t_\t_\t_\n", "byte 0xe9 at column 6"),
     (b"1\tcat\t_\t_\n", "expected 10 tab-separated columns, found 4")],
)  # fmt: skip
def test_an_error_in_a_later_block_names_its_line_and_leaves_no_output(
    tiny_model, tmp_path, monkeypatch, bad, message
):
    good = b"1\tThe\t_\t_\t_\t_\t_\t_\t_\t_\n2\tcat\t_\t_\t_\t_\t_\t_\t_\t_\n\n"
    (tmp_path / "in.conllu").write_bytes(good * 40 + b"# x\n" + bad + b"\n" + good * 40)
    monkeypatch.setattr(conllu_io, "BLOCK_UNITS", 7)
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}.conllu"
        args = [
            "tag",
            str(tmp_path / "in.conllu"),
            "--model",
            str(tiny_model),
            "-o",
            str(out),
            "--jobs",
            jobs,
        ]
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert f"in.conllu:{40 * 3 + 2}: " in result.stderr and message in result.stderr
        assert "Traceback" not in result.output and not out.exists()
    with pytest.raises(PostaggerError, match=f":{40 * 3 + 2}: "):
        list(conllu_io.read_conllu(tmp_path / "in.conllu"))


@pytest.mark.parametrize("damaged", ["weights.npz", "vocab.json", "config.json"])
def test_a_model_that_fails_in_the_workers_is_one_clear_error(
    tiny_model, inputs, tmp_path, monkeypatch, damaged
):
    """With workers, only they read the model (this process does not wait for it): a
    damaged file is reported from there, as one line, and no output is left."""
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    (broken / damaged).write_bytes((broken / damaged).read_bytes()[:1000])
    monkeypatch.setattr(conllu_io, "BLOCK_UNITS", 7)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "tagged.conllu"
    args = ["tag", str(inputs / "in.conllu"), "--model", str(broken), "--jobs", "2", "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 3, result.output
    assert f"{damaged}: damaged or truncated" in result.stderr and "Traceback" not in result.output
    assert list(out.parent.iterdir()) == []  # no output, no temporary file


def test_raw_text_without_blank_lines_is_read_in_bounded_pieces(
    rules_model, tiny_model, tmp_path, monkeypatch
):
    (tmp_path / "in.txt").write_text("The cat sleeps .\n" * 50, encoding="utf-8")
    whole = tag(rules_model, str(tmp_path / "in.txt"), "--output-format", "inline")
    monkeypatch.setattr(formats, "MAX_PARAGRAPH_LINES", 8)
    assert tag(rules_model, str(tmp_path / "in.txt"), "--output-format", "inline") == whole
    # a segmenter sees less context where a piece is cut, but every token is still there
    cut = tag(tiny_model, str(tmp_path / "in.txt"), "--output-format", "inline")
    assert "".join(pair.rsplit("/", 1)[0] for pair in cut.split()) == "Thecatsleeps." * 50


def test_a_worker_that_dies_is_one_clear_error(tiny_model, inputs, tmp_path):
    """A worker killed (as by the out-of-memory killer) stops tagging with one line, exit 2,
    no output file, and no process left behind (a waiting shutdown could hang for good)."""
    import contextlib
    import os
    import signal
    import subprocess
    import sys
    import time

    exe = os.path.join(os.path.dirname(sys.executable), "postagger")
    big = tmp_path / "big.tok"
    big.write_text((inputs / "in.tok").read_text(encoding="utf-8") * 40, encoding="utf-8")
    out = tmp_path / "out.conllu"
    args = [exe, "tag", str(big), "--input-format", "tokens", "--model", str(tiny_model), "--jobs", "2"]
    proc = subprocess.Popen([*args, "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)  # fmt: skip

    def workers() -> list[int]:  # not multiprocessing's resource tracker
        found = []
        for pid in open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split():
            with contextlib.suppress(OSError):
                if b"spawn_main" in open(f"/proc/{pid}/cmdline", "rb").read():
                    found.append(int(pid))
        return found

    deadline = time.monotonic() + 60
    while not (running := workers()):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    os.kill(running[0], signal.SIGKILL)
    try:
        _, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode == 2, stderr
    message = "postagger: error: a worker process died (killed, or out of memory?); try fewer --jobs"
    assert stderr.decode().strip() == message
    assert not out.exists()


def test_token_ranges_point_into_the_input_across_blocks_and_workers(tiny_model, inputs, monkeypatch):
    """TokenRange=start:end of every token is its characters in the input file (a BOM left
    out), whichever block or worker tagged it; jsonl gives each word's start and end."""
    import json

    path = inputs / "in.txt"
    text = "\ufeffÉté — naïve café.\r\n" + path.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8", newline="")
    monkeypatch.setattr(conllu_io, "BLOCK_UNITS", 7)
    content = text[1:]
    for jobs in ("1", "2"):
        out = tag(tiny_model, str(path), "--jobs", jobs)
        ranges = []
        for line in out.splitlines():
            fields = line.split("\t")
            if len(fields) == 10 and "TokenRange=" in fields[9]:
                start, end = fields[9].split("TokenRange=")[1].split("|")[0].split(":")
                ranges.append((fields[1], int(start), int(end)))
        assert len(ranges) > 1000 and all(content[a:b] == form for form, a, b in ranges)
    spans = []
    for line in tag(tiny_model, str(path), "--output-format", "jsonl", "--jobs", "2").splitlines():
        record = json.loads(line)
        assert len(record["start"]) == len(record["end"]) == len(record["words"])
        spans += [(a, b) for a, b in zip(record["start"], record["end"])]
    assert list(dict.fromkeys(spans)) == [(a, b) for _, a, b in ranges]  # the tokens' spans, in order


def test_lines_input_makes_one_sentence_a_line(tiny_model, tmp_path):
    (tmp_path / "in.txt").write_text("first line. no split here\n\nsecond line\n", encoding="utf-8")
    out = tag(tiny_model, str(tmp_path / "in.txt"), "--input-format", "lines", "--output-format", "jsonl")
    assert [json_words(line) for line in out.splitlines()] == ["firstline.nosplithere", "secondline"]


def json_words(line: str) -> str:
    import json

    return "".join(json.loads(line)["words"])


def test_the_default_uses_the_cores_for_inputs_of_several_blocks(tiny_model, inputs, monkeypatch):
    """No --jobs: one worker per usable core once the input has a second block; one block,
    or --jobs 1, stays in this process."""
    from postagger import pipeline, workers

    started = []

    def recorded(model, engine, jobs, work, tasks):
        started.append(jobs)
        return iter(())  # nothing tagged: only the choice matters here

    monkeypatch.setattr(workers, "usable_cores", lambda: 3)
    monkeypatch.setattr(pipeline, "ordered_map", recorded)
    tag(tiny_model, str(inputs / "in.tok"), "--input-format", "tokens")  # one block
    monkeypatch.setattr(conllu_io, "BLOCK_UNITS", 7)
    tag(tiny_model, str(inputs / "in.tok"), "--input-format", "tokens", "--jobs", "1")
    assert started == []
    tag(tiny_model, str(inputs / "in.tok"), "--input-format", "tokens")
    assert started == [3]


@pytest.mark.slow
@pytest.mark.parametrize(
    "fmt, first, second",
    [("tokens", b"The cat sat .\n", b"Dogs bark .\n"), ("text", b"The cat sat.\n\n", b"Dogs bark.\n\n")],
)
def test_a_live_pipe_is_tagged_line_by_line(rules_model, fmt, first, second):
    """`tail -f log | postagger tag`: each line (tokens) or paragraph (text) comes out as
    soon as it is complete, while stdin stays open (and without workers)."""
    import queue
    import subprocess
    import sys
    import threading
    from pathlib import Path

    exe = str(Path(sys.executable).with_name("postagger"))
    args = [exe, "tag", "--model", str(rules_model), "--input-format", fmt, "--output-format", "inline"]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        for sent, words in ((first, 4), (second, 3)):
            proc.stdin.write(sent)
            proc.stdin.flush()
            line = lines.get(timeout=60)  # never comes if the tagger waits for a full block
            assert len(line.split()) == words and b"/" in line
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()


def test_a_broken_pool_never_leaves_a_result_waited_for_for_ever():
    """Python 3.11's manager thread can stop marking a broken pool's futures half-way (a
    RuntimeError from a concurrent submit): such a future still ends in BrokenProcessPool,
    and that RuntimeError's traceback alone is kept quiet."""
    import threading
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool
    from types import SimpleNamespace

    from postagger import workers

    with pytest.raises(BrokenProcessPool):
        workers._result(Future(), SimpleNamespace(_broken="a child process terminated abruptly"))
    done = Future()
    done.set_result(7)
    assert workers._result(done, SimpleNamespace(_broken=False)) == 7

    seen = []
    workers._previous_excepthook[0], saved = seen.append, workers._previous_excepthook[0]
    try:
        manager = type("_ExecutorManagerThread", (threading.Thread,), {})()
        race = RuntimeError("dictionary changed size during iteration")
        workers._quiet_manager_thread(SimpleNamespace(thread=manager, exc_type=RuntimeError, exc_value=race))
        other = SimpleNamespace(thread=threading.Thread(), exc_type=RuntimeError, exc_value=race)
        workers._quiet_manager_thread(other)
    finally:
        workers._previous_excepthook[0] = saved
    assert seen == [other]
