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
        (["--v-in", "0:1.8:1001", "--v-store", "0.45:1.35:1001"], "over the limit of 1,000,000"),
        (["--v-in", "0:1.8:37", "--v-store", "0.45:1.35:91", "--max-points", "10"], "3,367"),
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


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('temperatures = "27"', "temperatures must be a list of numbers"),
        ("temperatures = 27", "temperatures must be a list of numbers"),
        ('temperatures = [27, "85"]', "temperatures must be a list of numbers"),
        ('corners = "tt"', "corners must be a list of names"),
        ("axes = [1, 2]", "axes must be a table"),
        ("[sweep.axes]\nv_in = [0, 1.8, 5]", "axis v_in must be a table"),
        ("[sweep.axes]\nv_in = { start = 0, stop = 1.8, points = 5.5 }", "points must be an"),
        ('[sweep.axes]\nv_in = { start = "0", stop = 1.8, points = 5 }', "start must be a number"),
        ('[sweep.settings]\ntime_step = "1n"', "setting time_step must be a number"),
    ],
)
def test_job_file_types_are_checked_strictly(tmp_path, capsys, body, message):
    """A string is never a list (``temperatures = "27"`` once ran at 2 and 7 C), a number is
    never a string, a table is a table: one clear error, no file."""
    job = tmp_path.parent / f"{tmp_path.name}_job.toml"
    job.write_text(f'[sweep]\ncircuit = "multiplier"\n{body}\n')
    code, error = _run(tmp_path, capsys, "--job", str(job))
    assert code == 2
    assert message in error, error


def test_an_output_that_is_an_input_is_refused(tmp_path, capsys):
    """``gaincell fit X.h5 --out X.h5`` once replaced a shipped characterization with a
    surrogate; now it is refused before anything runs, and the input is unchanged (also
    through another path to the same file)."""
    import shutil

    from gaincell.circuits.files import CHARACTERIZATION_DIR, sha256_file

    source = tmp_path / "cell_load.h5"
    shutil.copy(CHARACTERIZATION_DIR / "cell_load_sky130.h5", source)
    before = sha256_file(source)
    for out in (source, tmp_path / "." / "cell_load.h5"):
        code = main(["fit", str(source), "--holdout", "0", "--out", str(out)])
        assert code == 2
        assert "is an input of this command" in capsys.readouterr().err
    assert sha256_file(source) == before
    code = main(["validate-tile", "--reuse", str(source), "--out", str(source), "--quiet"])
    assert code == 2 and "is an input of this command" in capsys.readouterr().err


def test_jobs_are_capped_at_the_cores_available(capsys):
    from gaincell.characterize.parallel import available_cores, resolve_jobs

    cores = available_cores()
    assert resolve_jobs(cores + 998) == cores
    assert f"--jobs {cores + 998} capped at {cores}" in capsys.readouterr().err
    assert resolve_jobs(-1) == cores and resolve_jobs(1) == 1


def test_negative_temperatures_parse_as_printed_in_the_readme():
    from gaincell.cli import _join_values, _spec_from_args, build_parser

    argv = ["characterize", "multiplier", "--corners", "tt,ss,ff", "--temps", "-40,27,85"]
    args = build_parser().parse_args(_join_values(argv))
    spec = _spec_from_args(args)
    assert spec.temperatures == (-40.0, 27.0, 85.0) and spec.corners == ("tt", "ss", "ff")


def test_figures_without_data_name_the_file_and_the_command(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["figures", "--data", str(tmp_path / "nothing")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error
    assert "multiplier_sky130.h5" in error
    assert "gaincell characterize multiplier --job multiplier_sky130" in error


def test_every_user_error_is_a_gaincell_error():
    from gaincell import GaincellError
    from gaincell.circuits.h5 import StoreError
    from gaincell.circuits.pdk import PdkNotFoundError
    from gaincell.circuits.runner import SpiceError
    from gaincell.errors import InputError
    from gaincell.surrogate import SurrogateError

    for error in (SpecError, StoreError, PdkNotFoundError, SpiceError, InputError, SurrogateError):
        assert issubclass(error, GaincellError)
    assert issubclass(NetlistNotFoundError, FileNotFoundError)
    assert issubclass(SpecError, ValueError)


def test_a_programming_bug_is_not_reported_as_a_user_error(monkeypatch):
    import gaincell.cli as cli

    def broken(args):
        raise ValueError("a bug")

    monkeypatch.setattr(cli, "cmd_surrogates", broken)
    with pytest.raises(ValueError, match="a bug"):
        cli.main(["surrogates"])


@pytest.mark.parametrize(
    ("command", "flags", "message"),
    [
        ("cost", ["--corner", "xx"], "corner 'xx' is not characterized: tt, ss, ff, sf, fs"),
        ("cost", ["--temp", "300"], "temperature 300 C is outside the characterized range"),
        ("simulate-head", ["--temp", "-41"], "temperature -41 C is outside the characterized"),
        ("validate-tile", ["--temp", "nan"], "temperature nan C is outside the characterized"),
    ],
)
def test_head_outside_the_characterized_conditions(tmp_path, capsys, command, flags, message):
    out = tmp_path / "out.h5"
    common = {
        "cost": ["--tokens", "4", "--seed", "1", "--window", "64"],
        "simulate-head": ["--tokens", "4", "--seed", "1", "--window", "64"],
        "validate-tile": ["--size", "16", "--cases", "1", "--quiet"],
    }[command]
    code = main([command, *common, *flags, "--out", str(out)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == []
