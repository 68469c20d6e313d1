"""Every public callable documents exactly the parameters of its signature (numpydoc)."""

import inspect
import re

import pytest

import sklearn_ser
from sklearn_ser import datasets, evaluation, export, features, io, nn, pipeline, runtime, timeline

PUBLIC = [
    obj
    for obj in (
        *(getattr(sklearn_ser, name) for name in sklearn_ser.__all__),
        *(getattr(module, name)
          for module in (features, io, nn, datasets, evaluation, pipeline, timeline, runtime,
                         export)
          for name in module.__all__),
    )
    if callable(obj)
]
# Classes whose signatures forward **kwargs to skorch: only their own named
# parameters must be documented.
HEADER = re.compile(r"^(\s*)Parameters\n\1-{10}\n", re.MULTILINE)
ENTRY = re.compile(r"^(\w+(?:, \w+)*)\s*:", re.MULTILINE)


def documented_parameters(obj):
    doc = inspect.getdoc(obj) or ""
    match = HEADER.search(doc + "\n")
    if match is None:
        return None
    section = doc[match.end():]
    section = re.split(r"\n(?:Returns|Yields|Raises|Attributes|Notes|Examples|See Also)\n-+\n",
                       section)[0]
    names = set()
    for line in section.splitlines():
        if line and not line[0].isspace():
            entry = ENTRY.match(line)
            if entry:
                names.update(part.strip() for part in entry.group(1).split(","))
            elif line.startswith("**"):
                names.add(line.split()[0].lstrip("*"))
    return names


def signature_parameters(obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    params = inspect.signature(target).parameters.values()
    return {p.name for p in params if p.name not in ("self", "args")}


@pytest.mark.parametrize("obj", sorted(set(PUBLIC), key=lambda o: o.__qualname__),
                         ids=lambda o: o.__qualname__)
def test_docstring_parameters_match_signature(obj):
    documented = documented_parameters(obj)
    if documented is None:
        documented = documented_parameters(obj.__init__) if inspect.isclass(obj) else None
    expected = signature_parameters(obj)
    if not expected:
        return
    assert documented is not None, f"{obj.__qualname__} has no Parameters section"
    assert documented == expected, (
        f"{obj.__qualname__}: documented but not in signature {sorted(documented - expected)}, "
        f"in signature but undocumented {sorted(expected - documented)}"
    )
