"""Tag a large corpus in parallel with a distributed engine, or with local processes.

One sentence per input line, tokens separated by spaces; one `word/TAG ...` line out per
line in. The work is one function, `tag_partition`, which any engine that hands a worker
a partition of lines can call: PySpark's `mapPartitions`, Dask bags, Apache Beam's
`ParDo` (a `DoFn` whose `setup` loads the tagger), or Python's `multiprocessing`.

    # PySpark (pip install pyspark): input and output are Spark paths (local, HDFS, S3, ...);
    # the master is spark-submit's (README: a cluster), or --master local[4] on one machine
    python docs/examples/parallel_tagging.py spark corpus/ tagged/ [--model DIR] [--master URL]

    # no cluster: local worker processes, output in input order
    python docs/examples/parallel_tagging.py local corpus.txt tagged.txt [--processes 4] [--model DIR]

The tagger is loaded once per partition (per worker process for `local`); a `Tagger`
pickles as its path, so it can also be shipped to workers as a broadcast value or closure.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterable, Iterator
from functools import partial
from multiprocessing import get_context

from postagger import Tagger


def tag_partition(lines: Iterable[str], model: str | None = None) -> Iterator[str]:
    """`word/TAG` lines for pre-tokenized lines, lazily and in order (bounded memory)."""
    tagger = Tagger.load(model)
    for line, tagged in tagger.tag_stream(lines, words=str.split):
        yield " ".join(f"{w}/{t}" for w, t in zip(line.split(), tagged.tags[tagger.column]))


def _tag_chunk(model: str | None, lines: list[str]) -> list[str]:
    return list(tag_partition(lines, model))


def run_local(source: str, target: str, model: str | None, processes: int, chunk: int = 2000) -> None:
    with open(source, encoding="utf-8") as f, open(target, "w", encoding="utf-8") as out:
        chunks = iter(lambda: [line.rstrip("\n") for line in itertools.islice(f, chunk)], [])
        with get_context("spawn").Pool(processes) as pool:
            for tagged in pool.imap(partial(_tag_chunk, model), chunks):  # imap keeps the order
                out.writelines(line + "\n" for line in tagged)


def run_spark(source: str, target: str, model: str | None, master: str | None = None) -> None:
    """Tag the lines of `source` into the text files of `target` (part-00000, ... in the
    input's order). `model` is a path on the workers (the shipped model when None)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("postagger")
    if master:
        builder = builder.master(master)
    spark = builder.getOrCreate()
    try:
        lines = spark.sparkContext.textFile(source)
        lines.mapPartitions(lambda part: tag_partition(part, model)).saveAsTextFile(target)
    finally:
        spark.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=["spark", "local"])
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--model", help="model directory (default: the shipped English model)")
    parser.add_argument("--master", help="Spark master URL, e.g. local[4] (default: spark-submit's)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--chunk-lines", type=int, default=2000, help="lines per task (local)")
    args = parser.parse_args()
    if args.engine == "spark":
        run_spark(args.source, args.target, args.model, args.master)
    else:
        run_local(args.source, args.target, args.model, args.processes, args.chunk_lines)


if __name__ == "__main__":
    main()
