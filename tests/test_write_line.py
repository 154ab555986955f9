"""The write on loaded lines (``write_line_tb``): the DAC's share of a 64-cell bit line and a
cell's share of a 64-cell word line, in real ngspice."""

from __future__ import annotations

import numpy as np
import pytest

from gaincell.characterize import Axis, SweepSpec
from gaincell.characterize.store import read_characterization
from gaincell.characterize.sweep import run_sweep
from gaincell.characterize.write_line import (
    LINE_CELLS,
    MET2_CAPACITANCE_PER_M,
    V_WORD_LINE,
)
from gaincell.circuits.design import V_DD, V_MID

WRITTEN = (0.45, 1.35)


def test_met2_capacitance_is_the_tech_lefs_about_0_078_ff_per_um():
    assert pytest.approx(0.0779e-15, rel=1e-3) == MET2_CAPACITANCE_PER_M * 1e-6


@pytest.fixture(scope="module")
def write_line(tmp_path_factory):
    spec = SweepSpec(
        circuit="write-line",
        axes={"v_store": Axis(WRITTEN[0], WRITTEN[1], 2)},
        corners=("tt",),
        temperatures=(27.0,),
    )
    out = tmp_path_factory.mktemp("write_line") / "write_line.h5"
    run_sweep(spec, out, jobs=1, progress=False)
    return spec, read_characterization(out)


@pytest.mark.spice
def test_the_bit_line_carries_its_wire_and_64_cells(write_line):
    spec, data = write_line
    settings = spec.settings  # the circuit's defaults filled in
    wire = settings["cell_pitch"] * LINE_CELLS * settings["wire_capacitance"]
    c_line = data.quantities["c_bit_line"][0, 0]
    # the wire plus 64 write-transistor drains (each a fraction of a fF): an m= multiplier
    # that ngspice ignored would leave the line at the wire and one cell
    assert np.all(c_line > wire + 5e-15)
    assert np.all(c_line < wire + 64 * 0.5e-15)


@pytest.mark.spice
def test_the_dac_pays_for_the_line_and_for_charging_the_cell(write_line):
    _, data = write_line
    q = {name: data.quantities[name][0, 0] for name in ("e_dac", "e_word_line", "e_write")}
    c_line = data.quantities["c_bit_line"][0, 0]
    swing = np.abs(np.asarray(WRITTEN) - V_MID)
    # writing 0.45 V: the supply pays only to bring the line back up to mid-rail
    assert q["e_dac"][0] == pytest.approx(V_DD * c_line[0] * swing[0], rel=0.1)
    # writing 1.35 V: the line up and the written cell's storage (~50 fF) charged through it
    assert q["e_dac"][1] > V_DD * (c_line[1] * swing[1] + 30e-15 * 0.4)
    # the word line: 64 thick-oxide gates and the wire, swung to 3.3 V
    assert np.all(q["e_word_line"] > V_WORD_LINE**2 * (30e-15 + 64 * 0.2e-15))
    assert np.allclose(q["e_write"], q["e_dac"] + q["e_word_line"] / LINE_CELLS, rtol=1e-12)
    written = data.quantities["v_written"][0, 0]
    assert np.all(np.abs(written - np.asarray(WRITTEN)) < 0.05)
