"""The repository explains itself: no comment or document points at notes kept outside it (issue 15)."""

from __future__ import annotations

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
OUTSIDE = ("DOMAIN.md", "ARCHITECTURE.md", "../shared", "/work/shared")
FOLDERS = (
    "api",
    "bench",
    "clients/typescript/src",
    "docs",
    "migrations",
    "notifications",
    "openapi",
    "scheduling",
    "tests",
)
SUFFIXES = {".py", ".md", ".ts", ".mjs", ".json", ".yaml", ".toml", ".html", ".js", ".css"}


def text_files() -> list[Path]:
    files = [REPOSITORY / name for name in ("README.md", "Makefile", "pyproject.toml", "wsgi.py")]
    for folder in FOLDERS:
        files += [
            path
            for path in (REPOSITORY / folder).rglob("*")
            if path.suffix in SUFFIXES and "node_modules" not in path.parts and path != Path(__file__).resolve()
        ]
    return files


def test_nothing_cites_notes_outside_the_repository():
    citations = [
        f"{path.relative_to(REPOSITORY)}: {name}"
        for path in text_files()
        if path.is_file()
        for name in OUTSIDE
        if name in path.read_text(errors="replace")
    ]
    assert citations == []


def test_the_design_guide_and_the_domain_facts_are_in_the_repository():
    for name in ("design.md", "domain.md", "decisions.md"):
        assert (REPOSITORY / "docs" / name).stat().st_size > 1000
