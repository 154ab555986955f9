"""Name -> characterization lookup used by the spec, the CLI and the parallel runner."""

from __future__ import annotations

from gaincell.characterize.axes import SpecError
from gaincell.characterize.base import Characterization
from gaincell.characterize.c2p import ReluChargeToPulse, SignedChargeToPulse
from gaincell.characterize.cell_load import CellLoadCharacterization
from gaincell.characterize.converter_recovery import ReluConverterRecovery
from gaincell.characterize.converter_step import ReluConverterStep, SignedConverterStep
from gaincell.characterize.leakage import LeakageCharacterization
from gaincell.characterize.mac_chain import MacChainCharacterization
from gaincell.characterize.multiplier import MultiplierCharacterization
from gaincell.characterize.multiplier_pulse import MultiplierPulseCharacterization
from gaincell.characterize.write_line import WriteLineCharacterization

CHARACTERIZATIONS: dict[str, type[Characterization]] = {
    cls.name: cls
    for cls in (
        MultiplierCharacterization,
        MultiplierPulseCharacterization,
        CellLoadCharacterization,
        LeakageCharacterization,
        WriteLineCharacterization,
        ReluChargeToPulse,
        SignedChargeToPulse,
        ReluConverterStep,
        SignedConverterStep,
        ReluConverterRecovery,
        MacChainCharacterization,
    )
}
"""Every circuit ``gaincell characterize`` accepts, by name; add a new class here."""


def available() -> list[str]:
    """Names that ``gaincell characterize`` accepts."""
    return sorted(CHARACTERIZATIONS)


def get_characterization(name: str) -> Characterization:
    """The characterization registered as ``name``."""
    if name not in CHARACTERIZATIONS:
        raise SpecError(f"unknown circuit {name!r}; known: {', '.join(available())}")
    return CHARACTERIZATIONS[name]()
