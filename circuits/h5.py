"""HDF5 helpers every layer's files use: early write checks, atomic writes, clear read errors."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py

from gaincell.errors import GaincellError


class StoreError(GaincellError, ValueError):
    """A gaincell HDF5 file that cannot be written or read."""


def check_writable(path: str | Path, inputs: Iterable[str | Path] = ()) -> Path:
    """Fail early, before any simulation, if ``path`` cannot be written, or is one of the
    command's ``inputs`` (a fit written over its own characterization destroyed it)."""
    path = Path(path)
    for source in inputs:
        if path.exists() and Path(source).exists() and path.resolve() == Path(source).resolve():
            raise StoreError(f"output {path} is an input of this command; write elsewhere")
    if path.suffix not in (".h5", ".hdf5"):
        raise StoreError(f"output {path} must end in .h5 or .hdf5")
    if path.is_dir():
        raise StoreError(f"output {path} is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise StoreError(f"cannot write {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise StoreError(f"cannot write {path}: folder {parent} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise StoreError(f"cannot write {path}: the existing file is read-only")
    return path


@contextmanager
def atomic_h5(path: str | Path) -> Iterator[h5py.File]:
    """Open a temporary HDF5 file next to ``path``; rename it to ``path`` only on success."""
    path = check_writable(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        with h5py.File(temporary, "w") as h5:
            yield h5
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def open_h5(path: Path, what: str, error: type[Exception]) -> h5py.File:
    """Open ``path`` read-only, raising ``error`` with a clear message if it is missing or is
    not HDF5 (``what`` names the expected kind of file)."""
    if not path.is_file():
        raise error(f"{what} file {path} not found")
    try:
        return h5py.File(path, "r")
    except OSError as problem:
        raise error(f"{path} is not a readable HDF5 file ({problem})") from None
