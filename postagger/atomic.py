"""Atomic writes: build next to the destination, then rename, so nothing is ever half-written."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from postagger.errors import PostaggerError


def _umask_mode(mode: int) -> int:
    """`mode` limited by the process umask (mkstemp/mkdtemp always create private files)."""
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask


def _check_parent(path: Path) -> None:
    if not path.parent.exists():
        raise PostaggerError("output folder does not exist", path.parent)
    if path.is_dir():
        raise PostaggerError("is a directory, expected a file name", path)


@contextlib.contextmanager
def atomic_output(path: str | Path, newline: str | None = "", binary: bool = False) -> Iterator[TextIO]:
    """A UTF-8 text (or binary) stream that becomes `path` only if the block finishes
    without error."""
    path = Path(path)
    _check_parent(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _umask_mode(0o666))
        mode = {"mode": "wb"} if binary else {"mode": "w", "encoding": "utf-8", "newline": newline}
        with os.fdopen(fd, **mode) as stream:
            yield stream
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_output(path) as stream:
        stream.write(text)


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """A fresh temporary directory that replaces `path` when the block succeeds.

    An existing directory at `path` is moved aside first and removed only after the new one
    is in place, so at every moment `path` is either the old complete model or the new one.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise PostaggerError("exists and is not a directory", path)
    if not path.parent.exists():
        raise PostaggerError("output folder does not exist", path.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    tmp.chmod(_umask_mode(0o777))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if path.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
        os.replace(path, old / path.name)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
