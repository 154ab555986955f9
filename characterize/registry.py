"""Name -> characterization lookup used by the spec, the CLI and the parallel runner."""

from __future__ import annotations

from characterize.base import Characterization


def _all() -> dict[str, type[Characterization]]:
    from characterize.c2p import ReluChargeToPulse, SignedChargeToPulse
    from characterize.leakage import LeakageCharacterization
    from characterize.mac_chain import MacChainCharacterization
    from characterize.multiplier import MultiplierCharacterization
    from characterize.multiplier_pulse import MultiplierPulseCharacterization

    classes = (
        MultiplierCharacterization,
        MultiplierPulseCharacterization,
        LeakageCharacterization,
        ReluChargeToPulse,
        SignedChargeToPulse,
        MacChainCharacterization,
    )
    return {cls.name: cls for cls in classes}


def available() -> list[str]:
    """Names that ``gaincell characterize`` accepts."""
    return sorted(_all())


def get_characterization(name: str) -> Characterization:
    """The characterization registered as ``name``."""
    from characterize.spec import SpecError

    classes = _all()
    if name not in classes:
        raise SpecError(f"unknown circuit {name!r}; known: {', '.join(sorted(classes))}")
    return classes[name]()
