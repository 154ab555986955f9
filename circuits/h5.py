"""HDF5 helpers every layer's files use: early write checks, the overwrite policy, a lock per
output, atomic writes, disk-full errors, per-dataset checksums, clear read errors.

Guarantees every gaincell output gets from here (one place for each):

- **Overwrite** (:func:`check_writable`): an existing output is replaced only with
  ``overwrite`` (``--overwrite``); an output that is one of the command's inputs never is; a
  read-only file never is. An output that is a symbolic link (even a dangling one) is refused
  without ``overwrite``; with it, the link itself is replaced by the new file and its target is
  left alone (the final rename replaces the directory entry, never what it points to).
- **Lock** (:func:`output_lock`): ``<output>.lock`` beside the output (``O_CREAT|O_EXCL``,
  holding pid, host, command and start time) from the early check to the final rename; a second
  writer of the same output fails at once naming the holder; a lock whose pid is no longer
  alive on this host is taken over with a note on stderr; re-entrant within one process.
- **Atomic** (:func:`atomic_output`, :func:`atomic_h5`): written to ``.<name>.<pid>.<random>
  .tmp`` beside the output and renamed on success; removed on any failure; temporaries left by
  a killed writer (their pid dead) are removed by the next write of the same output.
- **Disk full**: ``ENOSPC`` while writing is ``StoreError("disk full writing <path> ...")``;
  no partial file, an existing output is untouched.
- **Checksums**: every dataset gets an attribute ``sha256`` of its dtype, shape and contents
  (:func:`dataset_sha256`) and the root the flag ``checksums``; :func:`open_h5` verifies them
  and names the dataset that fails. Files written before checksums existed have no flag and
  load as before.
"""

from __future__ import annotations

import errno
import glob
import hashlib
import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import h5py
import numpy as np

from gaincell.errors import GaincellError


class StoreError(GaincellError, ValueError):
    """A gaincell HDF5 file that cannot be written or read."""


H5_SUFFIXES = (".h5", ".hdf5")
"""Suffixes an HDF5 output may have."""
CHECKSUMS_ATTR = "checksums"
"""Root attribute flagging a file whose datasets carry checksums; its value says how."""
CHECKSUMS_FORMAT = "sha256 per dataset (attribute sha256) of dtype, shape and contents"
"""Value of :data:`CHECKSUMS_ATTR`."""
DATASET_CHECKSUM_ATTR = "sha256"
"""Dataset attribute holding :func:`dataset_sha256`."""
CHECKSUMS_ADDED_ATTR = "checksums_added"
"""Root attribute of a file whose checksums were added later (JSON: when, commit, command)."""
FILE_ATTRS = (CHECKSUMS_ATTR, CHECKSUMS_ADDED_ATTR)
"""Root attributes about a file itself, not about its data: never copied into another file."""


