"""What every output file gets (issue 11), on real files: never replaced without --overwrite,
one writer at a time (a lock), no temporary left behind, a full disk is a clear error, and
SHA-256 checksums per dataset that loading verifies."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from gaincell.characterize.store import (
    REQUIRED_PROVENANCE,
    AxisData,
    CharacterizationData,
    read_characterization,
    write_characterization,
)
from gaincell.characterize.tile import read_tile_results
from gaincell.circuits.files import (
    CHARACTERIZATION_DIR,
    SURROGATE_DIR,
    TILE_DIR,
    sha256_file,
)
from gaincell.circuits.h5 import (
    CHECKSUMS_ATTR,
    DATASET_CHECKSUM_ATTR,
    StoreError,
    atomic_h5,
    content_sha256,
    lock_path,
    open_h5,
    output_lock,
)
from gaincell.cli import main
from gaincell.surrogate import SurrogateError, load


def _data(points: int = 3) -> CharacterizationData:
    provenance = {key: "x" for key in REQUIRED_PROVENANCE} | {"model_files_sha256": {"a": "b"}}
    return CharacterizationData(
        circuit="multiplier",
        axes={
            "corner": AxisData(np.array(["tt"]), "", "c"),
            "x": AxisData(np.arange(float(points)), "V", "x"),
        },
        quantities={"q": np.linspace(0.0, 1.0, points)[None, :]},
        quantity_axes={"q": ("corner", "x")},
        units={"q": "A"},
        descriptions={"q": "q"},
        provenance=provenance,
    )


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(done.stdout)


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# --- overwrite ---------------------------------------------------------------------------------


def test_an_existing_output_is_replaced_only_with_overwrite(tmp_path):
    out = write_characterization(tmp_path / "c.h5", _data(3))
    before = sha256_file(out)
    with pytest.raises(StoreError, match=rf"{out} already exists; pass --overwrite"):
        write_characterization(out, _data(4))
    assert sha256_file(out) == before and _names(tmp_path) == {"c.h5"}
    write_characterization(out, _data(4), overwrite=True)
    assert read_characterization(out).quantities["q"].shape == (1, 4)
    assert _names(tmp_path) == {"c.h5"}  # no lock, no temporary


def test_a_symlink_output_is_refused_and_with_overwrite_the_link_is_replaced(tmp_path):
    target = write_characterization(tmp_path / "target.h5", _data(3))
    before = sha256_file(target)
    link = tmp_path / "link.h5"
    link.symlink_to(target)
    with pytest.raises(StoreError, match=r"is a symbolic link .* pass --overwrite"):
        write_characterization(link, _data(4))
    dangling = tmp_path / "dangling.h5"
    dangling.symlink_to(tmp_path / "nowhere.h5")
    with pytest.raises(StoreError, match="symbolic link"):
        write_characterization(dangling, _data(4))
    write_characterization(link, _data(4), overwrite=True)
    assert not link.is_symlink() and read_characterization(link).quantities["q"].shape == (1, 4)
    assert sha256_file(target) == before  # the target is left alone


def _refuses(capsys, argv: list[str], out: Path) -> None:
    before = sha256_file(out)
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert f"{out} already exists; pass --overwrite" in error, error
    assert sha256_file(out) == before
    assert not lock_path(out).exists()


def _no_work(*args, **kwargs):
    raise AssertionError("work started although the output exists")


def test_every_command_refuses_an_existing_output_before_any_work(tmp_path, capsys, monkeypatch):
    import gaincell.attention.simulate
    import gaincell.attention.validate
    import gaincell.characterize.sweep
    import gaincell.surrogate

    monkeypatch.setattr(gaincell.characterize.sweep, "simulate_spec", _no_work)
    monkeypatch.setattr(gaincell.surrogate, "fit", _no_work)
    monkeypatch.setattr(gaincell.attention.simulate, "simulate_head", _no_work)
    monkeypatch.setattr(gaincell.attention.validate, "run_tile_cases", _no_work)
    monkeypatch.setattr(gaincell.attention.validate, "revalidate", _no_work)
    out = write_characterization(tmp_path / "out.h5", _data())
    source = CHARACTERIZATION_DIR / "cell_load_sky130.h5"
    for argv in (
        ["characterize", "multiplier", "--quiet"],
        ["fit", str(source), "--holdout", "0"],
        ["simulate-head", "--tokens", "64", "--window", "64", "--seed", "0"],
        ["validate-tile", "--cases", "1", "--size", "4", "--quiet"],
        ["validate-tile", "--reuse", str(TILE_DIR / "tile_validation_sky130.h5")],
    ):
        _refuses(capsys, [*argv, "--out", str(out)], out)


def test_figures_refuse_existing_pngs_and_replace_them_with_overwrite(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(CHARACTERIZATION_DIR / "leakage_sky130.h5", data)
    out = tmp_path / "figures"
    assert main(["figures", "--data", str(data), "--out", str(out)]) == 0
    png = out / "fig1f_leakage.png"
    assert _names(out) == {png.name}
    capsys.readouterr()
    _refuses(capsys, ["figures", "--data", str(data), "--out", str(out)], png)
    png.write_bytes(b"old")
    assert main(["figures", "--data", str(data), "--out", str(out), "--overwrite"]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG" and _names(out) == {png.name}
    assert not lock_path(out).exists()


def test_fit_replaces_its_output_with_overwrite(tmp_path, capsys):
    source = shutil.copy(CHARACTERIZATION_DIR / "cell_load_sky130.h5", tmp_path / "c.h5")
    out = tmp_path / "s.h5"
    argv = ["fit", str(source), "--holdout", "0", "--out", str(out)]
    assert main(argv) == 0
    _refuses(capsys, argv, out)
    assert main([*argv, "--overwrite"]) == 0
    assert load(out).provenance["source_content_sha256"] == content_sha256(source)
    assert _names(tmp_path) == {"c.h5", "s.h5"}


def test_the_main_job_replaces_its_own_outputs(tmp_path, monkeypatch):
    """``./run.sh`` runs twice in one checkout: ``gaincell run`` passes overwrite to each step."""
    import gaincell.cli as cli

    calls: list[tuple[str, bool]] = []
    for name in ("characterize_to", "fit_to", "simulate_head_to", "draw_figures"):
        monkeypatch.setattr(
            cli, name, lambda *a, _name=name, **k: calls.append((_name, k["overwrite"]))
        )
    cli.main_job(tmp_path, jobs=1, quiet=True)
    assert len(calls) == 5 and all(overwrite is True for _, overwrite in calls), calls
    help_text = " ".join(cli.build_parser().format_help().split())
    assert "replacing the outputs of an earlier run there (so ./run.sh can be run again)" in (
        help_text
    )


def test_shipping_surrogates_refuses_to_replace_them_without_overwrite(capsys, monkeypatch):
    import gaincell.surrogate.ship as ship

    monkeypatch.setattr(ship, "fit", _no_work)
    before = {p.name: sha256_file(p) for p in SURROGATE_DIR.glob("*.h5")}
    assert ship.main(["multiplier"]) == 2
    error = capsys.readouterr().err
    assert "multiplier_sky130.h5 already exists; pass --overwrite" in error
    assert {p.name: sha256_file(p) for p in SURROGATE_DIR.glob("*.h5")} == before
    assert not list(SURROGATE_DIR.glob("*.lock"))


# --- lock --------------------------------------------------------------------------------------

_HOLD = textwrap.dedent(
    """
    import sys
    from gaincell.circuits.h5 import output_lock
    with output_lock(sys.argv[1], command="test holder"):
        print("locked", flush=True)
        sys.stdin.read()
    """
)


def test_a_second_writer_fails_at_once_naming_the_holder(tmp_path, capsys):
    out = tmp_path / "out.h5"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert main(["characterize", "multiplier", "--quiet", "--out", str(out)]) == 2
        error = capsys.readouterr().err
        assert f"{out} is being written by another command (pid {holder.pid}" in error, error
        with pytest.raises(StoreError, match=f"pid {holder.pid}"):
            write_characterization(out, _data(), overwrite=True)
    finally:
        holder.communicate("", timeout=30)
    assert holder.returncode == 0 and _names(tmp_path) == set()  # the holder removed its lock


def test_a_stale_lock_is_taken_over_with_a_note(tmp_path, capsys):
    out = tmp_path / "out.h5"
    dead = _dead_pid()
    lock_path(out).write_text(json.dumps({"pid": dead, "host": socket.gethostname()}))
    write_characterization(out, _data())
    assert f"taking over the stale lock {lock_path(out)} (pid {dead}" in capsys.readouterr().err
    assert _names(tmp_path) == {"out.h5"}


def test_an_empty_lock_is_held_for_a_minute_then_taken_over(tmp_path, capsys):
    """A writer killed between creating its lock and filling it leaves an empty lock."""
    out = tmp_path / "out.h5"
    lock_path(out).write_text("")
    with pytest.raises(StoreError, match="an unreadable lock"):
        write_characterization(out, _data())
    old = lock_path(out).stat().st_mtime - 120
    os.utime(lock_path(out), (old, old))
    write_characterization(out, _data())
    assert "it has been unreadable for a minute" in capsys.readouterr().err
    assert _names(tmp_path) == {"out.h5"}


def test_a_lock_held_on_another_host_is_not_taken_over(tmp_path):
    out = tmp_path / "out.h5"
    lock_path(out).write_text(json.dumps({"pid": _dead_pid(), "host": "elsewhere.invalid"}))
    with pytest.raises(StoreError, match=r"on elsewhere\.invalid"):
        write_characterization(out, _data())
    assert not out.exists()


@pytest.mark.parametrize("problem", [RuntimeError, KeyboardInterrupt])
def test_the_lock_and_temporary_go_on_every_exit_path(tmp_path, problem):
    out = tmp_path / "out.h5"
    with pytest.raises(problem), output_lock(out):
        assert lock_path(out).exists()
        holder = json.loads(lock_path(out).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        assert holder["command"]
        with atomic_h5(out) as h5:  # re-entrant: the same process writes under its own lock
            h5["x"] = np.arange(3)
            raise problem("stop")
    assert _names(tmp_path) == set()


_KILLED = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from gaincell.circuits.h5 import atomic_h5
    with atomic_h5(sys.argv[1]) as h5:
        h5["x"] = np.arange(1000.0)
        h5.flush()
        print("writing", flush=True)
        time.sleep(600)
    """
)


