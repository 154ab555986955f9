"""``gaincell simulate-head``: the array simulation against the behavioural model and softmax
attention, its HDF5 file, clear errors for bad inputs, and exact agreement with ideal circuits."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from gaincell.attention import HeadCircuits, behavioural_attention
from gaincell.attention.simulate import (
    FORMAT,
    pair_error,
    random_qkv,
    simulate_head,
    softmax_attention,
)
from gaincell.cli import main

# d = 64 (the converters' design point); with d = 16 and 16-token tiles the tiles' charges are
# a few converter offsets and the array's output barely correlates with the model's.
SMALL = ["--tokens", "80", "--window", "64", "--tile", "16", "--d", "64", "--seed", "0"]


def _rows(h5: h5py.File, name: str) -> list[dict]:
    return json.loads(h5.attrs[name])


def test_cli_writes_the_comparison_and_prints_the_tables(tmp_path, capsys):
    out = tmp_path / "head.h5"
    assert main(["simulate-head", *SMALL, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for text in ("80 tokens, window 64", "ms per token", "NRMSE(a*)", "by token age", "softmax"):
        assert text in printed
    with h5py.File(out, "r") as h5:
        assert h5.attrs["format"] == FORMAT and h5.attrs["seed"] == 0
        assert json.loads(h5.attrs["config"])["window"] == 64
        assert "tt" in h5.attrs["circuits_description"]
        assert "current_scale_A_per_unit" in json.loads(h5.attrs["circuits_derivation"])
        assert h5.attrs["git_commit"] and h5.attrs["package_version"] and h5.attrs["created"]
        assert h5["inputs/q"].shape == (80, 64)
        for model in ("array", "behavioural", "behavioural_matched", "behavioural_no_decay"):
            assert h5[f"{model}/output"].shape == (80, 64)
            assert h5[f"{model}/s"].shape == (80, 80)
        assert h5["softmax/output"].shape == (80, 64)
        array_output = h5["array/output"][()]
        q, k, v = (h5[f"inputs/{name}"][()] for name in "qkv")
        errors = _rows(h5, "errors")
        ages = _rows(h5, "age_errors")
    assert len(errors) == 8 and ages
    for row in errors:
        if row["model"] == "array" and row["reference"] == "behavioural":
            assert np.isfinite(row["nrmse"]) and row["nrmse"] < 1
            assert row["pearson"] > (0.9 if row["quantity"] in ("s", "phi") else 0.3)
            if row["quantity"] == "output":
                assert row["pearson_token"] > 0.5 and np.isfinite(row["scale"])
    assert all(np.isfinite(row["nrmse"]) for row in ages)

    # The same inputs from an .npz give the same result.
    np.savez(tmp_path / "qkv.npz", q=q, k=k, v=v)
    again = tmp_path / "again.h5"
    npz = str(tmp_path / "qkv.npz")
    args = ["simulate-head", "--window", "64", "--tile", "16", "--qkv", npz, "--out", str(again)]
    assert main(args) == 0
    with h5py.File(again, "r") as h5:
        np.testing.assert_array_equal(h5["array/output"][()], array_output)
        assert "seed" not in h5.attrs and h5.attrs["qkv_file"].endswith("qkv.npz")


def _write_bad(path, kind: str) -> None:
    q, k, v = random_qkv(8, 4, 0)
    if kind == "missing":
        np.savez(path, q=q, k=k)
    elif kind == "shape":
        np.savez(path, q=q, k=k, v=v[:, :3])
    elif kind == "nan":
        q[2, 1] = np.nan
        np.savez(path, q=q, k=k, v=v)
    elif kind == "one-d":
        np.savez(path, q=q.ravel(), k=k, v=v)
    else:
        path.write_text("not an npz")


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "lacks array(s) v"),
        ("shape", "same shape"),
        ("nan", "q holds 1 non-finite"),
        ("one-d", "q must have shape (T, d)"),
        ("garbage", "cannot read"),
    ],
)
def test_bad_npz_is_named_and_writes_nothing(tmp_path, capsys, kind, message):
    bad = tmp_path / "bad.npz"
    _write_bad(bad, kind)
    out = tmp_path / "out.h5"
    code = main(
        ["simulate-head", "--window", "8", "--tile", "4", "--qkv", str(bad), "--out", str(out)]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("gaincell simulate-head: error:") and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz"]


def test_missing_seed_and_bad_output_fail_before_any_work(tmp_path, capsys):
    assert (
        main(["simulate-head", "--tokens", "8", "--window", "8", "--out", str(tmp_path / "a.h5")])
        == 2
    )
    assert "--seed are required" in capsys.readouterr().err
    out = tmp_path / "missing" / "a.h5"
    assert main(["simulate-head", *SMALL, "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_ideal_circuits_reproduce_the_behavioural_model():
    q, k, v = random_qkv(64, 16, 1)
    result = simulate_head(q, k, v, window=64, tile=16, circuits=HeadCircuits.ideal())
    compared = [e for e in result.errors if e.model == "array" and e.reference == "behavioural"]
    assert {e.quantity for e in compared} == {"output", "s", "phi"}
    for e in compared:
        assert e.nrmse < 1e-9, e
    for a in result.age_errors:
        if a.model == "array" and a.reference == "behavioural":
            assert a.nrmse < 1e-9 and abs(a.bias) < 1e-9
    # leakage: the decayed model drifts below the undecayed one more at older ages
    drift = [a.nrmse for a in result.age_errors if a.model == "behavioural"]
    assert len(drift) == 2 and 0 < drift[0] < drift[1]


def test_softmax_reference_and_least_squares_scale():
    q, k, v = random_qkv(12, 8, 2)
    out = softmax_attention(q, k, v, window=5)
    for t in range(12):
        seen = slice(max(0, t - 4), t + 1)
        scores = q[t] @ (k[seen] - 0.45).T / np.sqrt(8)
        weights = np.exp(scores - scores.max())
        np.testing.assert_allclose(out[t], weights / weights.sum() @ (v[seen] - 0.45))
    x = behavioural_attention(q, k, v, window=5, tile=4).output
    row = pair_error("a", "b", "output", x, 3 * x, scaled=True)
    assert row.scale == pytest.approx(3) and row.nrmse_scaled == pytest.approx(0, abs=1e-12)
    assert row.pearson == pytest.approx(1) and row.pearson_token == pytest.approx(1)
