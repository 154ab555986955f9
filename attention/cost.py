"""What one token costs: energy by module and latency, per head and per layer, against the
paper's numbers and its GPU baselines.

The energy of a head-token is split into the parts gaincell measures (from the circuits'
characterizations, through the array simulation) and the parts it assumes (the digital control
and routing, which no netlist here models: an explicit parameter, by default the paper's
4 nJ). A layer runs its heads in parallel: its latency per token is one head's, its energy the
heads' sum. The paper's own breakdown (``PAPER_COST``) goes through the same arithmetic, so its
stated totals and ratios are reproduced from its components (``tests/test_cost.py``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from gaincell.circuits.files import REFERENCE_DIR
from gaincell.errors import InputError

GPU_BASELINES = REFERENCE_DIR / "gpu_baselines.json"
"""The authors' GPU measurements of one 12-head layer (d 64, 1024 decoding steps, batch 64,
energy = power above idle), per token."""
PAPER_STEP_TIME = 65e-9
"""The paper's latency of one attention step [s]."""
PAPER_DIGITAL_J = 4e-9
"""The paper's digital control and routing energy per head-token [J] (assumed, not modelled
by any netlist here)."""
PAPER_HEADS = 12
"""Heads of a GPT-2 layer, the paper's layer figures."""


@dataclass(frozen=True)
class TokenEnergy:
    """Energy of one head for one token [J], by module."""

    k_array: float
    """Phi(Q.K^T) array: the K cells' input pulses (their supply and enable drivers)."""
    relu_conversion: float
    """The K columns' ReLU charge-to-pulse converters (conversion, reset, static bias)."""
    v_array: float
    """Phi(S).V array: the V cells' Phi pulses."""
    signed_conversion: float
    """The V columns' signed charge-to-pulse converters (conversion, reset, static bias)."""
    write: float
    """Writing the token's K and V column: word lines and the bit-line DAC drivers."""
    digital: float = PAPER_DIGITAL_J
    """Digital control, counters and routing (assumed: no netlist models it)."""

    MEASURED = ("k_array", "relu_conversion", "v_array", "signed_conversion", "write")
    """Parts computed from the circuits' characterizations."""
    ASSUMED = ("digital",)
    """Parts taken as parameters."""

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise InputError(f"TokenEnergy.{field.name} must be a finite energy >= 0 J")

    @property
    def measured(self) -> float:
        """Sum of the measured parts [J]."""
        return sum(getattr(self, name) for name in self.MEASURED)

    @property
    def assumed(self) -> float:
        """Sum of the assumed parts [J]."""
        return sum(getattr(self, name) for name in self.ASSUMED)

    @property
    def total(self) -> float:
        """Energy of one head-token [J]."""
        return self.measured + self.assumed

    def paper_groups(self) -> dict[str, float]:
        """The parts grouped as the paper reports them [J]: each array with its converters,
        the DAC (writes), the digital part."""
        return {
            "Phi(Q.K^T) array": self.k_array + self.relu_conversion,
            "Phi(S).V array": self.v_array + self.signed_conversion,
            "DAC (writing K, V)": self.write,
            "digital control and routing": self.digital,
        }


@dataclass(frozen=True)
class Schedule:
    """One attention step's critical path [s]: the write of the token's K and V column runs
    in parallel with the MAC (the paper's pipeline), so it is not on it."""

    reset: float
    """From the release of the converters' column reset to the MAC (the reset itself
    overlaps the write)."""
    k_mac: float
    """The query pulses (up to T_max): the first product."""
    relu_settle: float
    """From the MAC's end to the ReLU converters' window."""
    relu_conversion: float
    """The ReLU window; its Phi pulses drive the V array, so this is the second product too."""
    signed_settle: float
    """From the V MAC's end to the signed converters' window."""
    signed_conversion: float
    """The signed window (the longest output pulse, its delay included)."""

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise InputError(f"Schedule.{field.name} must be a time >= 0 s, got {value!r}")

    @property
    def latency(self) -> float:
        """One step [s]."""
        return sum(getattr(self, field.name) for field in fields(self))

    @classmethod
    def characterized(cls, t_max: float, t_max_out: float) -> Schedule:
        """The schedule the circuits were characterized under: the pulse windows are the
        converters' saturated widths (``t_max``, ``t_max_out`` [s], from their surrogates),
        the gaps and the reset those of the whole-chain transient (``mac_chain_tb``, where
        every stage works: reset released 1 ns before the MAC, 2 ns from the MAC to the ReLU
        window, 3 ns from the V MAC to the signed window)."""
        from gaincell.characterize.mac_chain import (
            K_MAC,
            RELU_CONVERSION,
            RESET_RELEASE,
            SIGNED_CONVERSION,
            V_MAC,
        )

        return cls(
            reset=K_MAC[0] - RESET_RELEASE,
            k_mac=t_max,
            relu_settle=RELU_CONVERSION[0] - K_MAC[1],
            relu_conversion=t_max,
            signed_settle=SIGNED_CONVERSION[0] - V_MAC[1],
            signed_conversion=t_max_out,
        )


