"""Which ``ser_lib`` source files a piece of code depends on, and their fingerprint.

Used by the pipeline (is an experiment's report stale?) and by :mod:`ser_lib.runcache` (was a
cached run computed by the code that would compute it now?).
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

LIB_DIR = Path(__file__).resolve().parent


def imported_modules(source: str, package: str = "ser_lib", *, relative_base: bool = False) -> set[str]:
    """Top-level modules of ``package`` that a piece of Python source imports (anywhere in it).

    ``relative_base``: the source is a module of ``package`` itself, so ``from . import x`` and
    ``from .x import y`` count too.
    """
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == package and len(parts) > 1:
                    found.add(parts[1])
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            parts = mod.split(".") if mod else []
            if node.level == 0 and parts[:1] == [package] or (relative_base and node.level == 1):
                rest = parts[1:] if node.level == 0 else parts
                if rest:
                    found.add(rest[0])
                else:  # ``from ser_lib import a, b`` / ``from . import a``
                    found.update(alias.name for alias in node.names)
    return found


def module_closure(names, lib_dir: Path = LIB_DIR) -> list[Path]:
    """The source files of the modules ``names`` and of every ``ser_lib`` module they import,
    transitively, plus the package's ``__init__.py``; sorted. Unknown names are ignored."""
    todo, seen = set(names), set()
    while todo:
        name = todo.pop()
        path = lib_dir / f"{name}.py"
        if name in seen or not path.is_file():
            continue
        seen.add(name)
        todo |= imported_modules(path.read_text(), relative_base=True) - seen
    return sorted(p for p in {lib_dir / "__init__.py", *(lib_dir / f"{n}.py" for n in seen)} if p.is_file())


def files_digest(paths, lib_dir: Path = LIB_DIR) -> str:
    """SHA-256 over the names (relative to ``lib_dir``) and bytes of ``paths``, in the given order."""
    h = hashlib.sha256()
    for path in paths:
        h.update(str(Path(path).relative_to(lib_dir)).encode())
        h.update(Path(path).read_bytes())
    return h.hexdigest()


def source_fingerprint(names, lib_dir: Path = LIB_DIR) -> str:
    """SHA-256 over the names and bytes of :func:`module_closure` (``names``)."""
    return files_digest(module_closure(names, lib_dir), lib_dir)
