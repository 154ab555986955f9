"""Shared fixtures: small real sweeps, run once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaincell.characterize import Axis, SweepSpec

REPO = Path(__file__).resolve().parent.parent


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
