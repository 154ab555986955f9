"""Every ``gaincell`` command line the README shows runs as printed, in README order, from one
empty folder (later lines read what earlier ones wrote); long ones get small axes appended."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SMALLER = {
    "gaincell characterize relu-c2p-recovery": "--jobs 2",  # before relu-c2p: a longer prefix
    "gaincell characterize multiplier --corners": "--v-in 0:1.8:4 --v-store 0.45:1.35:5",
    "gaincell characterize signed-c2p-step": "--axis offset=0.1e-15:0.4e-15:2 --jobs 1",
    "gaincell characterize relu-c2p": "--axis charge=-1e-12:1.6e-12:5 --jobs 2",
    "gaincell characterize signed-c2p": "--axis charge=-1e-12:1.6e-12:5 --jobs 2",
    "gaincell characterize mac-chain": "--axis case=0:1:2",
    "gaincell characterize multiplier-pulse": (
        "--corners tt --temps 27 --axis v_store=0.45:1.35:3 --axis v_col=0.6:1.2:2"
    ),
    "gaincell validate-tile": "--cases 1 --size 4",
}
"""README line prefix -> arguments appended (later options win) so the suite stays quick."""


def readme_commands() -> list[str]:
    """The command lines of the README's ``gaincell`` section, comments removed."""
    text = (REPO / "README.md").read_text()
    section = text.split("## The `gaincell` command", 1)[1].split("\n## ", 1)[0]
    lines = re.findall(r"^    (gaincell .*)$", section, re.MULTILINE)
    return [re.split(r"\s+# ", line, maxsplit=1)[0].strip() for line in lines]


def _smaller(line: str) -> str:
    for prefix, extra in SMALLER.items():
        if line.startswith(prefix):
            command, pipe, rest = line.partition(" | ")
            return f"{command} {extra}{pipe}{rest}"
    return line


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("readme")


def test_readme_shows_the_commands():
    lines = readme_commands()
    assert len(lines) >= 15
    assert any("--temps -40,27,85" in line for line in lines)


# slow: the commands together take about five minutes (the main job alone minutes more), and
# each reads what the ones before it wrote, so they run as one sequence, with --runslow (CI).
@pytest.mark.slow
@pytest.mark.spice
@pytest.mark.parametrize("line", readme_commands())
def test_readme_command_runs_as_printed(line, workdir):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env["MPLBACKEND"] = "Agg"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", _smaller(line)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, f"{line}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr
