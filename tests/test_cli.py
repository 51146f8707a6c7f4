"""The command line, through Typer's CliRunner (stdout and stderr apart) and one subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEV, TEST, TRAIN, conllu_block, write
from typer.testing import CliRunner

from postagger.cli import app
from postagger.conllu_io import read_treebank

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def assert_clean_error(result, code, *fragments):
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("postagger: error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def test_vocab_writes_json_and_summarises_on_stderr(tmp_path):
    result = run("vocab", TRAIN, "-o", tmp_path / "v.json", "--min-count", "2")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "v.json").read_text())
    assert data["words"][:2] == ["<pad>", "<unk>"] and data["tags"]["upos"][0] == "<pad>"
    assert result.stdout == "" and "coverage of training tokens" in result.stderr


@pytest.mark.slow
def test_train_with_a_vocabulary_file_then_info(tmp_path):
    assert run("vocab", TRAIN, "-o", tmp_path / "v.json").exit_code == 0
    result = run(
        "train", TRAIN, "--dev", DEV, "-o", tmp_path / "m", "--vocab", tmp_path / "v.json", "--no-segmenter",
        "--epochs", "1", "--lstm-units", "8", "--lstm-layers", "1", "--word-dim", "8", "--char-filters", "8",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "epoch   1" in result.stderr and "best epoch 1" in result.stderr and result.stdout == ""
    info = run("info", tmp_path / "m", "--json")
    record = json.loads(info.stdout)
    assert record["treebank"] == "en_ewt-sample-train" and record["column"] == "upos"
    assert record["config"]["lstm_units"] == 8
    assert "tensorflow" in record["provenance"]["libraries"]
    assert "--vocab" in record["provenance"]["command"]
    assert "Model" in run("info", tmp_path / "m").stdout


def test_evaluate_json_matches_the_scores_recorded_at_training(tiny_model):
    result = run("evaluate", DEV, "--model", tiny_model, "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    for key in ("tokens", "upos", "oov_tokens", "upos_oov", "per_tag"):
        assert key in scores
    recorded = json.loads((tiny_model / "metrics.json").read_text())["dev"]
    assert scores["upos"] == recorded["upos"]  # the saved weights are the evaluated ones
    assert scores["tokens"] == 960


def test_evaluate_tables(tiny_model):
    result = run("evaluate", TEST, "--model", tiny_model)
    assert result.exit_code == 0
    assert "unseen (OOV)" in result.stdout and "Per tag" in result.stdout and "confusions" in result.stdout


def test_evaluate_predictions_against_gold(tmp_path, tiny_model):
    pred = tmp_path / "pred.conllu"
    assert run("tag", TEST, "--model", tiny_model, "-o", pred).exit_code == 0
    by_model = json.loads(run("evaluate", TEST, "--model", tiny_model, "--json").stdout)
    by_file = json.loads(run("evaluate", TEST, "--pred", pred, "--model", tiny_model, "--json").stdout)
    assert by_file["upos"] == by_model["upos"] and by_file["upos_oov"] == by_model["upos_oov"]
    assert by_file["conll18"]["upos"]["f1"] == by_file["upos"]  # the same words: F1 is accuracy
    other = write(tmp_path / "other.conllu", conllu_block("1 Completely X", "2 different X"))
    assert_clean_error(run("evaluate", TEST, "--pred", other), 2, "other.conllu:1:", "the text differs")


def test_evaluate_raw_text_output_as_conll_2018_does(tiny_model, tmp_path):
    """--raw tags the gold file's own raw text; --pred scores a file tagged from it the same."""
    from postagger.conll18 import raw_text

    text = write(tmp_path / "test.txt", raw_text(read_treebank([TEST])))
    pred = tmp_path / "pred.conllu"
    assert run("tag", text, "--model", tiny_model, "-o", pred).exit_code == 0
    by_raw = json.loads(run("evaluate", TEST, "--raw", "--model", tiny_model, "--json").stdout)
    by_file = json.loads(run("evaluate", TEST, "--pred", pred, "--model", tiny_model, "--json").stdout)
    assert by_raw["conll18"] == by_file["conll18"] and "upos" not in by_file  # no per-word accuracy
    assert list(by_raw["conll18"]) == ["tokens", "sentences", "words", "upos"]
    # the tiny model's segmenter learnt from 150 sentences for three epochs
    assert 0.5 < by_raw["conll18"]["tokens"]["f1"] < 1 and 0.3 < by_raw["conll18"]["upos"]["f1"] < 1
    table = run("evaluate", TEST, "--raw", "--model", tiny_model).stdout
    assert "CoNLL 2018" in table and "Sentences" in table
    assert_clean_error(run("evaluate", TEST, "--raw", "--pred", pred), 2, "leave out --pred")