def check_writable(
    path: str | Path,
    inputs: Iterable[str | Path] = (),
    *,
    overwrite: bool = False,
    suffixes: tuple[str, ...] = H5_SUFFIXES,
) -> Path:
    """Fail early, before any simulation, if ``path`` cannot be written, is one of the
    command's ``inputs`` (a fit written over its own characterization destroyed it, so this
    holds even with ``overwrite``), or already exists (or is a symbolic link) and
    ``overwrite`` is not given."""
    path = Path(path)
    for source in inputs:
        if path.exists() and Path(source).exists() and path.resolve() == Path(source).resolve():
            raise StoreError(f"output {path} is an input of this command; write elsewhere")
    if path.suffix not in suffixes:
        raise StoreError(f"output {path} must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise StoreError(f"output {path} is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise StoreError(f"cannot write {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise StoreError(f"cannot write {path}: folder {parent} is not writable")
    if path.is_symlink():
        if not overwrite:
            raise StoreError(
                f"output {path} is a symbolic link (to {os.readlink(path)}); pass --overwrite "
                "to replace the link itself (its target is left alone)"
            )
        return path  # the rename replaces the link: its target's permissions do not matter
    if path.exists() and not os.access(path, os.W_OK):
        raise StoreError(f"cannot write {path}: the existing file is read-only")
    if path.exists() and not overwrite:
        raise StoreError(f"output {path} already exists; pass --overwrite to replace it")
    return path


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


UNREADABLE_LOCK_SECONDS = 60.0
"""An unreadable (empty) lock older than this is stale: filling one takes microseconds."""
_HELD: dict[str, int] = {}
"""Lock file -> nesting depth, for the locks this process holds (re-entrant)."""


def lock_path(path: str | Path) -> Path:
    """The lock file of output ``path``: ``<path>.lock`` beside it."""
    path = Path(path)
    return path.with_name(f"{path.name}.lock")


def _read_lock(lock: Path) -> dict:
    try:
        holder = json.loads(lock.read_text())
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _create_lock(lock: Path, record: str) -> bool:
    """Create ``lock`` holding ``record``; False if it exists."""
    try:
        descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    try:
        os.write(descriptor, record.encode())
    except OSError as problem:
        os.close(descriptor)
        lock.unlink(missing_ok=True)
        raise _disk_full(lock, problem) or problem from None
    os.close(descriptor)
    return True


@contextmanager
def output_lock(path: str | Path, command: str | None = None) -> Iterator[Path]:
    """Hold ``<path>.lock`` while writing ``path`` (e.g. around a whole SPICE campaign);
    raises :class:`StoreError` naming the file and the holder if another live process holds
    it. A lock of a dead pid on this host is taken over (note on stderr). Released on every
    exit path, exceptions and KeyboardInterrupt included; nested use in one process is fine."""
    lock = lock_path(path)
    key = os.path.abspath(lock)
    if _HELD.get(key):
        _HELD[key] += 1
        try:
            yield lock
        finally:
            _HELD[key] -= 1
        return
    host = socket.gethostname()
    record = json.dumps(
        {
            "pid": os.getpid(),
            "host": host,
            "command": command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "token": os.urandom(8).hex(),  # tells our lock from a successor's
        }
    )
    while not _create_lock(lock, record):
        holder = _read_lock(lock)
        pid, where = holder.get("pid"), holder.get("host")
        try:
            age = time.time() - lock.stat().st_mtime
        except FileNotFoundError:  # released meanwhile
            continue
        if isinstance(pid, int):
            stale, why = where == host and not _alive(pid), f"pid {pid} is no longer running"
        else:  # its writer died between creating and filling it (or it is being filled now)
            stale, why = age > UNREADABLE_LOCK_SECONDS, "it has been unreadable for a minute"
        if not stale:
            who = f"pid {pid} on {where}" if isinstance(pid, int) else "an unreadable lock"
            raise StoreError(
                f"{path} is being written by another command ({who}: "
                f"{holder.get('command', '?')}); its lock is {lock} (remove that file only if "
                "no such command is running)"
            )
        if _read_lock(lock) != holder:  # changed under us: another process took it over
            continue
        print(f"gaincell: note: taking over the stale lock {lock} ({why})", file=sys.stderr)
        lock.unlink(missing_ok=True)
    _HELD[key] = 1
    try:
        yield lock
    finally:
        del _HELD[key]
        with suppress(OSError):  # only our own lock: never one a successor took over
            if lock.read_text() == record:
                lock.unlink()


def _disk_full(path: Path, problem: BaseException) -> StoreError | None:
    """The clear error for ``problem`` if it means the disk is full, else None (h5py's
    errors carry errno 28 in their text rather than in ``errno``)."""
    text = str(problem)
    if getattr(problem, "errno", None) == errno.ENOSPC or "No space left on device" in text:
        return StoreError(
            f"disk full writing {path} ({text.splitlines()[0] if text else 'ENOSPC'}); nothing "
            "was written there and an existing file is unchanged: free space or write elsewhere"
        )
    return None


def _remove_stale_temporaries(path: Path) -> None:
    """Remove ``.<name>.<pid>.*.tmp*`` beside ``path`` whose writer is no longer alive (a
    killed run); called with the output's lock held, so no live writer of ours is racing."""
    prefix = f".{path.name}."
    for candidate in path.parent.glob(f"{glob.escape(prefix)}*.tmp*"):
        pid = candidate.name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            candidate.unlink(missing_ok=True)


@contextmanager
def claimed_output(
    path: str | Path,
    inputs: Iterable[str | Path] = (),
    *,
    overwrite: bool = False,
    suffixes: tuple[str, ...] = H5_SUFFIXES,
) -> Iterator[Path]:
    """:func:`check_writable`, then hold the output's lock: wrap a whole command in it."""
    checked = check_writable(path, inputs, overwrite=overwrite, suffixes=suffixes)
    with output_lock(checked):
        yield checked


@contextmanager
def atomic_output(
    path: str | Path, *, overwrite: bool = False, suffixes: tuple[str, ...] = H5_SUFFIXES
) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (it keeps ``path``'s suffix unless that is an
    HDF5 one, so a writer can infer the format); rename it to ``path`` only on success."""
    with claimed_output(path, overwrite=overwrite, suffixes=suffixes) as path:
        _remove_stale_temporaries(path)
        suffix = ".tmp" if path.suffix in H5_SUFFIXES else f".tmp{path.suffix}"
        try:
            handle, name = tempfile.mkstemp(
                prefix=f".{path.name}.{os.getpid()}.", suffix=suffix, dir=path.parent
            )
        except OSError as problem:
            raise _disk_full(path, problem) or problem from None
        os.close(handle)
        temporary = Path(name)
        try:
            yield temporary
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException as problem:
            temporary.unlink(missing_ok=True)
            full = _disk_full(path, problem)
            if full is not None:
                raise full from None
            raise


@contextmanager
def atomic_h5(path: str | Path, *, overwrite: bool = False) -> Iterator[h5py.File]:
    """Open a temporary HDF5 file next to ``path``; checksum every dataset and rename it to
    ``path`` only on success (see the module's guarantees)."""
    with (
        atomic_output(path, overwrite=overwrite) as temporary,
        h5py.File(temporary, "w") as h5,
    ):
        yield h5
        write_checksums(h5)


def dataset_sha256(dataset: h5py.Dataset) -> str:
    """SHA-256 of a dataset's dtype, shape and contents (variable-length strings by value)."""
    digest = hashlib.sha256(f"{dataset.dtype.str}|{dataset.shape}|".encode())
    if dataset.shape is None:  # an empty (null) dataspace
        return digest.hexdigest()
    data = np.asarray(dataset[()])
    if data.dtype.kind == "O":
        for item in data.ravel():
            raw = item if isinstance(item, bytes) else str(item).encode()
            digest.update(len(raw).to_bytes(8, "little") + raw)
    else:
        digest.update(np.ascontiguousarray(data).tobytes())
    return digest.hexdigest()


def _datasets(h5: h5py.File) -> dict[str, h5py.Dataset]:
    found: dict[str, h5py.Dataset] = {}

    def visit(name: str, item: h5py.HLObject) -> None:
        if isinstance(item, h5py.Dataset):
            found[name] = item

    h5.visititems(visit)
    return found


def write_checksums(h5: h5py.File) -> None:
    """Record every dataset's :func:`dataset_sha256` and flag the file as checksummed."""
    for dataset in _datasets(h5).values():
        dataset.attrs[DATASET_CHECKSUM_ATTR] = dataset_sha256(dataset)
    h5.attrs[CHECKSUMS_ATTR] = CHECKSUMS_FORMAT


def verify_checksums(h5: h5py.File, path: Path, error: type[Exception] = StoreError) -> None:
    """Raise ``error`` naming ``path`` and the first dataset whose contents fail its recorded
    checksum (or lacks one); files without the root flag (written before checksums) pass."""
    if CHECKSUMS_ATTR not in h5.attrs:
        return
    for name, dataset in _datasets(h5).items():
        recorded = dataset.attrs.get(DATASET_CHECKSUM_ATTR)
        try:
            actual = dataset_sha256(dataset)
        except OSError as problem:  # e.g. a damaged compressed chunk
            raise error(f"{path}: dataset /{name} cannot be read ({problem})") from None
        if recorded is None:
            raise error(f"{path}: dataset /{name} has no checksum (added after writing?)")
        if recorded != actual:
            raise error(
                f"{path}: dataset /{name} fails its SHA-256 checksum: the file is corrupted"
            )


def content_sha256(path: str | Path) -> str:
    """One SHA-256 of a file's dataset contents (names and :func:`dataset_sha256`, computed,
    not read from attributes): unchanged by attribute edits such as adding checksums."""
    path = Path(path)
    with open_h5(path, "HDF5", StoreError) as h5:
        listing = {name: dataset_sha256(d) for name, d in sorted(_datasets(h5).items())}
    return hashlib.sha256(json.dumps(listing, sort_keys=True).encode()).hexdigest()


def open_h5(path: Path, what: str, error: type[Exception]) -> h5py.File:
    """Open ``path`` read-only, raising ``error`` with a clear message if it is missing, is
    not HDF5 (``what`` names the expected kind of file) or fails its checksums."""
    if not path.is_file():
        raise error(f"{what} file {path} not found")
    try:
        h5 = h5py.File(path, "r")
    except OSError as problem:
        raise error(f"{path} is not a readable HDF5 file ({problem})") from None
    try:
        verify_checksums(h5, path, error)
    except BaseException:
        h5.close()
        raise
    return h5
