"""The mentors' app (api/mentors_app/static) is plain JavaScript with JSDoc types, checked by `tsc --checkJs
--strict` against the client types generated from the OpenAPI document (clients/typescript/src/schema.d.ts):
the page modules with the browser's DOM (tsconfig.app.json), the service worker with a worker's
(tsconfig.sw.json). Nothing is compiled: the browser loads the files as they are, so `make run` needs no Node.
A renamed field in the API, once `make openapi` regenerates the types, fails here.
"""

from __future__ import annotations

import pytest

from tests.contract.node_tools import CLIENT, run, tool


@pytest.mark.parametrize("project", ["tsconfig.app.json", "tsconfig.sw.json"])
def test_the_mentors_app_type_checks_against_the_generated_api_types(project):
    finished = run([tool("tsc"), "--project", CLIENT / project, "--strict", "--noEmit"], cwd=CLIENT)

    assert finished.returncode == 0, finished.stdout + finished.stderr
