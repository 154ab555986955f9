"""HDF5 store: round trip with full provenance, atomic writes, clear errors on foreign files."""

from __future__ import annotations

import hashlib
import json

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaincell.characterize import Axis, SweepSpec
from gaincell.characterize.store import (
    REQUIRED_PROVENANCE,
    AxisData,
    CharacterizationData,
    StoreError,
    read_characterization,
    write_characterization,
)
from gaincell.circuits.pdk import find_models


@pytest.mark.spice
def test_sweep_file_carries_every_provenance_attribute(small_spec, small_sweep):
    data = read_characterization(small_sweep)
    for key in REQUIRED_PROVENANCE:
        assert key in data.provenance, key
    prov = data.provenance
    assert prov["ngspice_version"].startswith("ngspice-")
    assert SweepSpec.from_dict(prov["sweep_spec"]) == small_spec
    assert hashlib.sha256(prov["netlist"].encode()).hexdigest() == prov["netlist_sha256"]
    assert ".subckt gaincell_multiplier" in prov["netlist"]
    models = find_models().models_dir.parent
    for relative, digest in prov["model_files_sha256"].items():
        assert hashlib.sha256((models / relative).read_bytes()).hexdigest() == digest
    assert any("nfet_01v8__ff" in path for path in prov["model_files_sha256"])
    assert prov["pdk_name"].startswith("sky130")
    assert prov["package_version"]
    assert prov["git_commit"]
    assert prov["created"].endswith("+00:00")


@pytest.mark.spice
def test_datasets_name_their_axes_and_units(small_spec, small_sweep):
    with h5py.File(small_sweep) as h5:
        i_out = h5["i_out"]
        assert list(i_out.attrs["axes"]) == ["corner", "temperature", "v_store", "v_in"]
        assert i_out.attrs["units"] == "A"
        assert i_out.shape == (2, 2, 19, 10)
        assert h5["axes/v_in"].attrs["units"] == "V"
        assert h5["axes/temperature"].attrs["units"] == "degC"
        np.testing.assert_allclose(h5["axes/v_store"][()], small_spec.v_store.values())
        assert i_out.dims[3][0].name == "/axes/v_in"  # dimension scales attached


def _tiny(provenance: dict) -> CharacterizationData:
    return CharacterizationData(
        circuit="multiplier",
        axes={
            "corner": AxisData(np.array(["tt"]), "", "c"),
            "x": AxisData(np.arange(3.0), "V", "x"),
        },
        quantities={"q": np.ones((1, 3))},
        quantity_axes={"q": ("corner", "x")},
        units={"q": "A"},
        descriptions={"q": "q"},
        provenance=provenance,
    )


def _full_provenance() -> dict:
    return {key: "x" for key in REQUIRED_PROVENANCE} | {"model_files_sha256": {"a": "b"}}


def test_round_trip(tmp_path):
    path = write_characterization(tmp_path / "t.h5", _tiny(_full_provenance()))
    data = read_characterization(path)
    assert data.provenance["model_files_sha256"] == {"a": "b"}
    assert list(data.axes["corner"].values) == ["tt"]
    np.testing.assert_array_equal(data.quantities["q"], np.ones((1, 3)))


def test_incomplete_provenance_leaves_no_file(tmp_path):
    provenance = _full_provenance()
    del provenance["git_commit"]
    with pytest.raises(StoreError, match="git_commit"):
        write_characterization(tmp_path / "t.h5", _tiny(provenance))
    assert list(tmp_path.iterdir()) == []


def test_failure_while_writing_leaves_no_file(tmp_path):
    data = _tiny(_full_provenance())
    data.quantities["q"] = np.ones((2, 3))  # shape disagrees with the axes
    with pytest.raises(StoreError, match="shape"):
        write_characterization(tmp_path / "t.h5", data)
    assert list(tmp_path.iterdir()) == []


def test_foreign_and_corrupt_files_are_rejected(tmp_path):
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as h5:
        h5["x"] = 1
    with pytest.raises(StoreError, match="not a gaincell characterization"):
        read_characterization(foreign)
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(StoreError, match="not a readable HDF5"):
        read_characterization(corrupt)


axis_values = st.floats(min_value=0.0, max_value=1.8, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(
    a=axis_values,
    b=axis_values,
    n=st.integers(2, 200),
    corners=st.lists(
        st.sampled_from(["tt", "ss", "ff", "sf", "fs"]), min_size=1, max_size=5, unique=True
    ),
    temps=st.lists(st.floats(-40, 125, allow_nan=False), min_size=1, max_size=4, unique=True),
)
def test_spec_json_round_trip(a, b, n, corners, temps):
    if a >= b:
        a, b = b, a
    if a == b:
        return
    spec = SweepSpec(
        axes={"v_in": Axis(a, b, n)}, corners=tuple(corners), temperatures=tuple(temps)
    )
    assert SweepSpec.from_json(spec.to_json()) == spec
    assert json.loads(spec.to_json())["corners"] == corners
