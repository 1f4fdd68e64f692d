"""Swagger UI and ReDoc, copied unedited from their npm packages into static/vendor/, pinned here by hash.

Each file the docs pages load has its SHA-384 here. The pages give it to the browser as the tag's `integrity`
(Subresource Integrity), so a browser refuses a copy that differs by one byte, and
tests/contract/test_docs_assets.py fails on any drift between these hashes and the files. `tarball_integrity`
is the npm registry's own hash of the package the files came from, to check the provenance against
(static/vendor/README.md says how, and how to update).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class VendoredPackage:
    name: str
    version: str
    licence: str
    tarball_integrity: str
    # File name (in the package's folder) -> its SHA-384, as Subresource Integrity writes it.
    files: Mapping[str, str]

    @property
    def folder(self) -> str:
        """Its folder under static/: the version is in every URL, so a cached copy never outlives an update."""
        return f"vendor/{self.name}-{self.version}"

    def path(self, file_name: str) -> str:
        return f"{self.folder}/{file_name}"


SWAGGER_UI = VendoredPackage(
    name="swagger-ui-dist",
    version="5.36.0",
    licence="Apache-2.0",
    tarball_integrity="sha512-Lt6/Kb0gXmLdiabLhvso4VdJP9V7qJWB0zh0gzeXUV3+CMOTzMmvpJRSXN7EAjfwixwmoi9ezDbLHiexC7lA9A==",
    files=MappingProxyType(
        {
            "swagger-ui-bundle.js": "sha384-fUpRgC19yPykTqzdrUbdAg8NTiu16NEKf9U12J+IJWCg8/1mEI8f2+PEIz60Wyd+",
            "swagger-ui.css": "sha384-z/AtSaOHGn5MJ5auAHXUypohywlIWLBZo1jeGmhdpVIbCnFhxAH92cwdV41oyINc",
        }
    ),
)

REDOC = VendoredPackage(
    name="redoc",
    version="2.5.4",
    licence="MIT",
    tarball_integrity="sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ==",
    files=MappingProxyType(
        {
            "redoc.standalone.js": "sha384-w447zOpYfw/1Tv/5AK9NfHTlQIqE3RVR6KY62jCyy9zNDgO64cMwGGP1Fj0zJVf5",
        }
    ),
)

VENDORED = (SWAGGER_UI, REDOC)
