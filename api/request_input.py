"""The one check every request's text passes before any view, schema or rate limit reads it.

Two kinds of text cannot be stored, whatever the field: the NUL character (PostgreSQL refuses it in text) and
unpaired UTF-16 surrogates (JSON can spell them, "\\ud800", but they are not Unicode characters, so they cannot
be encoded to UTF-8). Left to the database, either became a 500 on the first field that reached it. Checked here,
once, for JSON bodies, query strings, form fields and path segments, each is a 422 naming the field.

A body that cannot be read as JSON is a 400 here too. JSON nested deeper than anyone's data could be
(MAX_JSON_DEPTH) is refused with a 400 before anything parses it:
Python's parser, and marshmallow after it, recurse once per level, and a body a few thousand levels deep ran out
of stack (a 500). The depth is counted on the raw bytes, with the strings taken out, so nothing recurses.

CSV files (the outcome import) are checked by their own parser, which names the line and column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from flask import request
from flask_smorest import abort

# Deepest legitimate body today: a check-in's scores or a sync batch, under 5 levels. Far above that, far below
# where recursion becomes a risk.
MAX_JSON_DEPTH = 32

NUL_MESSAGE = "Must not contain the NUL character (U+0000)."
SURROGATE_MESSAGE = "Must not contain an unpaired surrogate (U+D800 to U+DFFF): it is not valid Unicode."

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', flags=re.DOTALL)
_NOT_A_BRACKET = bytes(set(range(256)) - set(b"[]{}"))
_OPENING = frozenset(b"[{")


def refuse_unstorable_input() -> None:
    """Registered before every other before-request hook (api/app.py), so nothing reads the request first."""
    errors: dict[str, Any] = {}
    if request.view_args:
        _add(errors, "path", _text_problems(request.view_args.items()))
    _add(errors, "query", _text_problems(_pairs(request.args.lists())))
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        _add(errors, "form", _text_problems(_pairs(request.form.lists())))
    raw = request.get_data(cache=True) if request.is_json else b""
    if raw.strip():  # an empty body is no body: the schema reads it as {}, as it always has
        if json_depth_exceeds(raw, MAX_JSON_DEPTH):
            abort(
                400,
                message=f"The JSON body is nested too deeply: at most {MAX_JSON_DEPTH} levels are accepted.",
                reason="json_too_deep",
            )
        try:
            body = json.loads(raw)
        except ValueError:
            # Not JSON, not UTF-8, or a number past Python's 4,300-digit limit (which the schemas' parser let
            # escape as a 500): answered here, once, for every operation.
            abort(400, message="The body is not valid JSON.", reason="bad_request")
        _add(errors, "json", _json_problems(body))
    if errors:
        abort(422, errors=errors, reason="invalid_characters")


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether the JSON text opens more than `limit` arrays or objects inside one another. Brackets inside
    strings do not count; on text that is not JSON the answer errs towards True, and the parser refuses it anyway."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, delete=_NOT_A_BRACKET)
    depth = 0
    for byte in brackets:
        depth += 1 if byte in _OPENING else -1
        if depth > limit:
            return True
    return False


def text_problem(value: str) -> str | None:
    """Why a piece of text cannot be stored, or None."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    return NUL_MESSAGE if found.group() == "\x00" else SURROGATE_MESSAGE


def _pairs(lists: Iterable[tuple[str, list[str]]]) -> Iterator[tuple[str, Any]]:
    for name, values in lists:
        for value in values:
            yield name, value


def _text_problems(items: Iterable[tuple[str, Any]]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for name, value in items:
        if not isinstance(name, str):
            continue  # a multipart part werkzeug could not name (name="\"): nothing reads it
        problem = text_problem(name) or (text_problem(value) if isinstance(value, str) else None)
        if problem:
            problems.setdefault(_printable(name), []).append(problem)
    return problems


def _json_problems(body: Any) -> dict[str, Any]:
    """Problems keyed as marshmallow keys its own (nested objects and list indexes as nested keys). Walked with a
    stack, not recursion; the depth is already bounded."""
    problems: dict[str, Any] = {}
    stack: list[tuple[tuple[str, ...], Any]] = [((), body)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                key_problem = text_problem(key)
                if key_problem:
                    _put(problems, (*path, _printable(key)), key_problem)
                else:
                    stack.append(((*path, key), item))
        elif isinstance(value, list):
            stack.extend(((*path, str(index)), item) for index, item in enumerate(value))
        elif isinstance(value, str):
            problem = text_problem(value)
            if problem:
                _put(problems, path or ("_schema",), problem)
    return problems


def _put(problems: dict[str, Any], path: tuple[str, ...], message: str) -> None:
    node = problems
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node.setdefault(path[-1], []).append(message)


def _printable(name: str) -> str:
    """A field name fit to echo back in the error body: its unstorable characters shown as U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", name)


def _add(errors: dict[str, Any], location: str, problems: dict[str, Any]) -> None:
    if problems:
        errors[location] = problems
