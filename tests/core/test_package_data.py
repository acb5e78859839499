"""Every file the server reads from its own package (templates, scripts, style sheets, schema revisions) is
declared as package data, so that an installed phonecloud has it too, not only a checkout."""

from __future__ import annotations

import fnmatch
import tomllib

from conftest import ROOT

PACKAGE = ROOT / "src" / "phonecloud"


def _declared() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return project["tool"]["setuptools"]["package-data"]["phonecloud"]


def _matches(relative: str, glob: str) -> bool:
    """As setuptools reads a package-data glob: `*` within one folder name, never across a `/`."""
    parts, globs = relative.split("/"), glob.split("/")
    return len(parts) == len(globs) and all(fnmatch.fnmatchcase(part, g) for part, g in zip(parts, globs))


def _needs_declaring(path) -> bool:
    """Not a module of a package (setuptools finds those itself): a data file, or Python in a plain folder."""
    if "__pycache__" in path.parts or not path.is_file():
        return False
    return path.suffix != ".py" or not (path.parent / "__init__.py").exists()


def test_every_data_file_in_the_package_is_declared():
    declared = _declared()
    undeclared = [relative for path in sorted(PACKAGE.rglob("*")) if _needs_declaring(path)
                  if not any(_matches(relative := path.relative_to(PACKAGE).as_posix(), glob) for glob in declared)]
    assert not undeclared, f"add to [tool.setuptools.package-data] in pyproject.toml: {undeclared}"


def test_every_declared_pattern_matches_a_file():
    files = [path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*") if path.is_file()]
    assert [glob for glob in _declared() if not any(_matches(file, glob) for file in files)] == []
