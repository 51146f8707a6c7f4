"""`postagger vectors ...`: pretrained word vectors — train, check, neighbours, export, extract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from postagger.cli._util import JsonOption, app, cli_errors, status, stderr_console, stdout_console
from postagger.errors import PostaggerError

vectors_app = typer.Typer(
    help="Pretrained word vectors: train, check coverage, find neighbours, export, extract.",
    no_args_is_help=True,
)
app.add_typer(vectors_app, name="vectors")

SourceArgument = Annotated[Path, typer.Argument(help="Vectors file or model directory.", show_default=False)]
VocabOption = Annotated[Path, typer.Option(help="Vocabulary JSON (from `postagger vocab`).")]


def _written(result: dict, output: Path) -> None:
    stderr_console().print(f"{result['words']:,} words × {result['dim']} dimensions → {output}")


@vectors_app.command("train")
@cli_errors
def vectors_train_cli(
    text: Annotated[Path, typer.Argument(help="Raw UTF-8 text, tokenized with spaces.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="fastText .bin model to write.")],
    dim: Annotated[int, typer.Option(min=1, help="Vector dimension.")] = 100,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the text.")] = 5,
    min_count: Annotated[int, typer.Option(min=1, help="Ignore words rarer than this.")] = 5,
) -> None:
    """Train skipgram fastText vectors on raw text (for languages or domains without vectors)."""
    from postagger.vectors import train_vectors

    with status(stderr_console(), f"training fastText vectors on {text}"):
        result = train_vectors(text, output, dim=dim, epochs=epochs, min_count=min_count)
    _written(result, output)


@vectors_app.command("check")
@cli_errors
def vectors_check_cli(
    vectors: Annotated[Path, typer.Argument(help="Vectors file (.bin, .vec, .vec.gz).", show_default=False)],
    vocab: VocabOption,
    as_json: JsonOption = False,
) -> None:
    """How many vocabulary words the vectors cover (exact, lower-cased, subword-only, missing)."""
    from postagger.vectors import align
    from postagger.vocab import Vocabulary

    coverage = align(Vocabulary.load(vocab), vectors).coverage
    if as_json:
        print(json.dumps(coverage, ensure_ascii=False, indent=1))
    else:
        from postagger.cli.render import coverage_table

        stdout_console().print(coverage_table(coverage))


@vectors_app.command("neighbors")
@cli_errors
def vectors_neighbors_cli(
    source: SourceArgument,
    words: Annotated[list[str], typer.Argument(help="Query words.", show_default=False)],
    k: Annotated[int, typer.Option("-k", min=1, help="Neighbours per word.")] = 10,
    limit: Annotated[int, typer.Option(min=1, help="Search among the N most frequent words.")] = 200_000,
) -> None:
    """Nearest words by cosine similarity, from vectors or a trained model's embeddings."""
    from postagger.cli.render import neighbours_table
    from postagger.vectors import embedding_rows, nearest

    vocabulary, matrix, subword = embedding_rows(source, limit)
    index = {w: i for i, w in enumerate(vocabulary)}
    console = stdout_console()
    for word in words:
        if word in index:
            query = matrix[index[word]]
        elif subword is not None:
            query = subword(word)
        else:
            raise PostaggerError(f"{word!r} is not among the {len(vocabulary):,} words searched", source)
        console.print(neighbours_table(word, nearest(matrix, vocabulary, query, k, exclude=[word])))


@vectors_app.command("export")
@cli_errors
def vectors_export_cli(
    source: SourceArgument,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Directory for vectors.tsv and metadata.tsv.")
    ],
    limit: Annotated[int, typer.Option(min=1, help="Export the N most frequent words.")] = 100_000,
) -> None:
    """Write vectors.tsv and metadata.tsv for the TensorBoard embedding projector."""
    from postagger.vectors import export_projector

    _written(export_projector(source, output, limit), output)


@vectors_app.command("extract")
@cli_errors
def vectors_extract_cli(
    source: Annotated[
        Path, typer.Argument(help="Big vectors file (.bin, .vec, .vec.gz).", show_default=False)
    ],
    vocab: VocabOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="Small .vec file to write.")],
    extend_vocab: Annotated[int, typer.Option(min=0, help="Also keep the N most frequent other words.")] = 0,
) -> None:
    """Keep only the rows a vocabulary needs, so a huge vectors file is read once."""
    from postagger.vectors import extract
    from postagger.vocab import Vocabulary

    _written(extract(source, Vocabulary.load(vocab), output, extend_vocab), output)