@pytest.mark.parametrize(
    ("fmt", "check"),
    [
        ("inline", lambda out: out.splitlines()[0].startswith("This/")),
        ("tsv", lambda out: out.split("\n\n")[0].splitlines()[0].startswith("This\t")),
        ("jsonl", lambda out: json.loads(out.splitlines()[0])["words"][0] == "This"),
        ("conllu", lambda out: out.startswith("# sent_id = 1\n# text = This is")),
    ],
)
def test_tag_text_in_every_output_format(tiny_model, fmt, check):
    result = run("tag", "--model", tiny_model, "--output-format", fmt, input="This is a test. Is it?\n")
    assert result.exit_code == 0, result.output
    assert check(result.stdout)
    assert result.stderr == ""


def test_tag_text_writes_multiword_tokens_and_space_after(rules_model):
    """A model without a segmenter splits raw text by its rules, as before segmenters."""
    out = run("tag", "--model", rules_model, input="I don't know.\n").stdout
    assert "2-3\tdon't\t" in out and "\tSpaceAfter=No" in out
    import conllu

    [sentence] = conllu.parse(out)
    assert [t["form"] for t in sentence if isinstance(t["id"], int)] == ["I", "do", "n't", "know", "."]
    ranged = [t for t in sentence if not isinstance(t["id"], int) or t["id"] in (1, 4, 5)]
    assert [t["misc"]["TokenRange"] for t in ranged] == ["0:1", "2:7", "8:12", "12:13"]


def test_tag_tokens_keeps_one_line_per_sentence(tiny_model):
    text = "Hello world !\n\nOne more\n"
    out = run(
        "tag", "--model", tiny_model, "--input-format", "tokens", "--output-format", "inline", input=text
    )
    lines = out.stdout.split("\n")
    assert len(lines) == 4 and lines[1] == "" and lines[0].startswith("Hello/")


def test_tag_conllu_changes_only_the_upos_column(tiny_model, tmp_path):
    original = TEST.read_bytes().replace(b"\n", b"\r\n", 40)  # some CRLF lines too
    src = tmp_path / "in.conllu"
    src.write_bytes(original)
    result = run("tag", src, "--model", tiny_model)
    assert result.exit_code == 0
    out = result.stdout_bytes
    before, after = original.split(b"\n"), out.split(b"\n")
    assert len(before) == len(after)
    changed = 0
    for b, a in zip(before, after):
        if b.startswith(b"#") or b"\t" not in b:
            assert a == b
            continue
        bf, af = b.split(b"\t"), a.split(b"\t")
        assert bf[:3] + bf[4:] == af[:3] + af[4:]
        changed += bf[3] != af[3]
    assert 0 < changed  # tags were really (re)written by the model


def test_tag_input_format_from_extension_and_several_files(rules_model, tmp_path):
    text = write(tmp_path / "a.txt", "Hello there.\n")
    result = run("tag", text, TEST, "--model", rules_model, "--output-format", "jsonl")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["text"] == "Hello there." and "sent_id" in records[1]
    assert len(records) == 1 + 40


def test_tag_output_file_is_atomic(tiny_model, tmp_path):
    out = tmp_path / "out.conllu"
    bad = write(tmp_path / "bad.conllu", conllu_block("1 fine X") + "1\tbroken\n\n")
    result = run("tag", TEST, bad, "--model", tiny_model, "-o", out)
    assert_clean_error(result, 2, "bad.conllu:3:", "expected 10 tab-separated columns")
    assert list(tmp_path.iterdir()) == [bad]  # no output, no temp file
    assert run("tag", TEST, "--model", tiny_model, "-o", out).exit_code == 0
    assert out.read_text().count("# sent_id") == 40


