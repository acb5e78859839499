"""The client package's two rules, checked on every module of phonecloud.client: it imports no private
(underscore) name from outside the package, and nothing of the server's (each module imports with the
server's packages refused, and none is imported anywhere in the package, not even inside a function)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cli_runner import clean_env
from conftest import ROOT

from .base_install import server_modules, without_server_packages

SRC = ROOT / "src"
PACKAGE = SRC / "phonecloud" / "client"
FILES = sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path, src: Path = SRC) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def imports(path: Path, src: Path = SRC) -> list[tuple[int, str, str | None, str]]:
    """(line, module, name, the name it is bound to) for every import in the file, relative ones made absolute;
    name None for `import m`."""
    module = module_name(path, src)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, None, alias.asname or alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found += [(node.lineno, base, alias.name, alias.asname or alias.name) for alias in node.names]
    return found


def outside_the_client(module: str) -> bool:
    return module.split(".")[0] == "phonecloud" and not (module + ".").startswith("phonecloud.client.")


def private_uses(path: Path, src: Path = SRC) -> list[str]:
    """Private names taken from phonecloud modules outside the client: imported, or reached as attributes of
    such a module (`local._fsync_dir`)."""
    problems, outside_names = [], set()
    where = path.relative_to(src)
    for line, module, name, bound in imports(path, src):
        if not outside_the_client(module):
            continue
        if any(private(part) for part in module.split(".")) or (name and private(name)):
            problems.append((line, f"{where}:{line}: {module} {name or ''}".strip()))
        outside_names.add(bound)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in outside_names:
                problems.append((node.lineno, f"{where}:{node.lineno}: {ast.unparse(node)}"))
    return [problem for _, problem in sorted(problems)]


def test_the_package_is_where_the_checks_look():
    assert len(FILES) > 10 and PACKAGE / "api.py" in FILES


def test_no_client_module_takes_a_private_name_from_outside_the_client():
    assert [problem for path in FILES for problem in private_uses(path)] == []


def test_the_private_name_check_sees_what_it_must(tmp_path):
    path = tmp_path / "phonecloud" / "client" / "sync" / "sample.py"
    path.parent.mkdir(parents=True)
    path.write_text("from phonecloud.core.blobstore.local import _fsync_dir\nfrom ..api import _refusal\n"
                    "from phonecloud import __version__\nfrom ...core import _hidden as shown\n"
                    "import phonecloud.core.blobstore.local as local\nlocal._x()\nfrom phonecloud.core import db\n"
                    "db.engine._pool\n")
    assert [problem.split(": ", 1)[1] for problem in private_uses(path, tmp_path)] == [
        "phonecloud.core.blobstore.local _fsync_dir", "phonecloud.core _hidden", "local._x", "db.engine._pool"]


def test_no_client_module_imports_a_server_package_even_later():
    server = set(server_modules())
    found = [f"{path.relative_to(SRC)}:{line}: {module}" for path in FILES for line, module, _, _ in imports(path)
             if module.split(".")[0] in server]
    assert found == []


@pytest.mark.parametrize("module", [module_name(path) for path in FILES])
def test_each_client_module_imports_without_the_server_packages(module, tmp_path):
    done = without_server_packages("--try-import", module, env=clean_env(PHONECLOUD_CLIENT_DIR=str(tmp_path)))
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("module", ["fastapi", "sqlalchemy.orm", "pydantic", "pyvips", "av", "uvicorn", "alembic"])
def test_the_blocker_really_blocks(module, tmp_path):
    done = without_server_packages("--try-import", module, env=clean_env(PHONECLOUD_CLIENT_DIR=str(tmp_path)))
    assert done.returncode != 0
    assert "blocked: not in the base install" in done.stderr
