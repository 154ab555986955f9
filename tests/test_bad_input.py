"""Bad input: a clear error naming the problem, and no file left behind."""

from __future__ import annotations

import os

import pytest

from gaincell.characterize import Axis, SpecError, SweepSpec
from gaincell.circuits.netlist import NetlistNotFoundError, load_netlist
from gaincell.cli import main


def _run(tmp_path, capsys, *flags: str) -> tuple[int, str]:
    out = tmp_path / "out.h5"
    code = main(["characterize", "multiplier", "--quiet", "--out", str(out), *flags])
    error = capsys.readouterr().err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no partial or temporary file either
    return code, error


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--corners", "tt,xx"], "unknown corner 'xx'"),
        (["--v-in", "0:1.8:1"], "axis v_in is empty"),
        (["--v-in", "0:1.8:0"], "axis v_in is empty"),
        (["--v-store", "1.35:0.45:10"], "axis v_store is reversed"),
        (["--v-in", "0:2.5:10"], "outside the devices' rating"),
        (["--v-store=-0.3:1:10"], "outside the devices' rating"),
        (["--temps", "27,400"], "temperature 400.0 C outside"),
        (["--v-in", "0:1.8"], "expected start:stop:points"),
        (["--job", "no_such_preset"], "not found"),
    ],
)
def test_bad_sweep_is_a_clear_error(tmp_path, capsys, flags, message):
    code, error = _run(tmp_path, capsys, *flags)
    assert code == 2
    assert message in error


def test_unwritable_output_path(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions: use a missing folder instead
            target = tmp_path / "missing" / "out.h5"
            message = "does not exist"
        else:
            target = locked / "out.h5"
            message = "not writable"
        code = main(["characterize", "multiplier", "--quiet", "--out", str(target)])
        assert code == 2
        assert message in capsys.readouterr().err
        assert not target.exists()
    finally:
        os.chmod(locked, 0o700)


def test_output_must_be_hdf5(tmp_path, capsys):
    code = main(["characterize", "multiplier", "--quiet", "--out", str(tmp_path / "out.txt")])
    assert code == 2
    assert "must end in .h5" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_missing_netlist_is_named():
    with pytest.raises(NetlistNotFoundError, match="no_such_cell"):
        load_netlist("no_such_cell")


def test_missing_netlist_during_a_sweep_leaves_no_file(tmp_path, monkeypatch):
    from gaincell.characterize.multiplier import MultiplierCharacterization
    from gaincell.characterize.sweep import _deck, run_sweep

    _deck.cache_clear()
    monkeypatch.setattr(
        MultiplierCharacterization, "netlists", ("gaincell_missing", "multiplier_tb")
    )
    with pytest.raises(NetlistNotFoundError, match="gaincell_missing"):
        run_sweep(
            SweepSpec(axes={"v_in": Axis(0, 1.8, 3), "v_store": Axis(0.45, 1.35, 3)}),
            tmp_path / "o.h5",
            progress=False,
        )
    _deck.cache_clear()
    assert list(tmp_path.iterdir()) == []


def test_unknown_circuit_and_keys_are_rejected():
    with pytest.raises(SpecError, match="unknown circuit 'resistor'"):
        SweepSpec(circuit="resistor")
    with pytest.raises(SpecError, match="unknown sweep setting"):
        SweepSpec.from_dict({"corner": ["tt"]})