def test_bad_inputs_give_one_line_errors(tiny_model, tmp_path):
    assert_clean_error(
        run("tag", tmp_path / "missing.txt", "--model", tiny_model), 2, "missing.txt", "no such file"
    )
    assert_clean_error(run("tag", tmp_path, "--model", tiny_model), 2, "is not a file")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("ok\ncaf\xe9\n".encode("latin-1"))
    assert_clean_error(run("tag", latin, "--model", tiny_model), 2, "latin.txt:2:", "not valid UTF-8")
    nonint = write(tmp_path / "x.conllu", "1.5x\ta\t_\tX\t_\t_\t_\t_\t_\t_\n")
    assert_clean_error(run("tag", nonint, "--model", tiny_model), 2, "x.conllu:1:", "invalid ID")
    assert_clean_error(run("evaluate", nonint, "--model", tiny_model), 2, "x.conllu:1:")
    assert_clean_error(run("vocab", nonint, "-o", tmp_path / "v.json"), 2, "x.conllu:1:")
    assert not (tmp_path / "v.json").exists()
    assert_clean_error(run("tag", "--model", tmp_path / "nomodel"), 3, "no such model directory")
    assert_clean_error(run("train", nonint, "--dev", nonint, "-o", tmp_path / "m"), 2, "x.conllu:1:")
    assert not (tmp_path / "m").exists()


def test_empty_input_gives_empty_output(tiny_model, tmp_path):
    empty = write(tmp_path / "empty.conllu", "")
    result = run("tag", empty, "--model", tiny_model)
    assert result.exit_code == 0 and result.stdout == ""
    assert run("tag", "--model", tiny_model, input="").stdout == ""
    assert_clean_error(run("vocab", empty, "-o", tmp_path / "v.json"), 2, "no sentences")


def test_a_sentence_of_5000_tokens(tiny_model):
    words = " ".join(["word"] * 5000)
    result = run(
        "tag", "--model", tiny_model, "--input-format", "tokens", "--output-format", "tsv", input=words
    )
    assert result.exit_code == 0
    assert len(result.stdout.strip().splitlines()) == 5000


def test_bad_option_values_are_usage_errors():
    result = run("tag", "--output-format", "xml")
    assert result.exit_code == 2 and "xml" in result.output


def test_help_and_argument_errors_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "from postagger.cli import app\n"
        "from typer.testing import CliRunner\n"
        "r = CliRunner()\n"
        "assert r.invoke(app, ['--help']).exit_code == 0\n"
        "assert r.invoke(app, ['tag', '--help']).exit_code == 0\n"
        "assert r.invoke(app, ['train']).exit_code == 2\n"
        "assert r.invoke(app, ['info']).exit_code == 0\n"
        # options that contradict each other or leave their range: refused before TensorFlow
        f"run = ['train', {str(TRAIN)!r}, '--dev', {str(DEV)!r}, '-o', 'never-written']\n"
        "bad = r.invoke(app, [*run, '--freeze-embeddings'])\n"
        "assert bad.exit_code == 2 and 'needs pretrained vectors (--vectors)' in bad.stderr, bad.output\n"
        "bad = r.invoke(app, [*run, '--dropout', '1'])\n"
        "assert bad.exit_code == 2 and 'dropout must be >= 0 and < 1' in bad.output, bad.output\n"
        "assert r.invoke(app, [*run, '--strategy', 'everywhere']).exit_code == 2\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow imported'\n"
        # a third of the start-up time with typer 0.29 (pyproject.toml pins below it)
        "assert 'pydantic' not in sys.modules, 'pydantic imported (typer >= 0.29?)'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent)


