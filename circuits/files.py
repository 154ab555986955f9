"""Where the shipped files are, file hashes, and the provenance stamp every written file carries.

Shipped files (netlists, presets, data) are read from the installed package, wherever it is;
outputs go under the current folder's ``build/`` unless the user names a file.
"""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime
from functools import lru_cache
from importlib.resources import files
from pathlib import Path


def package_dir(package: str) -> Path:
    """The folder of an installed (sub)package, e.g. ``gaincell.data``."""
    return Path(str(files(package)))


NETLIST_DIR = package_dir("gaincell.netlists")
"""The shipped SPICE sources: subcircuits and testbenches, one ``<name>.sp`` file each."""
DATA_DIR = package_dir("gaincell.data")
"""Shipped characterizations, surrogates, SPICE tiles and reference data."""
CHARACTERIZATION_DIR = DATA_DIR / "characterization"
"""Shipped characterization files (``<circuit>_sky130.h5``)."""
SURROGATE_DIR = DATA_DIR / "surrogates"
"""Shipped surrogate files."""
MISMATCH_DIR = DATA_DIR / "mismatch"
"""Shipped mismatch (statistical) surrogates, fitted on Monte Carlo characterizations."""
TILE_DIR = DATA_DIR / "tiles"
"""Shipped SPICE tile results."""
COST_DIR = DATA_DIR / "cost"
"""Shipped costs per token (``gaincell cost``) and the design space."""
REFERENCE_DIR = DATA_DIR / "reference"
"""The paper's published data (MIT-licensed, copied with attribution)."""
SHIPPED_SUFFIXES = (".h5", ".npz", ".json")
"""Suffixes of shipped data files."""


def build_dir() -> Path:
    """Default output folder: ``build/`` under the current working directory (not created)."""
    return Path.cwd() / "build"


def shipped_files() -> list[Path]:
    """Every shipped data file, sorted."""
    return sorted(p for p in DATA_DIR.rglob("*") if p.is_file() and p.suffix in SHIPPED_SUFFIXES)


def sha256_text(text: str) -> str:
    """SHA-256 of a text (UTF-8)."""
    return hashlib.sha256(text.encode()).hexdigest()


@lru_cache(maxsize=256)
def _sha256_cached(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes (cached while the file's size and mtime stay the same)."""
    stat = Path(path).stat()
    return _sha256_cached(str(path), stat.st_mtime_ns, stat.st_size)


def source_root() -> Path | None:
    """The source checkout the package runs from (editable install), or None when installed."""
    root = package_dir("gaincell.circuits").parent
    return root if (root / "pyproject.toml").is_file() and (root / ".git").exists() else None


def git_commit() -> str:
    """The checkout's commit (with ``-dirty`` if it has uncommitted changes), or ``unknown``
    (an installed package, or no git)."""
    root = source_root()
    if root is None:
        return "unknown"
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def stamp() -> dict[str, str]:
    """``package_version``, ``git_commit`` and ``created`` (UTC, ISO 8601) for provenance."""
    from gaincell import __version__

    return {
        "package_version": __version__,
        "git_commit": git_commit(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