def test_a_killed_writer_leaves_nothing_that_lasts(tmp_path, capsys):
    """kill -9 in the middle of a write: the temporary and the lock stay behind, and the next
    write of that output removes both (their pid is dead); a live writer's temporary stays."""
    out = tmp_path / "out.h5"
    writer = subprocess.Popen([sys.executable, "-c", _KILLED, str(out)], stdout=subprocess.PIPE)
    assert writer.stdout is not None and writer.stdout.readline().strip() == b"writing"
    writer.kill()
    writer.wait(timeout=30)
    left = _names(tmp_path)
    assert "out.h5.lock" in left and any(n.startswith(f".out.h5.{writer.pid}.") for n in left)
    live = tmp_path / f".out.h5.{os.getppid()}.keep.tmp"  # a live pid's (not ours)
    live.write_bytes(b"")
    write_characterization(out, _data())
    assert "taking over the stale lock" in capsys.readouterr().err
    assert _names(tmp_path) == {"out.h5", live.name}


# --- full disk ---------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs (needs root and permission to mount; skipped otherwise)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_is_a_clear_error_and_leaves_everything_as_it_was(small_disk):
    out = write_characterization(small_disk / "c.h5", _data(3))
    before = sha256_file(out)
    big = _data(400_000)  # 3.2 MB of float64 on a 1 MiB disk
    with pytest.raises(StoreError, match=rf"disk full writing {out}"):
        write_characterization(out, big, overwrite=True)
    assert sha256_file(out) == before and _names(small_disk) == {"c.h5"}
    fresh = small_disk / "new.h5"
    with pytest.raises(StoreError, match=rf"disk full writing {fresh}"):
        write_characterization(fresh, big)
    assert _names(small_disk) == {"c.h5"}
    read_characterization(out)


