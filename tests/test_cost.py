"""The token cost model: the paper's components give the paper's totals and ratios."""

from __future__ import annotations

import math

import pytest

from gaincell.attention.cost import PAPER_COST, TokenCost, TokenEnergy, gpu_baselines
from gaincell.errors import InputError


def _stated(ratio: float) -> int:
    """A ratio as the paper states it: rounded down to one significant digit."""
    scale = 10 ** math.floor(math.log10(ratio))
    return int(ratio // scale * scale)


def test_the_paper_components_give_its_totals_and_ratios():
    assert PAPER_COST.energy.total == pytest.approx(6.15e-9)
    assert PAPER_COST.layer_energy == pytest.approx(73.8e-9)
    assert PAPER_COST.energy.assumed == pytest.approx(4e-9)
    groups = PAPER_COST.energy.paper_groups()
    shares = {name: value / PAPER_COST.energy.total for name, value in groups.items()}
    assert shares["digital control and routing"] == pytest.approx(0.650, abs=5e-4)
    assert shares["Phi(Q.K^T) array"] == pytest.approx(0.182, abs=5e-4)
    baselines = {gpu.name: gpu for gpu in gpu_baselines()}
    rtx, jetson = PAPER_COST.versus(baselines["RTX 4090"]), PAPER_COST.versus(baselines["Jetson"])
    # the paper: latency x300 (RTX 4090), x7000 (Jetson); energy x90,000 and x40,000
    assert _stated(rtx["latency_ratio"]) == 300 and _stated(jetson["latency_ratio"]) == 7000
    assert _stated(rtx["energy_ratio"]) == 90_000 and _stated(jetson["energy_ratio"]) == 40_000


def test_a_layer_of_other_heads_scales_the_baseline_and_bad_parts_are_refused():
    rtx = {gpu.name: gpu for gpu in gpu_baselines()}["RTX 4090"]
    six = TokenCost(PAPER_COST.energy, PAPER_COST.latency, heads=6)
    assert six.versus(rtx)["energy_ratio"] == pytest.approx(PAPER_COST.versus(rtx)["energy_ratio"])
    with pytest.raises(InputError, match="k_array"):
        TokenEnergy(k_array=-1.0, relu_conversion=0, v_array=0, signed_conversion=0, write=0)
    with pytest.raises(InputError, match="latency"):
        TokenCost(PAPER_COST.energy, latency=0.0)


def test_the_characterized_schedule_is_the_whole_chain_transients():
    from gaincell.attention.cost import Schedule

    schedule = Schedule.characterized(15e-9, 15.2e-9)
    # 1 ns reset release, 15 ns K MAC, 2 ns, 15 ns ReLU window = V MAC, 3 ns, 15.2 ns
    assert schedule.latency == pytest.approx(51.2e-9)
    with pytest.raises(InputError, match="k_mac"):
        Schedule.characterized(-1.0, 15e-9)


def test_token_cost_runs_a_head_writes_and_reads_back(tmp_path, energy_models):
    """The cost pipeline on ideal circuits with simple energy laws: means over the tokens
    with a full window, the layer scaled by heads, the table and the file."""
    from dataclasses import replace

    import numpy as np

    from gaincell.attention import HeadCircuits
    from gaincell.attention.token_cost import format_cost, read_cost, token_cost, write_cost

    circuits = replace(HeadCircuits.ideal(), energy=energy_models())
    rng = np.random.default_rng(3)
    q, k, v = rng.uniform(0, 1, (20, 4)), rng.uniform(0, 0.9, (20, 4)), rng.uniform(0, 0.9, (20, 4))
    report = token_cost(q, k, v, window=16, heads=3, tile=8, circuits=circuits, inputs="test")
    assert report.steady.sum() == 5  # tokens 15..19 see a full window of 16
    assert report.cost.energy.digital == pytest.approx(4e-9)
    assert report.cost.layer_energy == pytest.approx(3 * report.cost.energy.total)
    # 16 ReLU converters biased the whole step at 3e-4 W
    assert report.static["relu_conversion"] == pytest.approx(16 * 3e-4 * report.cost.latency)
    text = format_cost(report)
    assert "RTX 4090" in text and "assumed" in text and "measured" in text
    path = write_cost(tmp_path / "cost.h5", report)
    stored = read_cost(path)
    assert stored["cost"]["energy_head"] == pytest.approx(report.cost.energy.total)
    assert stored["per_token"]["k_array"].shape == (1, 20)
    with pytest.raises(InputError, match="heads"):
        token_cost(q[None], k[None], v[None], window=16, heads=3, tile=8, circuits=circuits)


def test_data_window_is_the_longest_the_file_fills_and_decodes_past():
    from gaincell.attention.token_cost import data_window

    assert data_window(640) == 512  # the paper's ten 64-token cases
    assert data_window(65) == 64
    assert data_window(5000) == 1024
    with pytest.raises(InputError, match="more than 64 tokens"):
        data_window(64)


def test_design_space_runs_the_shipped_circuits_stores_and_draws(tmp_path):
    """A small design space on the shipped energy surrogates: every kind of point, the
    static bias inside each converter's part, the file round trip and the figure."""
    import numpy as np

    from gaincell.attention.simulate import random_qkv
    from gaincell.attention.token_cost import (
        design_space,
        format_design_space,
        read_design_space,
        write_design_space,
    )
    from gaincell.circuits.h5 import StoreError
    from gaincell.figures.design_space import plot_design_space

    qkv = random_qkv(72, 64, 5)
    rows = design_space(
        windows=(64,), dims=(32,), conditions=(("ss", 85.0),), qkv=qkv, window=64, seed=2
    )
    assert [(r["varied"], r["value"]) for r in rows] == [
        ("window", "64"),
        ("d", "32"),
        ("condition", "ss/85"),
        ("data", "random"),
        ("data", "file"),
    ]
    for row in rows:
        assert 0 < row["static_relu_conversion"] <= row["energy_relu_conversion"]
        assert 0 < row["static_signed_conversion"] <= row["energy_signed_conversion"]
        assert row["energy_head"] == pytest.approx(row["energy_measured"] + 4e-9)
    # half the head dimension: half the ReLU converters' rows per column, half the signed ones
    assert rows[1]["static_signed_conversion"] == pytest.approx(
        rows[0]["static_signed_conversion"] / 2
    )
    assert "x paper" in format_design_space(rows)
    path = write_design_space(tmp_path / "space.h5", rows)
    stored = read_design_space(path)
    for row, back in zip(rows, stored, strict=True):
        assert back["varied"] == row["varied"] and back["window"] == row["window"]
        assert np.isclose(back["energy_head"], row["energy_head"], rtol=1e-15)
    with pytest.raises(StoreError, match="already exists"):
        write_design_space(path, rows)
    png = plot_design_space(path, tmp_path / "space.png")
    assert png.stat().st_size > 10_000
