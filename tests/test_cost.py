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
