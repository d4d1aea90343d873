"""A Python child process without Beam, for the work a worker hands off: a page's extraction, killed past its
time limit (``parse.limit``), and the gazetteer's build, whose memory high-water mark ends with the child
(``entities.gazetteer``). The child is this interpreter, on this process's import path (``PYTHONPATH``),
without adding its own working directory to it (``-P``: a ``pickle.py`` there would stand for the standard
library's), and empty shells stand for the packages above the module it imports: their ``__init__``s import
Beam (seconds and ~100 MB)."""

from __future__ import annotations

import os
import sys

_SHELLS = """
import sys, types
for name, path in {shells!r}:
    shell = types.ModuleType(name)
    shell.__path__ = path
    sys.modules[name] = shell
"""


def python_child(module: str, code: str) -> tuple[list[str], dict[str, str]]:
    """(the command line, the environment) of a child that runs ``code``, which imports ``module``; the
    packages above it (imported here) are shells there, with this process's folders."""
    parts = module.split(".")[:-1]
    packages = [".".join(parts[: i + 1]) for i in range(len(parts))]
    shells = [(name, list(sys.modules[name].__path__)) for name in packages]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return [sys.executable, "-P", "-c", _SHELLS.format(shells=shells) + code], env
