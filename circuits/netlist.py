"""Load SPICE netlists from ``netlists/`` and put a model deck in front of them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gaincell.circuits.files import NETLIST_DIR, sha256_text
from gaincell.circuits.pdk import ModelDeck, build_model_deck
from gaincell.errors import GaincellError

_DEVICE = re.compile(r"\bsky130_fd_pr__([a-z0-9_]+)", re.IGNORECASE)


class NetlistNotFoundError(GaincellError, FileNotFoundError):
    """A netlist name with no file in ``netlists/``."""


@dataclass(frozen=True)
class Netlist:
    """One SPICE source file."""

    name: str
    """File stem, e.g. ``gaincell_multiplier``."""
    path: Path
    """Where it was read from."""
    text: str
    """The SPICE text."""

    @property
    def sha256(self) -> str:
        """SHA-256 of the text."""
        return sha256_text(self.text)

    @property
    def devices(self) -> tuple[str, ...]:
        """sky130 cells the netlist instantiates, without the ``sky130_fd_pr__`` prefix."""
        code = "\n".join(line for line in self.text.splitlines() if not line.startswith("*"))
        return tuple(dict.fromkeys(m.lower() for m in _DEVICE.findall(code)))


def load_netlist(name: str, directory: Path | None = None) -> Netlist:
    """Read ``netlists/<name>.sp`` (or ``name`` itself if it is a path to a file)."""
    directory = directory or NETLIST_DIR
    candidate = Path(name)
    path = candidate if candidate.suffix and candidate.is_file() else directory / f"{name}.sp"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.sp"))) or "none"
        raise NetlistNotFoundError(f"netlist {name!r} not found at {path}; known netlists: {known}")
    return Netlist(name=path.stem, path=path, text=path.read_text())


@dataclass(frozen=True)
class Deck:
    """A complete deck: title, models, temperature, netlists and optional control block."""

    text: str
    """SPICE text ready for ngspice (ends with ``.end``)."""
    models: ModelDeck
    """The model deck it includes."""
    netlists: tuple[Netlist, ...]
    """The netlists it holds, in order."""

    @property
    def netlist_text(self) -> str:
        """The circuit part alone (no models): what provenance records."""
        return "\n".join(n.text.rstrip() for n in self.netlists) + "\n"

    @property
    def netlist_sha256(self) -> str:
        """SHA-256 of :attr:`netlist_text`."""
        return sha256_text(self.netlist_text)


def assemble_deck(
    netlists: list[Netlist] | tuple[Netlist, ...],
    corner: str,
    temperature: float | None = None,
    control: str | None = None,
    title: str = "gaincell deck",
) -> Deck:
    """Put a trimmed model deck for the devices the netlists use in front of them.

    ``control`` (ngspice ``.control`` commands, without the ``.control``/``.endc`` lines) makes
    the deck runnable on its own with ``ngspice -b``; leave it out for the shared-library runner,
    which sends analyses as commands.
    """
    devices = tuple(dict.fromkeys(d for n in netlists for d in n.devices))
    models = build_model_deck(devices, corner)
    parts = [f"* {title}", models.text.rstrip()]
    if temperature is not None:
        parts.append(f".temp {temperature:g}")
    parts += [n.text.rstrip() for n in netlists]
    if control:
        parts.append(".control\n" + control.rstrip() + "\n.endc")
    parts.append(".end")
    return Deck("\n".join(parts) + "\n", models, tuple(netlists))
