"""Shared fixtures (small real sweeps, run once per session) and the test switches.

``--spice required|if-available|disabled`` (default ``if-available``): tests marked ``spice``
run ngspice; with ``required`` a missing ngspice fails them, with ``if-available`` it skips
them, with ``disabled`` they are skipped and libngspice is made unloadable, so an unmarked
test that simulates fails loudly. ``--runslow`` also runs the tests marked ``slow`` (CI does).
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
from pathlib import Path

import pytest

from gaincell.characterize import Axis, SweepSpec

REPO = Path(__file__).resolve().parent.parent
SPICE_MODES = ("required", "if-available", "disabled")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--spice",
        choices=SPICE_MODES,
        default="if-available",
        help="run the tests marked spice: required (fail without ngspice), if-available "
        "(skip without it, the default) or disabled (skip them; libngspice made unloadable)",
    )
    parser.addoption("--runslow", action="store_true", help="also run the tests marked slow")


def ngspice_available() -> bool:
    """Both the ngspice program and its shared library are installed."""
    return shutil.which("ngspice") is not None and (ctypes.util.find_library("ngspice") is not None)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--spice") == "disabled":
        # Inherited by worker processes: any simulation outside a spice test fails.
        os.environ["NGSPICE_LIBRARY_PATH"] = "/nonexistent/spice-disabled/libngspice{}.so"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mode = config.getoption("--spice")
    missing = mode != "disabled" and not ngspice_available()
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(pytest.mark.skip(reason="slow: run with --runslow"))
        if "spice" not in item.keywords:
            continue
        if mode == "disabled":
            item.add_marker(pytest.mark.skip(reason="ngspice disabled (--spice disabled)"))
        elif missing and mode == "if-available":
            item.add_marker(pytest.mark.skip(reason="ngspice or libngspice not installed"))


def pytest_runtest_setup(item: pytest.Item) -> None:
    if (
        "spice" in item.keywords
        and item.config.getoption("--spice") == "required"
        and not ngspice_available()
    ):
        pytest.fail("ngspice and libngspice are required (--spice required) but not installed")


@pytest.fixture(scope="session")
def small_spec() -> SweepSpec:
    """Two corners, two temperatures, a coarse grid: about a second of ngspice."""
    return SweepSpec(
        axes={"v_in": Axis(0.0, 1.8, 10), "v_store": Axis(0.45, 1.35, 19)},
        corners=("tt", "ff"),
        temperatures=(27.0, 85.0),
    )


@pytest.fixture(scope="session")
def small_sweep(tmp_path_factory, small_spec) -> Path:
    """A characterization file of ``small_spec`` written by the real pipeline (2 workers)."""
    from gaincell.characterize.sweep import run_sweep

    out = tmp_path_factory.mktemp("sweep") / "multiplier_small.h5"
    run_sweep(small_spec, out, jobs=2, progress=False)
    return out


@pytest.fixture
def energy_models():
    """A factory of energy models with simple, distinguishable laws (J, W); keyword
    arguments replace fields."""
    from dataclasses import replace

    import numpy as np

    from gaincell.attention.energy import EnergyModels

    def pulse(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64)
        return np.stack([1e-15 * (1 + v), 2e-7 * v], axis=-1)

    models = EnergyModels(
        pulse=pulse,
        relu_cycle=lambda q: 1e-12 + 1e-3 * np.abs(q),
        signed_cycle=lambda q: 2e-12 + 2e-3 * np.abs(q),
        relu_static=lambda q: np.full(np.shape(q), 3e-4),
        signed_static=lambda q: np.full(np.shape(q), 4e-4),
        write=lambda v: 1e-14 * np.asarray(v),
    )

    def make(**changes: object) -> EnergyModels:
        return replace(models, **changes)

    return make


def _same_report(got: object, want: object, rel: float) -> bool:
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(_same_report(got[key], want[key], rel) for key in want)
        )
    if isinstance(want, list | tuple):
        return (
            isinstance(got, list | tuple)
            and len(got) == len(want)
            and all(_same_report(g, w, rel) for g, w in zip(got, want, strict=True))
        )
    if isinstance(want, float) and not isinstance(got, bool):
        return got == pytest.approx(want, rel=rel, abs=1e-300)
    return got == want


@pytest.fixture
def same_report():
    """Whether a recomputed report (nested dicts and lists of numbers, names and flags) is a
    stored one: every key, flag and count the same, every float to 1e-9 relative (their last
    digits change with the CPU the numbers were summed on)."""

    def compare(got: object, want: object, rel: float = 1e-9) -> bool:
        return _same_report(got, want, rel)

    return compare
