"""The vendored Swagger UI and ReDoc are exactly the files pinned in api/apidocs/vendored.py, with their licences.

A file changed by hand, by a formatter or by a half-done update fails here, and would also be refused by the
browser (the pages send each pinned hash as the tag's Subresource Integrity). To update, follow
api/apidocs/static/vendor/README.md.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from api.apidocs.vendored import VENDORED, VendoredPackage

STATIC = Path(__file__).resolve().parents[2] / "api" / "apidocs" / "static"
LICENCE_FILES = {"swagger-ui-dist": {"LICENSE", "NOTICE"}, "redoc": {"LICENSE"}}


def sri_sha384(path: Path) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


@pytest.mark.parametrize("package", VENDORED, ids=lambda package: package.name)
def test_each_vendored_file_is_the_one_pinned(package: VendoredPackage):
    for file_name, pinned in package.files.items():
        path = STATIC / package.path(file_name)
        assert sri_sha384(path) == pinned, f"{path} differs from the release pinned in api/apidocs/vendored.py"


@pytest.mark.parametrize("package", VENDORED, ids=lambda package: package.name)
def test_each_vendored_package_carries_its_licences_and_nothing_unpinned(package: VendoredPackage):
    folder = STATIC / package.folder
    # Each bundle's notices for the third-party code inside it, beside the package's own licence.
    bundled_notices = {f"{name}.LICENSE.txt" for name in package.files if name.endswith(".js")}
    expected = set(package.files) | LICENCE_FILES[package.name] | bundled_notices

    assert {path.name for path in folder.iterdir()} == expected


def test_nothing_is_vendored_but_the_pinned_packages():
    folders = {path.name for path in (STATIC / "vendor").iterdir() if path.is_dir()}

    assert folders == {Path(package.folder).name for package in VENDORED}
