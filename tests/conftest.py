"""Shared fixtures."""

from __future__ import annotations

import pytest

from cxltool.sim.capture import load_capture, restore
from cxltool.sim.systems import build_fixture_into
from tests.transcripts import capture_file


@pytest.fixture(scope="session")
def restored_tree(tmp_path_factory):
    """`get(run, label)`: the directory of a captured state, restored once per session.

    Shared between tests: use it only for reading; copy it to change it.
    """
    trees: dict[tuple[str, str], str] = {}

    def get(run: str, label: str) -> str:
        key = (run, label)
        if key not in trees:
            dest = tmp_path_factory.mktemp(f"{run}-{label}")
            restore(load_capture(capture_file(run, label)), str(dest))
            trees[key] = str(dest)
        return trees[key]

    return get


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """`get(fixture)`: the directory of a built-in fixture, built once per session.

    Shared between tests: copy it (`cp -a`, which keeps the device nodes) to change it.
    """
    trees: dict[str, str] = {}

    def get(fixture: str) -> str:
        if fixture not in trees:
            dest = str(tmp_path_factory.mktemp(fixture) / "sys")
            build_fixture_into(fixture, dest)
            trees[fixture] = dest
        return trees[fixture]

    return get
