"""Walking the OpenAPI document in tests: its operations, and the fields of its request bodies, so a test can send
a value to every field of a kind the document declares."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def live_document(app: Flask) -> dict[str, Any]:
    with app.test_request_context():
        spec: dict[str, Any] = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    return spec


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The node a `$ref` names (any components section), followed until it is not a reference."""
    while "$ref" in node:
        section, name = node["$ref"].rsplit("/", 2)[-2:]
        node = document["components"][section][name]
    return node


def operations(document: dict[str, Any], *, fill_ids: bool = False) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) for each operation; with fill_ids, each path parameter is a new random UUID."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                filled = path
                if fill_ids:
                    for parameter in operation.get("parameters", []) + item.get("parameters", []):
                        if parameter["in"] == "path":
                            filled = filled.replace("{" + parameter["name"] + "}", str(uuid.uuid4()))
                yield method, filled, operation


def body_fields(
    document: dict[str, Any], matches: Callable[[dict[str, Any]], bool], *, fill_ids: bool = False
) -> Iterator[tuple[str, str, tuple[str, ...], dict[str, Any]]]:
    """Every field a JSON request body can carry whose schema `matches`, nested ones included (a list's items
    are at "0"), as (method, path, the field's path, its schema). Read-only fields are never sent, so skipped."""

    def walk(node: dict[str, Any], at: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
        if node.get("readOnly"):
            return
        schema = resolve(document, node)
        if at and matches(schema):
            yield at, schema
        for name, prop in schema.get("properties", {}).items():
            yield from walk(prop, (*at, name))
        if isinstance(schema.get("items"), dict):
            yield from walk(schema["items"], (*at, "0"))
        for alternative in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
            yield from walk(alternative, at)

    for method, path, operation in operations(document, fill_ids=fill_ids):
        media = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if media:
            for at, schema in walk(media["schema"], ()):
                yield method, path, at, schema


def of_type(name: str) -> Callable[[dict[str, Any]], bool]:
    def matches(schema: dict[str, Any]) -> bool:
        declared = schema.get("type")
        return declared == name or (isinstance(declared, list) and name in declared)

    return matches


def body_at(at: tuple[str, ...], value: Any) -> Any:
    """A body holding `value` at the field's path and nothing else."""
    for key in reversed(at):
        value = [value] if key == "0" else {key: value}
    return value


def errors_at(errors: dict[str, Any], at: tuple[str, ...]) -> Any:
    """The messages a 422's `errors` gives for the field at that path (nested as marshmallow nests them)."""
    for key in at:
        errors = errors.get(key, {}) if isinstance(errors, dict) else {}
    return errors
