"""The PySpark path of docs/examples/parallel_tagging.py, on a real local Spark session.

Needs pyspark (the `test` extra installs it) and a Java runtime (`.ci/run` installs
Debian's when none is found). Without them the test is skipped with the reason, except
under CI=true, where a skip would hide a path nobody runs: there it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEV, TEST, TRAIN
from typer.testing import CliRunner

from postagger.cli import app
from postagger.conllu_io import read_treebank

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "parallel_tagging.py"

pytestmark = pytest.mark.slow


def _missing() -> str | None:
    """What a local Spark session lacks here, or None."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[test]')"
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and (Path(java_home) / "bin" / "java").exists()):
        return "no Java runtime (java not on PATH, no JAVA_HOME): apt-get install default-jre-headless"
    return None


@pytest.fixture(scope="module")
def spark_ready() -> None:
    reason = _missing()
    if reason and os.environ.get("CI") == "true":
        pytest.fail(f"the Spark test cannot run under CI: {reason}")
    if reason:
        pytest.skip(reason)


def test_spark_map_partitions_tags_like_the_cli(spark_ready, tiny_model, tmp_path):
    """A few hundred lines through `mapPartitions` on `local[2]` give, part file after part
    file, exactly what `postagger tag --input-format tokens --output-format inline` gives."""
    lines = [" ".join(s.forms) for s in read_treebank([TRAIN, DEV, TEST])][:300]
    source = tmp_path / "corpus.txt"
    source.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    target = tmp_path / "tagged"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), "spark", str(source), str(target), "--model", str(tiny_model),
         "--master", "local[2]"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-4000:]
    parts = sorted(target.glob("part-*"))
    assert len(parts) >= 2 and (target / "_SUCCESS").exists()  # two partitions, two tasks
    got = "".join(part.read_text(encoding="utf-8") for part in parts)

    args = ["tag", str(source), "--model", str(tiny_model), "--input-format", "tokens"]
    cli = CliRunner().invoke(app, [*args, "--output-format", "inline", "--jobs", "1"])
    assert cli.exit_code == 0, cli.output
    assert got == cli.stdout
    assert got.count("\n") == len(lines)
