import json

from api.app import create_app
from tests.conftest import SECRET_KEY


def test_the_committed_openapi_document_matches_the_code(repo_root):
    app = create_app({"TESTING": True, "SECRET_KEY": SECRET_KEY, "DATABASE_URL": "sqlite://"})
    with app.app_context():
        generated = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    committed = json.loads((repo_root / "openapi" / "openapi.json").read_text())

    assert generated == committed, "openapi/openapi.json is stale: run `make openapi` and commit the result"


HTTP_METHODS = {"get", "put", "post", "patch", "delete"}


def test_every_operation_has_a_summary_and_documents_the_error_envelope(repo_root):
    document = json.loads((repo_root / "openapi" / "openapi.json").read_text())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            assert operation.get("summary"), f"{method.upper()} {path} has no summary (view docstring)"
            assert "default" in operation["responses"], f"{method.upper()} {path} does not document errors"
    error = document["components"]["schemas"]["Error"]["properties"]
    assert {"code", "status", "message", "reason", "errors"} <= set(error)


def _live_document_and_app():
    app = create_app({"TESTING": True, "SECRET_KEY": SECRET_KEY, "DATABASE_URL": "sqlite://"})
    with app.app_context():
        return app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict(), app


def _operations_not_declaring(header, honours):
    """Operations whose view `honours(view)` the header, and those of them whose document does not declare it."""
    import re

    document, app = _live_document_and_app()
    honouring, undeclared = [], []
    for rule in app.url_map.iter_rules():
        if not honours(app.view_functions[rule.endpoint]):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            honouring.append(f"{method} {path}")
            parameters = document["paths"][path][method.lower()].get("parameters", [])
            if header not in {parameter.get("name") for parameter in parameters}:
                undeclared.append(f"{method} {path}")
    return honouring, undeclared


def test_every_edit_that_needs_if_match_declares_it():
    """A view that reads the expected version answers 428 without If-Match: the document must say it is needed."""
    import inspect

    needing, undeclared = _operations_not_declaring(
        "If-Match", lambda view: "expected_version()" in inspect.getsource(inspect.unwrap(view))
    )
    assert len(needing) >= 7
    assert undeclared == []


def test_every_operation_has_a_unique_operation_id_in_camel_case():
    import re

    document, _app = _live_document_and_app()
    ids = [
        operation.get("operationId")
        for operations in document["paths"].values()
        for method, operation in operations.items()
        if method in HTTP_METHODS
    ]
    assert len(ids) >= 90
    assert [
        operation_id for operation_id in ids if not re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", operation_id or "")
    ] == []
    assert len(set(ids)) == len(ids), sorted(i for i in ids if ids.count(i) > 1)


def test_every_create_that_honours_an_idempotency_key_declares_it():
    """Found by what the view runs, not by its mark: a view wrapped by @idempotent honours the header."""
    from api.idempotency.http import idempotent

    honouring_code = idempotent(lambda: None).__code__

    def wrapped_by_idempotent(view):
        while view is not None:
            if getattr(view, "__code__", None) is honouring_code:
                return True
            view = getattr(view, "__wrapped__", None)
        return False

    honouring, undeclared = _operations_not_declaring("Idempotency-Key", wrapped_by_idempotent)
    assert len(honouring) >= 8
    assert undeclared == []


def _walk(node, at=()):
    if isinstance(node, dict):
        yield at, node
        for key, value in node.items():
            yield from _walk(value, (*at, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*at, str(index)))


def test_every_enum_has_a_type_and_each_whole_value_set_is_one_named_component():
    document, _app = _live_document_and_app()
    enums = [(at, node) for at, node in _walk(document) if "enum" in node]
    assert [at for at, node in enums if "type" not in node] == []
    components = document["components"]["schemas"]
    named = {tuple(v for v in node["enum"]) for name, node in components.items() if "enum" in node}
    assert {"SessionKind", "SessionStatus", "EndReason", "Role"} <= set(components)
    # An inline enum is either a subset a field accepts, or a value set no Enum class names (the CSV format).
    inline = [
        (at, tuple(v for v in node["enum"] if v is not None))
        for at, node in enums
        if at[:2] != ("components", "schemas") or len(at) > 3
    ]
    repeated_whole_sets = [at for at, values in inline if values in named]
    assert repeated_whole_sets == []


def test_no_field_declares_a_default_but_its_description_says_what_is_assumed():
    document, _app = _live_document_and_app()
    assert [at for at, node in _walk(document) if "default" in node and not isinstance(node["default"], dict)] == []
    status = document["components"]["schemas"]["SessionCreate"]["properties"]["status"]
    assert status["description"].endswith('Left out, it is "planned".')


def test_every_reason_the_code_gives_is_in_the_documented_catalogue(repo_root):
    """Reasons named in the source (a domain error's `reason = "..."`, or `abort(..., reason="...")`) must all be
    in ErrorReason, the enum clients branch on."""
    import ast

    document, _app = _live_document_and_app()
    catalogue = set(document["components"]["schemas"]["ErrorReason"]["enum"])
    given = set()
    for source in (repo_root / "api").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ClassDef):
                for statement in node.body:
                    if (
                        isinstance(statement, ast.Assign)
                        and [getattr(target, "id", None) for target in statement.targets] == ["reason"]
                        and isinstance(statement.value, ast.Constant)
                    ):
                        given.add(statement.value.value)
            elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "abort":
                given.update(
                    keyword.value.value
                    for keyword in node.keywords
                    if keyword.arg == "reason" and isinstance(keyword.value, ast.Constant)
                )
    assert len(given) > 90
    assert sorted(given - catalogue) == []
    assert document["components"]["schemas"]["Error"]["properties"]["reason"] == {
        "$ref": "#/components/schemas/ErrorReason"
    }


def test_every_fact_a_refusal_sends_is_a_typed_property_of_the_error(repo_root):
    """A domain error's keyword arguments (other than message and errors) go into the answer beside the envelope:
    each must be declared on Error, so a client reads it typed."""
    import ast

    from api.errors import DomainError

    document, _app = _live_document_and_app()
    declared = set(document["components"]["schemas"]["Error"]["properties"])
    error_classes, stack = set(), [DomainError]
    while stack:
        kind = stack.pop()
        error_classes.add(kind.__name__)
        stack.extend(kind.__subclasses__())
    sent = {}
    for source in (repo_root / "api").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in error_classes:
                    for keyword in node.keywords:
                        if keyword.arg not in ("message", "errors"):
                            sent.setdefault(keyword.arg, f"{source.relative_to(repo_root)}:{node.lineno}")
    assert len(sent) > 10
    assert {fact: where for fact, where in sent.items() if fact not in declared} == {}
    assert set(document["components"]["schemas"]["Error"]["required"]) == {
        "code",
        "status",
        "message",
        "reason",
        "request_id",
    }


def test_a_sync_change_is_a_union_discriminated_by_its_type():
    from api.changes.rules import EntityType

    document, _app = _live_document_and_app()
    schemas = document["components"]["schemas"]
    change = schemas["Change"]
    assert change["discriminator"]["propertyName"] == "type"
    assert set(change["discriminator"]["mapping"]) == {kind.value for kind in EntityType}
    session = schemas["ChangeToSession"]
    assert session["properties"]["type"] == {"type": "string", "enum": ["session"]}
    assert session["properties"]["session"]["anyOf"] == [{"$ref": "#/components/schemas/Session"}, {"type": "null"}]
    assert "child" not in session["properties"] and "session" in session["required"]
