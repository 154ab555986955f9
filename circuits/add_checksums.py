"""Add per-dataset checksums to gaincell HDF5 files written before checksums existed (the shipped
``data/`` files), in place and atomically; contents are untouched.

Run: ``python -m gaincell.circuits.add_checksums [FILE.h5 ...]`` (default: every shipped
characterization, surrogate and tile file). Each file gets what :func:`~gaincell.circuits.h5.
atomic_h5` writes for new files (a ``sha256`` attribute per dataset, the root flag
``checksums``) and a root attribute ``checksums_added`` (JSON: when, by which commit and
command). Files that already have checksums are verified and left alone.

Adding attributes changes a file's bytes, so a surrogate's recorded ``source_sha256`` (the file
hash of the characterization it was fitted from) no longer matches the shipped file. The record
stays as it was (it is the hash of the file that was fitted); where it matched the shipped file
before this run, the surrogate's provenance gains ``source_content_sha256`` (the source's
:func:`~gaincell.circuits.h5.content_sha256`, which attribute edits keep) and a
``source_sha256_note`` saying why the file hash differs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import h5py

from gaincell.circuits.files import (
    CHARACTERIZATION_DIR,
    SURROGATE_DIR,
    TILE_DIR,
    git_commit,
    sha256_file,
)
from gaincell.circuits.h5 import (
    CHECKSUMS_ADDED_ATTR,
    CHECKSUMS_ATTR,
    StoreError,
    atomic_output,
    content_sha256,
    open_h5,
    write_checksums,
)
from gaincell.errors import GaincellError

COMMAND = "python -m gaincell.circuits.add_checksums"
"""How the ``checksums_added`` attribute names this script."""


def shipped_h5() -> list[Path]:
    """Every shipped HDF5 file gaincell wrote: characterizations first (surrogates name them)."""
    return [
        p
        for folder in (CHARACTERIZATION_DIR, SURROGATE_DIR, TILE_DIR)
        for p in sorted(folder.glob("*.h5"))
    ]


def _relink(provenance: dict, before: dict[str, str], contents: dict[str, str], when: str) -> bool:
    """Add ``source_content_sha256`` to a surrogate's ``provenance`` if its recorded
    ``source_sha256`` matched the source's file hash ``before`` checksums were added."""
    names, hashes = provenance.get("source_file"), provenance.get("source_sha256")
    single = isinstance(names, str)
    names, hashes = ([names], [hashes]) if single else (names, hashes)
    if not names or any(before.get(n) != h for n, h in zip(names, hashes, strict=True)):
        return False
    linked = [contents[n] for n in names]
    provenance["source_content_sha256"] = linked[0] if single else linked
    provenance["source_sha256_note"] = (
        f"source_sha256 is the file hash of the source as fitted; on {when} checksums were "
        f"added to it in place ({COMMAND}), which changed its file hash but not its contents: "
        "source_content_sha256 is its content hash (gaincell.circuits.h5.content_sha256)"
    )
    return True


def add_checksums(
    path: str | Path,
    before: dict[str, str] | None = None,
    contents: dict[str, str] | None = None,
    commit: str | None = None,
) -> bool:
    """Add checksums to ``path`` in place (atomically); False if it already had them (then
    they are verified). ``before``/``contents``: characterization file name -> file hash
    before this run / content hash, to relink a surrogate's source (see the module);
    ``commit``: the code's commit (default: the checkout's now)."""
    path = Path(path)
    with open_h5(path, "HDF5", StoreError) as h5:  # verifies existing checksums
        if CHECKSUMS_ATTR in h5.attrs:
            return False
    when = datetime.now(UTC).isoformat(timespec="seconds")
    with atomic_output(path, overwrite=True) as temporary:
        shutil.copy2(path, temporary)
        with h5py.File(temporary, "a") as h5:
            write_checksums(h5)
            h5.attrs[CHECKSUMS_ADDED_ATTR] = json.dumps(
                {"created": when, "git_commit": commit or git_commit(), "by": COMMAND}
            )
            if h5.attrs.get("format") == "gaincell-surrogate" and before and contents:
                provenance = json.loads(h5.attrs["provenance"])
                if _relink(provenance, before, contents, when):
                    h5.attrs["provenance"] = json.dumps(provenance, sort_keys=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="*", type=Path, help="default: every shipped .h5")
    args = parser.parse_args(argv)
    files = args.files or shipped_h5()
    characterizations = sorted(CHARACTERIZATION_DIR.glob("*.h5"))
    before = {p.name: sha256_file(p) for p in characterizations}
    contents = {p.name: content_sha256(p) for p in characterizations}
    commit = git_commit()  # before the first file changes the checkout
    try:
        for path in files:
            added = add_checksums(path, before, contents, commit)
            print(f"{path}: {'checksums added' if added else 'already has checksums (verified)'}")
    except GaincellError as error:
        print(f"{COMMAND}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