# --- checksums ---------------------------------------------------------------------------------


def _flip_byte(path: Path, dataset: str) -> None:
    """Flip one byte inside ``dataset``'s (contiguous) data."""
    with h5py.File(path, "r") as h5:
        offset = h5[dataset].id.get_offset()
        assert offset is not None, f"{dataset} is not contiguous"
        size = h5[dataset].id.get_storage_size()
    with open(path, "r+b") as handle:
        handle.seek(offset + size // 2)
        byte = handle.read(1)
        handle.seek(offset + size // 2)
        handle.write(bytes([byte[0] ^ 0x40]))


def test_written_files_carry_a_checksum_per_dataset(tmp_path):
    out = write_characterization(tmp_path / "c.h5", _data())
    with h5py.File(out) as h5:
        assert CHECKSUMS_ATTR in h5.attrs
        for name in ("q", "axes/x", "axes/corner"):
            assert len(h5[name].attrs[DATASET_CHECKSUM_ATTR]) == 64
    assert CHECKSUMS_ATTR not in read_characterization(out).provenance


def test_a_corrupted_characterization_is_refused_by_loading_and_by_fit(tmp_path, capsys):
    intact = shutil.copy(CHARACTERIZATION_DIR / "cell_load_sky130.h5", tmp_path / "intact.h5")
    read_characterization(intact)
    corrupt = shutil.copy(intact, tmp_path / "corrupt.h5")
    with h5py.File(corrupt) as h5:
        name = next(k for k, v in h5.items() if isinstance(v, h5py.Dataset))
    _flip_byte(corrupt, name)
    with pytest.raises(StoreError, match=rf"{corrupt}: dataset /{name} fails its SHA-256"):
        read_characterization(corrupt)
    out = tmp_path / "s.h5"
    assert main(["fit", str(corrupt), "--holdout", "0", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert str(corrupt) in error and "fails its SHA-256 checksum" in error
    assert not out.exists() and not lock_path(out).exists()


def test_a_corrupted_surrogate_is_refused(tmp_path):
    intact = shutil.copy(SURROGATE_DIR / "multiplier_sky130.h5", tmp_path / "intact.h5")
    load(intact)
    corrupt = shutil.copy(intact, tmp_path / "corrupt.h5")
    _flip_byte(corrupt, "model/values")
    with pytest.raises(SurrogateError, match=rf"{corrupt}: dataset /model/values fails"):
        load(corrupt)


def _strip_checksums(path: Path) -> None:
    """Make ``path`` look like a file written before checksums existed."""
    with h5py.File(path, "a") as h5:
        for key in (CHECKSUMS_ATTR, "checksums_added"):
            h5.attrs.pop(key, None)
        h5.visititems(
            lambda _, item: (
                item.attrs.pop(DATASET_CHECKSUM_ATTR, None)
                if isinstance(item, h5py.Dataset)
                else None
            )
        )


def test_files_written_before_checksums_still_load(tmp_path):
    for source, reader in (
        (CHARACTERIZATION_DIR / "cell_load_sky130.h5", read_characterization),
        (SURROGATE_DIR / "cell_load_sky130.h5", load),
        (TILE_DIR / "tile_validation_sky130.h5", read_tile_results),
    ):
        old = shutil.copy(source, tmp_path / source.name)
        _strip_checksums(old)
        with h5py.File(old) as h5:
            assert CHECKSUMS_ATTR not in h5.attrs
        reader(old)
        assert content_sha256(old) == content_sha256(source)


def test_a_dataset_added_after_writing_is_named(tmp_path):
    out = write_characterization(tmp_path / "c.h5", _data())
    with h5py.File(out, "a") as h5:
        h5["extra"] = np.arange(3)
    with pytest.raises(StoreError, match="dataset /extra has no checksum"):
        read_characterization(out)


SHIPPED_H5 = sorted(
    p for d in (CHARACTERIZATION_DIR, SURROGATE_DIR, TILE_DIR) for p in d.glob("*.h5")
)


@pytest.mark.parametrize("path", SHIPPED_H5, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_file_has_checksums_that_verify(path):
    with open_h5(path, "shipped", StoreError) as h5:  # verifies
        assert CHECKSUMS_ATTR in h5.attrs
        if "checksums_added" in h5.attrs:  # written before checksums, added afterwards
            added = json.loads(h5.attrs["checksums_added"])
            assert set(added) == {"created", "git_commit", "by"}
            assert "dirty" not in added["git_commit"]


def test_shipped_surrogates_name_their_sources_by_content():
    """Checksums changed the characterizations' file hashes, not their contents: each shipped
    surrogate's ``source_content_sha256`` matches the shipped source it names."""
    assert len(SHIPPED_H5) >= 20
    for path in sorted(SURROGATE_DIR.glob("*.h5")):
        provenance = load(path).provenance
        names, contents = provenance["source_file"], provenance["source_content_sha256"]
        if isinstance(names, str):
            names, contents = [names], [contents]
        hashes = provenance["source_sha256"]
        hashes = [hashes] if isinstance(hashes, str) else hashes
        for name, content, file_hash in zip(names, contents, hashes, strict=True):
            assert content_sha256(CHARACTERIZATION_DIR / name) == content, (path, name)
            if sha256_file(CHARACTERIZATION_DIR / name) != file_hash:  # fitted before
                assert "checksums were added" in provenance["source_sha256_note"], (path, name)
