"""The public API is what ``__all__`` says, in every package (after httpx's ``test_exported_members``)."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["batchsieve", "batchsieve.dedup", "batchsieve.policies", "batchsieve.verifier", "batchsieve.kernels",
            "batchsieve.models", "batchsieve.server", "batchsieve.ray_serve",
            "batchsieve.calibration"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exist_once(name):
    module = importlib.import_module(name)
    assert len(set(module.__all__)) == len(module.__all__)
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert missing == []


def test_the_top_level_exports_the_whole_public_api():
    import batchsieve

    public = {n for n in dir(batchsieve) if not n.startswith("_")}
    submodules = {n for n in public if type(getattr(batchsieve, n)).__name__ == "module"}
    assert public - submodules == set(batchsieve.__all__)
