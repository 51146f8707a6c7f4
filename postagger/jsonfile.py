"""Reading a JSON object from a file, with problems worded for people."""

from __future__ import annotations

import json
from pathlib import Path

from postagger.errors import PostaggerError


def read_json_object(
    path: Path, missing: str, invalid: str, error: type[PostaggerError] = PostaggerError
) -> dict:
    """The JSON object in `path`. A missing file raises `error(missing)`, a file that is not
    UTF-8 JSON or JSON that is not an object `error(invalid (why))`, a directory an `error`
    that says so; each names the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(missing, path) from None
    except IsADirectoryError:
        raise error("is a directory, expected a JSON file", path) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise error(f"{invalid} ({err})", path) from None
    if not isinstance(data, dict):
        raise error(f"{invalid} (expected a JSON object)", path)
    return data
