"""Every public name has a docstring, and the package is typed."""

from __future__ import annotations

import enum
import inspect
from importlib import resources
from types import ModuleType

import pytest

import workqueue
import workqueue.metrics

CONSTANTS = ("__version__", "Key", "MAX_KEY_DEPTH", "BUCKET_BOUNDS", "MAX_PRIORITY_LABELS")
MODULES: list[ModuleType] = [workqueue, workqueue.metrics]
PUBLIC = [
    (module, name)
    for module in MODULES
    for name in module.__all__
    if name not in CONSTANTS and not isinstance(getattr(module, name), ModuleType)
]


def label(item: tuple[ModuleType, str]) -> str:
    return f"{item[0].__name__}.{item[1]}"


@pytest.mark.parametrize("item", PUBLIC, ids=label)
def test_public_name_has_a_docstring(item: tuple[ModuleType, str]) -> None:
    module, name = item
    assert inspect.getdoc(getattr(module, name)), f"{label(item)} has no docstring"


def test_modules_have_docstrings() -> None:
    for module in MODULES:
        assert inspect.getdoc(module), f"{module.__name__} has no docstring"


def public_members() -> list[tuple[str, str]]:
    members = []
    for module, name in PUBLIC:
        obj = getattr(module, name)
        if not inspect.isclass(obj) or issubclass(obj, BaseException):
            continue
        for member in dir(obj):
            if member.startswith("_") and member not in ("__len__", "__next__", "__anext__"):
                continue
            if issubclass(obj, enum.Enum) and member in obj.__members__:
                continue  # enum members carry their class's documentation
            members.append((f"{module.__name__}.{name}", member))
    return members


@pytest.mark.parametrize(("cls", "member"), public_members())
def test_public_member_has_a_docstring(cls: str, member: str) -> None:
    module, _, name = cls.rpartition(".")
    obj = getattr(next(m for m in MODULES if m.__name__ == module), name)
    assert inspect.getdoc(getattr(obj, member)), f"{cls}.{member} has no docstring"


def test_package_ships_stubs_and_py_typed() -> None:
    files = resources.files("workqueue")
    assert files.joinpath("py.typed").is_file()
    assert files.joinpath("_workqueue.pyi").is_file()


def test_all_is_complete() -> None:
    for module in MODULES:
        assert sorted(module.__all__) == sorted(set(module.__all__))
        for name in module.__all__:
            assert hasattr(module, name)
