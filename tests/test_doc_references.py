"""Code cites documents that exist: every ``docs/….md`` and every upper-case ``….md``
named in a module, script, scenario or test is a file of this repository (a design
brief kept outside it was once cited from five of them)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CITED = re.compile(r"(?:docs/[\w./-]+|\b[A-Z][A-Z_]+)\.md\b")


def citations(root: Path = REPO) -> dict[str, set[str]]:
    """Document → the source files that cite it."""
    found: dict[str, set[str]] = {}
    for folder in ("bench", "scenarios", "benchmarks", "tests"):
        for path in sorted((root / folder).rglob("*.py")):
            if path == Path(__file__).resolve():  # its own example below
                continue
            for name in CITED.findall(path.read_text(encoding="utf-8")):
                found.setdefault(name, set()).add(str(path.relative_to(root)))
    return found


def test_every_cited_document_is_in_the_repository():
    missing = {name: sorted(paths) for name, paths in citations().items()
               if not (REPO / name).is_file() and not (REPO / "docs" / name).is_file()}
    assert not missing


def test_a_citation_of_a_missing_document_is_found(tmp_path):
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "mod.py").write_text('"""See DESIGN.md section 6 and docs/metrics.md."""\n')
    assert citations(tmp_path) == {"DESIGN.md": {"bench/mod.py"}, "docs/metrics.md": {"bench/mod.py"}}