def test_tagging_in_a_pipeline_imports_neither_rich_nor_tensorflow(rules_model, tmp_path):
    """Start-up time: with stderr not a terminal there is no progress display to import."""
    (tmp_path / "in.txt").write_text("The cat sat .\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from postagger.cli import main\n"
        f"sys.argv = ['postagger', 'tag', {str(tmp_path / 'in.txt')!r}, '--model', {str(rules_model)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "loaded = [m for m in ('rich', 'rich.console', 'tensorflow', 'pydantic') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "\tThe\t" in done.stdout


def test_console_script_in_a_pipeline(rules_model):
    exe = os.path.join(os.path.dirname(sys.executable), "postagger")
    proc = subprocess.run(
        [exe, "tag", "--model", str(rules_model), "--output-format", "tsv"],
        input="The cat sat on the mat.\n", capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = [line.split("\t") for line in proc.stdout.splitlines() if line]
    assert [r[0] for r in rows] == ["The", "cat", "sat", "on", "the", "mat", "."]
    assert proc.stderr == ""
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("postagger ")


def test_worker_processes_skip_the_console_script(monkeypatch):
    """Spawned workers (`tag --jobs`) re-run the parent's main script unless it is a
    package's __main__: the console script marks itself as postagger.__main__, so that they
    do not import the whole command line."""
    import multiprocessing.spawn
    import types

    from postagger.cli import _run_as_package_main

    script = types.ModuleType("__main__")
    script.__file__, script.__spec__ = os.path.join(os.path.dirname(sys.executable), "postagger"), None
    monkeypatch.setitem(sys.modules, "__main__", script)
    assert "init_main_from_path" in multiprocessing.spawn.get_preparation_data("worker")
    _run_as_package_main()
    data = multiprocessing.spawn.get_preparation_data("worker")
    assert "init_main_from_path" not in data and data["init_main_from_name"] == "postagger.__main__"


WITHOUT_TRAIN_EXTRA = (
    "import sys\n"
    "for name in ('tensorflow', 'keras', 'fasttext'):\n"
    "    sys.modules[name] = None  # import fails, as in a tag-only install\n"
    "from postagger.cli import main\n"
    "sys.argv = ['postagger', *sys.argv[1:]]\n"
    "main()\n"
)


@pytest.mark.parametrize(
    "args, library",
    [
        (["train", str(TRAIN), "--dev", str(DEV), "-o", "{tmp}/m"], "TensorFlow"),
        (
            ["tag", str(TEST), "--engine", "keras", "--model", "{model}", "-o", "{tmp}/out.conllu"],
            "TensorFlow",
        ),
        (["vectors", "train", str(TRAIN), "-o", "{tmp}/v.bin"], "fastText"),
    ],
)
def test_a_tag_only_install_names_the_extra_a_command_needs(args, library, tmp_path, tiny_model):
    """Without TensorFlow and fastText (`pip install postagger`), tagging works and a
    command that needs them is one line naming the install command, exit 2, no output."""
    args = [a.format(tmp=tmp_path, model=tiny_model) for a in args]
    proc = subprocess.run(
        [sys.executable, "-c", WITHOUT_TRAIN_EXTRA, *args], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'postagger[train]'" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert library in proc.stderr and proc.stdout == "" and list(tmp_path.iterdir()) == []


def test_a_tag_only_install_tags(tiny_model, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", WITHOUT_TRAIN_EXTRA, "tag", "--model", str(tiny_model),
         "--input-format", "tokens", "--output-format", "inline"],
        input="The cat sat .\n", capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    assert len(proc.stdout.split()) == 4 and all("/" in word for word in proc.stdout.split())


def test_shell_completion_completes_commands_and_options():
    """Typer's completion (`postagger --install-completion`): the shell asks the program."""
    exe = os.path.join(os.path.dirname(sys.executable), "postagger")

    def complete(*words: str) -> list[str]:
        env = {**os.environ, "_POSTAGGER_COMPLETE": "complete_bash"}
        env.update(COMP_WORDS=" ".join(["postagger", *words]), COMP_CWORD=str(len(words)))
        return subprocess.run([exe], env=env, capture_output=True, text=True, check=True).stdout.split()

    assert complete("ta") == ["tag"]
    assert "--output-format" in complete("tag", "--out")
    assert "--install-completion" in run("--help").output


def test_resume_takes_nothing_else(tmp_path, tiny_model):
    result = run("train", "--resume", tiny_model, "--epochs", "3")
    assert_clean_error(result, 2, "drop epochs")
    assert_clean_error(run("train", "--resume", tiny_model), 2, "nothing to resume")
    assert_clean_error(run("train", TRAIN), 2, "give training files, --dev and --output")


def test_a_joint_model_fills_every_column_and_evaluate_scores_them(joint_model, tmp_path):
    pred = tmp_path / "pred.conllu"
    assert run("tag", TEST, "--model", joint_model, "-o", pred).exit_code == 0
    changed = set()
    for before, after in zip(TEST.read_text().splitlines(), pred.read_text().splitlines()):
        bf, af = before.split("\t"), after.split("\t")
        changed.update(i for i, (b, a) in enumerate(zip(bf, af)) if b != a)
    assert changed == {3, 4, 5}  # UPOS, XPOS, FEATS and nothing else
    by_model = json.loads(run("evaluate", TEST, "--model", joint_model, "--json").stdout)
    by_file = json.loads(run("evaluate", TEST, "--pred", pred, "--model", joint_model, "--json").stdout)
    recorded = json.loads((joint_model / "metrics.json").read_text())["test"]
    for name in ("upos", "xpos", "feats", "ufeats", "alltags", "alltags_oov"):
        assert by_file[name] == by_model[name] == recorded[name], name
    table = run("evaluate", TEST, "--model", joint_model).stdout
    assert "UFeats" in table and "AllTags" in table
    tsv = run("tag", "--model", joint_model, "--output-format", "tsv", input="It works .\n").stdout
    assert [len(row.split("\t")) for row in tsv.strip().splitlines()] == [4, 4, 4]
    jsonl = json.loads(
        run("tag", "--model", joint_model, "--output-format", "jsonl", input="It works.\n").stdout
    )
    assert len(jsonl["tags"]) == len(jsonl["xpos"]) == len(jsonl["feats"]) == 3
    info = run("info", joint_model).stdout
    assert "also predicts" in info and "AllTags" in info


def test_columns_option_is_checked_before_anything_runs(tmp_path):
    result = run("train", TRAIN, "--dev", DEV, "-o", tmp_path / "m", "--columns", "upos,lemma")
    words = " ".join(result.output.replace("│", " ").split())  # rich wraps the message in a box
    assert result.exit_code == 2 and "distinct columns among upos, xpos, feats" in words
    assert not (tmp_path / "m").exists()


def test_plots_are_png_files(tiny_model, joint_model, tmp_path):
    confusion = tmp_path / "confusion.png"
    result = run("evaluate", TEST, "--model", joint_model, "--plot", confusion)
    assert result.exit_code == 0, result.output
    assert confusion.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "confusion matrix →" in result.stderr
    from postagger.plots import plot_learning_curve

    curve = tmp_path / "curve.png"
    plot_learning_curve(json.loads((joint_model / "metrics.json").read_text()), curve)
    assert curve.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


@pytest.mark.slow
def test_train_writes_its_learning_curve(tmp_path):
    curve = tmp_path / "curve.png"
    result = run(
        "train", DEV, "--dev", DEV, "-o", tmp_path / "m", "--epochs", "2", "--lstm-units", "8",
        "--word-dim", "8", "--char-filters", "8", "--lstm-layers", "1", "--plot", curve,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert curve.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "learning curve →" in result.stderr
    history = json.loads((tmp_path / "m" / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2] and 0 < history[0]["seconds"] <= history[1]["seconds"]
    segmenter = json.loads((tmp_path / "m" / "segmenter.json").read_text())  # trained by default
    assert "segmenter epoch  15" in result.stderr and 0.5 < segmenter["scores"]["tokens"] <= 1


def test_plot_without_matplotlib_says_how_to_install_it(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    result = run("evaluate", TEST, "--model", tiny_model, "--plot", tmp_path / "c.png")
    assert_clean_error(result, 2, "pip install 'postagger[plot]'")
    assert not (tmp_path / "c.png").exists()


def test_evaluate_columns_of_another_tools_output(tiny_model, tmp_path):
    """--columns scores the columns of a predicted file without a model (here the gold
    file against itself with XPOS and FEATS changed on one word)."""
    lines = TEST.read_text().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line[:1].isdigit())
    fields = lines[first].split("\t")
    gold_feats = fields[5]
    fields[4], fields[5] = "XX", "Foo=Bar"  # a wrong XPOS; a FEATS with no universal feature
    lines[first] = "\t".join(fields)
    pred = write(tmp_path / "pred.conllu", "".join(lines))
    result = run("evaluate", TEST, "--pred", pred, "--columns", "upos,xpos,feats", "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    n = scores["tokens"]
    assert scores["upos"] == 1.0 and scores["xpos"] == pytest.approx((n - 1) / n)
    assert scores["alltags"] == pytest.approx((n - 1) / n) and "upos_oov" not in scores
    from postagger.evaluate import universal_feats

    ufeats_lost = universal_feats(gold_feats) != ""  # right only if the gold has none either
    assert scores["ufeats"] == pytest.approx((n - ufeats_lost) / n)
    assert scores["feats"] == pytest.approx((n - 1) / n)
    result = run("evaluate", TEST, "--model", tiny_model, "--columns", "xpos")
    assert_clean_error(result, 2, "cannot be scored on xpos")


@pytest.mark.parametrize("sized", [True, False])
def test_tagging_progress_shows_a_bar_when_the_input_size_is_known(sized):
    """On a terminal: files (size known) get a bar with the share read and the time left;
    stdin a spinner; both count sentences. Off a terminal: nothing."""
    import io

    from rich.console import Console

    from postagger.cli.render import tagging_progress

    for terminal in (True, False):
        out = io.StringIO()
        console = Console(file=out, force_terminal=terminal, width=100)
        with tagging_progress(console, sized=sized) as progress:
            task = progress.add_task("tag", total=1000 if sized else None, sentences=0)
            progress.update(task, advance=250, sentences=2048)
            progress.refresh()
        shown = out.getvalue()
        assert ("tagged 2,048 sentences" in shown) is terminal
        assert ("25%" in shown) is (terminal and sized)
