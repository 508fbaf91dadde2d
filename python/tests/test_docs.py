"""Every public name has a docstring, and the package is typed."""

from __future__ import annotations

import inspect
from importlib import resources

import pytest

import workqueue

PUBLIC = [name for name in workqueue.__all__ if name not in ("__version__", "Key", "MAX_KEY_DEPTH")]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_has_a_docstring(name: str) -> None:
    obj = getattr(workqueue, name)
    assert inspect.getdoc(obj), f"workqueue.{name} has no docstring"


def public_members() -> list[tuple[str, str]]:
    members = []
    for name in PUBLIC:
        obj = getattr(workqueue, name)
        if not inspect.isclass(obj) or issubclass(obj, BaseException):
            continue
        for member in dir(obj):
            if member.startswith("_") and member not in ("__len__", "__next__", "__anext__"):
                continue
            members.append((name, member))
    return members


@pytest.mark.parametrize(("cls", "member"), public_members())
def test_public_member_has_a_docstring(cls: str, member: str) -> None:
    attribute = getattr(getattr(workqueue, cls), member)
    assert inspect.getdoc(attribute), f"workqueue.{cls}.{member} has no docstring"


def test_package_ships_stubs_and_py_typed() -> None:
    files = resources.files("workqueue")
    assert files.joinpath("py.typed").is_file()
    assert files.joinpath("_workqueue.pyi").is_file()


def test_all_is_complete() -> None:
    assert sorted(workqueue.__all__) == sorted(set(workqueue.__all__))
    for name in workqueue.__all__:
        assert hasattr(workqueue, name)
