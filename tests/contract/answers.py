"""Every JSON answer the test suite receives is checked against the OpenAPI document: its status is declared by the
operation itself (`default` covers only a 500), its body is valid against the declared schema (`required` lists
included), and every header declared as required is sent. A supplier's generated client trusts exactly this, so
the whole suite's traffic is the test of it."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema_rs
from flask import Flask, Response, request

HTTP_METHODS = {"get", "put", "post", "patch", "delete"}


class AnswerChecker:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.problems: list[str] = []
        self._validators: dict[str, Any] = {}

    def check(self, method: str, rule: str, status: int, body: Any, headers: Any = None) -> None:
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)
        operation = self.document["paths"].get(path, {}).get(method.lower())
        if operation is None:
            return  # not part of the JSON API (the check-in and dashboard pages, the docs)
        responses = operation["responses"]
        declared = responses.get(str(status)) or (responses.get("default") if status == 500 else None)
        where = f"{method} {path} {status}"
        if declared is None:
            self.problems.append(f"{where}: status not declared")
            return
        declared = self._resolve(declared)
        for name, header in declared.get("headers", {}).items():
            if self._resolve(header).get("required") and headers is not None and name not in headers:
                self.problems.append(f"{where}: required header {name} not sent")
        schema = declared.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            self._validators[key] = jsonschema_rs.Draft202012Validator(
                {**schema, "components": self.document["components"]}
            )
        errors = list(self._validators[key].iter_errors(body))
        if errors:
            self.problems.append(f"{where}: {errors[0]} (at {list(errors[0].instance_path)})")

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            kind, name = node["$ref"].rsplit("/", 2)[-2:]
            node = self.document["components"][kind][name]
        return node


def check_every_answer(app: Flask) -> None:
    """Check each JSON answer the app gives against its own document; answers_not_as_documented collects them."""
    with app.app_context():
        document = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    checker = app.extensions["reachable.test.answer_checker"] = AnswerChecker(document)

    @app.after_request
    def _check(response: Response) -> Response:
        if request.url_rule is not None and response.mimetype == "application/json" and not response.direct_passthrough:
            body = response.get_json(silent=True)
            checker.check(request.method, request.url_rule.rule, response.status_code, body, response.headers)
        return response


def answers_not_as_documented(app: Flask) -> list[str]:
    """The problems found since the last call (and forget them)."""
    checker: AnswerChecker = app.extensions["reachable.test.answer_checker"]
    problems, checker.problems = checker.problems, []
    return problems
