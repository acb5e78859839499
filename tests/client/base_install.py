"""The base install (`pip install phonecloud`: the client) without the server's packages, two ways: the
`phonecloud` command run with the server's modules refused (a Python one-liner that blocks them), and a fresh
virtualenv that holds nothing but this checkout and its base dependencies. Which packages are the server's
is read from the installed metadata: what the server, postgres and s3 extras bring that the base does not."""

from __future__ import annotations

import shutil
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from cli_runner import Run, phonecloud
from conftest import ROOT

SERVER_EXTRAS = ("server", "postgres", "s3")


def _requirements(distribution: str, extras: tuple[str, ...]) -> list[Requirement]:
    """What the distribution requires with these extras ("" for none), as installed here."""
    wanted = []
    for text in metadata.requires(distribution) or []:
        requirement = Requirement(text)
        if requirement.marker is None or any(requirement.marker.evaluate({"extra": extra}) for extra in extras):
            wanted.append(requirement)
    return wanted


def _closure(roots: list[Requirement]) -> set[str]:
    """The distributions these requirements bring in, with everything they require in turn."""
    seen: dict[str, set[str]] = {}
    todo = list(roots)
    while todo:
        requirement = todo.pop()
        name, extras = canonicalize_name(requirement.name), set(requirement.extras)
        if name in seen and extras <= seen[name]:
            continue
        seen[name] = seen.get(name, set()) | extras
        try:
            todo += _requirements(requirement.name, ("", *sorted(extras)))
        except metadata.PackageNotFoundError:
            continue  # not installed here (another platform's), so not what a test could import anyway
    return set(seen)


@cache
def base_distributions() -> frozenset[str]:
    return frozenset(_closure(_requirements("phonecloud", ("",))))


@cache
def server_modules() -> tuple[str, ...]:
    """Top-level modules that only the server's extras bring (fastapi, sqlalchemy, pydantic, pyvips, av ...)."""
    base = _requirements("phonecloud", ("",))
    extras = [requirement for requirement in _requirements("phonecloud", SERVER_EXTRAS) if requirement not in base]
    server_only = _closure(extras) - base_distributions()
    return tuple(sorted(module for module, distributions in metadata.packages_distributions().items()
                        if all(canonicalize_name(name) in server_only for name in distributions)))


# Run as `python -c BLOCKED_MAIN args...`: refuses to import the server's modules, then runs `phonecloud args...`,
# or with `--try-import MODULE` imports that module.
BLOCKED_MAIN = """
import importlib.abc, sys

BLOCKED = set(sys.argv[1].split(","))

class RefuseServerPackages(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: not in the base install)", name=name)
        return None

sys.meta_path.insert(0, RefuseServerPackages())
sys.argv = ["phonecloud", *sys.argv[2:]]
if sys.argv[1:2] == ["--try-import"]:
    __import__(sys.argv[2])
else:
    from phonecloud.cli import main
    main()
"""


def without_server_packages(*args: str, env: dict[str, str]) -> Run:
    return phonecloud(env, ",".join(server_modules()), *args, program=(sys.executable, "-c", BLOCKED_MAIN))


# -- a fresh virtualenv -------------------------------------------------------------------------------------


def purelib(python: Path) -> Path:
    """Where that interpreter installs pure-Python packages (its site-packages)."""
    return Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True, timeout=60).stdout.strip())


def venv_with_base_dependencies(where: Path, with_pip: bool = False) -> Path:
    """A virtualenv holding, copied from this environment (no package index is asked), the base dependencies and
    all they require, nothing else (not phonecloud; pip too when with_pip); returns its `python`."""
    subprocess.run([sys.executable, "-m", "venv", *([] if with_pip else ["--without-pip"]), str(where)], check=True,
                   timeout=120)
    python = where / "bin" / "python"
    site = purelib(python)
    for name in base_distributions():
        distribution = metadata.distribution(name)
        for file in distribution.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue  # its scripts (bin/), and bytecode of another interpreter's making
            target = site / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(distribution.locate_file(file), target)
    return python


def make_base_venv(where: Path) -> Path:
    """A virtualenv with this checkout's source and the base dependencies (venv_with_base_dependencies), nothing
    else; returns its `phonecloud` command."""
    python = venv_with_base_dependencies(where)
    site = purelib(python)
    (site / "phonecloud.pth").write_text(f"{ROOT / 'src'}\n")  # as an editable install of the checkout
    command = where / "bin" / "phonecloud"
    command.write_text(f"#!{python} -I\nfrom phonecloud.cli import main\n\nmain()\n")  # -I: no PYTHONPATH
    command.chmod(0o755)
    return command
