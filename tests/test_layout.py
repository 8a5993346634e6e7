"""The folder layout shows the pipeline: every module is in the module map, none is too long."""

import ser_lib
from conftest import PROJECT

LIB = PROJECT / "ser_lib"


def _modules():
    for path in sorted(LIB.rglob("*.py")):
        rel = path.relative_to(LIB).with_suffix("")
        if rel.name == "__init__":
            rel = rel.parent
        yield path, ".".join(("ser_lib", *rel.parts))


def test_the_module_map_lists_every_module():
    missing = [name for _, name in _modules() if name != "ser_lib" and f":mod:`{name}`" not in ser_lib.__doc__]
    assert not missing, f"ser_lib/__init__.py's module map lacks {missing}"


def test_no_module_is_over_400_lines():
    long = {name: n for path, name in _modules() if (n := len(path.read_text().splitlines())) > 400}
    assert not long, long