@dataclass(frozen=True)
class TokenCost:
    """Latency and energy of one token: one head, and a layer of ``heads`` heads in
    parallel."""

    energy: TokenEnergy
    """One head's energy per token."""
    latency: float
    """One attention step [s] (the heads of a layer run in parallel)."""
    heads: int = PAPER_HEADS
    """Heads per layer."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.latency) and self.latency > 0):
            raise InputError(f"TokenCost.latency must be a positive time, got {self.latency!r}")
        if isinstance(self.heads, bool) or not isinstance(self.heads, int) or self.heads < 1:
            raise InputError(f"TokenCost.heads must be a positive integer, got {self.heads!r}")

    @property
    def layer_energy(self) -> float:
        """Energy of one layer-token [J]."""
        return self.heads * self.energy.total

    def versus(self, baseline: GpuBaseline) -> dict[str, float]:
        """How many times faster and more energy-efficient than ``baseline`` per token (a
        layer of the baseline's heads, scaled to this cost's if they differ)."""
        layer_energy = baseline.energy_per_token * self.heads / baseline.heads
        return {
            "latency_ratio": baseline.latency_per_token / self.latency,
            "energy_ratio": layer_energy / self.layer_energy,
        }


@dataclass(frozen=True)
class GpuBaseline:
    """One GPU's measured cost of an attention layer per token."""

    name: str
    """Which GPU."""
    latency_per_token: float
    """Mean latency per token [s]."""
    energy_per_token: float
    """Mean energy per token above idle [J]."""
    heads: int
    """Heads of the measured layer."""
    d_head: int
    """Head dimension of the measured layer."""
    tokens: int
    """Decoding steps measured."""


GPU_NAMES = {"nvidia_4090_attention": "RTX 4090", "nvidia_jetson_attention": "Jetson"}
"""Display names of the baselines' keys."""


def gpu_baselines(path: Path = GPU_BASELINES) -> list[GpuBaseline]:
    """The authors' GPU measurements (``data/reference/gpu_baselines.json``)."""
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read GPU baselines {path}: {error}") from error
    return [
        GpuBaseline(
            GPU_NAMES.get(key, key),
            float(entry["mean_latency_per_token"]),
            float(entry["mean_energy_per_token"]),
            int(entry["H"]),
            int(entry["D_h"]),
            int(entry["N_tokens"]),
        )
        for key, entry in raw.items()
    ]


PAPER_COST = TokenCost(
    TokenEnergy(
        k_array=1120e-12,
        relu_conversion=0.0,  # the paper counts its converters inside each array's figure
        v_array=700e-12,
        signed_conversion=0.0,
        write=330e-12,
        digital=PAPER_DIGITAL_J,
    ),
    latency=PAPER_STEP_TIME,
)
"""The paper's breakdown per head-token (1120 pJ Phi(Q.K^T), 700 pJ Phi(S).V, 330 pJ DAC,
4 nJ digital; 65 ns per step), as the authors state it."""


def as_dict(cost: TokenCost) -> dict[str, float | int]:
    """Flat record of a cost: each energy part [J], totals [J], latency [s], heads."""
    return {
        **{f"energy_{name}": value for name, value in asdict(cost.energy).items()},
        "energy_measured": cost.energy.measured,
        "energy_assumed": cost.energy.assumed,
        "energy_head": cost.energy.total,
        "energy_layer": cost.layer_energy,
        "latency": cost.latency,
        "heads": cost.heads,
    }
