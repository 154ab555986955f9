"""The ngspice runner: real runs, one error type with the deck and log, circuit reuse."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from gaincell.circuits.runner import SpiceError, get_runner

DIVIDER = """* divider
v1 a 0 1.0
r1 a b 1k
r2 b 0 3k
.end
"""


@pytest.mark.spice
def test_runs_a_dc_sweep_and_returns_vectors():
    runner = get_runner()
    assert runner.version.startswith("ngspice-")
    with runner.loaded(DIVIDER) as circuit:
        circuit.command("dc v1 0 2 0.5")
        vectors = circuit.vectors(["v(b)", "i(v1)"])
    np.testing.assert_allclose(vectors["v(b)"], np.arange(0, 2.01, 0.5) * 0.75, rtol=1e-12)
    np.testing.assert_allclose(vectors["i(v1)"], -np.arange(0, 2.01, 0.5) / 4e3, rtol=1e-12)


@pytest.mark.spice
def test_bad_deck_raises_spice_error_with_deck_and_log():
    bad = DIVIDER.replace("r2 b 0 3k", "x1 b 0 no_such_subcircuit")
    with pytest.raises(SpiceError) as caught, get_runner().loaded(bad):
        pass
    error = caught.value
    assert "no_such_subcircuit" in error.deck
    assert "no_such_subcircuit" in (error.stdout + error.stderr).lower()
    assert (error.run_dir / "deck.sp").read_text() == bad
    assert (error.run_dir / "ngspice.log").is_file()
    copy = pickle.loads(pickle.dumps(error))  # crosses process boundaries intact
    assert copy.deck == bad and copy.reason == error.reason


@pytest.mark.spice
def test_failed_command_raises_and_runner_recovers():
    runner = get_runner()
    with pytest.raises(SpiceError, match="vnope"), runner.loaded(DIVIDER) as circuit:
        circuit.command("dc vnope 0 1 0.1")
    with runner.loaded(DIVIDER) as circuit:  # the same process keeps working
        circuit.command("op")
        assert circuit.vectors(["v(b)"])["v(b)"][0] == pytest.approx(0.75)


@pytest.mark.spice
def test_missing_vector_is_an_error():
    with pytest.raises(SpiceError, match="no vector"), get_runner().loaded(DIVIDER) as circuit:
        circuit.command("op")
        circuit.vectors(["v(nowhere)"])


@pytest.mark.spice
def test_reuse_keeps_one_parse_per_deck():
    runner = get_runner()
    loads = runner.loads
    for value in (0.5, 1.5):
        with runner.loaded(DIVIDER, reuse=True) as circuit:
            circuit.command(f"dc v1 {value} {value} 1")
            assert circuit.vectors(["v(b)"])["v(b)"][0] == pytest.approx(0.75 * value)
    assert runner.loads == loads + 1
    with runner.loaded(DIVIDER.replace("3k", "1k"), reuse=True) as circuit:  # a new deck reloads
        circuit.command("op")
        assert circuit.vectors(["v(b)"])["v(b)"][0] == pytest.approx(0.5)
    assert runner.loads == loads + 2


@pytest.mark.spice
def test_a_hostile_spiceinit_is_not_run(tmp_path):
    """libngspice runs ``.spiceinit`` from the working folder and HOME when it starts; the
    runner starts it from a private empty folder, so a file left there runs nothing (it did:
    ``shell touch ...`` in either place created the file, from ``gaincell info`` too)."""
    import os
    import subprocess
    import sys

    marker = tmp_path / "ran"
    (tmp_path / ".spiceinit").write_text(f"shell touch {marker}\necho HOSTILE\n")
    code = (
        "import os; from gaincell.circuits.runner import get_runner; r = get_runner(); "
        "print(r.version, os.getcwd(), os.environ['HOME'])"
    )
    env = dict(os.environ, HOME=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "ngspice-" in done.stdout and "HOSTILE" not in done.stdout + done.stderr
    # the process's own folder and HOME are given back
    assert done.stdout.split()[1:] == [str(tmp_path), str(tmp_path)]
    assert not marker.exists()


@pytest.mark.spice
def test_each_analysis_frees_the_previous_ones_vectors():
    # ngspice keeps every plot: 300 transients on one circuit grew a worker past 2 GB.
    runner = get_runner()
    with runner.loaded(DIVIDER) as circuit:
        for _ in range(3):
            circuit.command("dc v1 0 1 0.5")
            assert circuit.vectors(["v(b)"])["v(b)"].size == 3
        plots = [name for name in runner._ng.plot_names if name != "const"]
        assert len(plots) == 1, plots


@pytest.mark.spice
def test_a_deck_that_stops_ngspice_for_good_is_named_and_so_is_every_later_one(tmp_path):
    """An undefined parameter is a fatal parse error in ngspice 39: the shared library then
    refuses every later circuit ("cannot recover and awaits to be detached"). The runner says
    so, for that deck and for every later one, instead of failing obscurely. In a subprocess:
    this test's own libngspice must stay usable."""
    import os
    import subprocess
    import sys

    code = """
from gaincell.circuits.runner import SpiceError, get_runner
runner = get_runner()
bad = "* bad\\n.param a={b+1}\\nr1 1 0 {a}\\nv1 1 0 1\\n.end\\n"
good = "* good\\nr1 1 0 1k\\nv1 1 0 1\\n.end\\n"
for deck in (bad, good):
    try:
        with runner.loaded(deck):
            print("loaded")
    except SpiceError as error:
        print("refused:", error.reason)
"""
    env = dict(os.environ, HOME=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.strip().splitlines()[-2:]
    assert "Undefined parameter [b]" in first and "cannot be used again" in first
    assert "fatal error in an earlier deck" in second and "Undefined parameter [b]" in second


@pytest.mark.spice
def test_ngspice_writes_nothing_into_the_users_folder(tmp_path, monkeypatch):
    """A model check's warnings go to a file in ngspice's working folder (``bsim4v5.out``:
    Monte Carlo draws gave sky130 devices a negative Nfactor, and a campaign left the file
    in the folder it was started from); the runner loads and simulates from a private one,
    and gives the process's own folder back."""
    deck = """* a BSIM4 device whose parameter check warns
.model nch nmos level=54 version=4.5 nfactor=-0.1
m1 d g 0 0 nch w=1u l=0.15u
vd d 0 1.8
vg g 0 1.0
.end
"""
    monkeypatch.chdir(tmp_path)
    with get_runner().loaded(deck) as circuit:
        circuit.command("op")
        current = circuit.vectors(["i(vd)"])["i(vd)"]
    assert np.all(np.isfinite(current)) and current[0] < 0
    assert list(tmp_path.iterdir()) == []
    assert Path.cwd() == tmp_path
