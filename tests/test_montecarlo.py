"""Monte Carlo: the sky130 facts gaincell's sampling rests on, checked in ngspice, and the
sample axis of a sweep (seeded per sample, the same on any worker count)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from gaincell.characterize import Axis, SpecError, SweepSpec, read_characterization, run_sweep
from gaincell.characterize.base import Task
from gaincell.characterize.sweep import Journal
from gaincell.circuits.montecarlo import MonteCarlo, MonteCarloError, with_sample
from gaincell.circuits.pdk import build_model_deck, find_models
from gaincell.circuits.runner import get_runner

NFET = "sky130_fd_pr__nfet_01v8"


def _deck(instances: list[str], sample_lines: str = "", before_models: str = "") -> str:
    """An nfet_01v8 test deck: every instance between drain d and gate g at 0.9 V."""
    models = build_model_deck(["nfet_01v8"], "tt").text
    body = "\n".join(["vd d 0 0.9", "vg g 0 0.9", *instances, ".end"])
    return with_sample(f"* mc test\n{before_models}{models}{body}\n", sample_lines)


def _vth(deck: str, names: list[str]) -> np.ndarray:
    """Each instance's threshold voltage at the operating point."""
    with get_runner().loaded(deck) as circuit:
        circuit.command("op")
        text = "\n".join(circuit.command(f"print @m.{n}.m{NFET}[vth]") for n in names)
    return np.array([float(v) for v in re.findall(r"=\s*([-+\d.eE]+)", text)])


PAIR = [f"x{k} d g 0 0 {NFET} w=1 l=0.15" for k in ("a", "b")]


@pytest.mark.spice
def test_mismatch_draws_one_value_per_instance_only_when_switched_on():
    lines = MonteCarlo(1, seed=11).deck_lines(0)
    nominal = _vth(_deck(PAIR), ["xa", "xb"])
    drawn = _vth(_deck(PAIR, lines), ["xa", "xb"])
    assert nominal[0] == nominal[1]  # identical instances, no mismatch
    assert abs(drawn[0] - drawn[1]) > 1e-5  # each instance its own draw
    # The switch must come after the library's mc_mm_switch=0: put before it, it is overridden.
    early = _vth(_deck(PAIR, before_models=".param mc_mm_switch=1\n"), ["xa", "xb"])
    assert early[0] == early[1] == nominal[0]


@pytest.mark.spice
def test_the_seed_repeats_a_sample_whatever_ran_before_and_samples_differ():
    mc = MonteCarlo(3, seed=5)
    first = _vth(_deck(PAIR, mc.deck_lines(0)), ["xa", "xb"])
    other = _vth(_deck(PAIR, mc.deck_lines(1)), ["xa", "xb"])
    again = _vth(_deck(PAIR, mc.deck_lines(0)), ["xa", "xb"])
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert len(set(mc.seeds())) == 3
    assert MonteCarlo(3, seed=6).sample_seed(0) != mc.sample_seed(0)


@pytest.mark.spice
def test_mismatch_scales_with_area_and_mult_but_m_shares_one_unscaled_draw():
    n = 60
    groups = {"one": "w=1", "wide": "w=4", "mult": "w=1 mult=4", "m": "w=1 m=4"}
    instances = [
        f"x{group}{i} d g 0 0 {NFET} l=0.15 {size}"
        for group, size in groups.items()
        for i in range(n)
    ]
    deck = _deck(instances, MonteCarlo(1, seed=21).deck_lines(0))
    vth = _vth(deck, [f"x{group}{i}" for group in groups for i in range(n)]).reshape(4, n)
    sigma = dict(zip(groups, vth.std(axis=1, ddof=1), strict=True))
    # slope / sqrt(W L mult): 4x the area or mult=4 halves sigma (60 draws: +-15 % each)
    assert 1.5 < sigma["one"] / sigma["wide"] < 2.7
    assert 1.5 < sigma["one"] / sigma["mult"] < 2.7
    # m=4 is four devices on one draw of a single device's spread
    assert 0.7 < sigma["one"] / sigma["m"] < 1.4


@pytest.mark.spice
@pytest.mark.slow
def test_the_libraries_process_section_does_not_load_after_tt(tmp_path):
    """The fact behind PROCESS_UNAVAILABLE (the whole library: ~1 min). In a plain ngspice
    process: the fatal error leaves a shared libngspice unusable ("cannot recover and awaits
    to be detached"), so it must not happen in the test process's own."""
    import subprocess

    library = find_models().library
    deck = tmp_path / "process_mc.sp"
    deck.write_text(
        f'* process mc\n.lib "{library}" tt\n.lib "{library}" mc\nvd d 0 0.9\n'
        f"x1 d d 0 0 {NFET} w=1 l=0.15\n.control\nop\nprint i(vd)\n.endc\n.end\n"
    )
    run = subprocess.run(
        ["ngspice", "-b", str(deck)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=600,
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0 and "fatal error" in output, output[-2000:]
    assert "i(vd) =" not in output


def test_monte_carlo_settings_validate_and_round_trip():
    mc = MonteCarlo(200, seed=7)
    assert MonteCarlo.from_dict(mc.to_dict()) == mc
    spec = SweepSpec(circuit="multiplier", monte_carlo={"samples": 3, "seed": 2})
    assert SweepSpec.from_json(spec.to_json()) == spec
    assert spec.points == 3 * SweepSpec(circuit="multiplier").points
    assert "monte_carlo" not in SweepSpec(circuit="multiplier").to_json()  # old specs unchanged
    for bad, words in (
        ({"samples": 0}, "samples"),
        ({"samples": 2, "seed": -1}, "seed"),
        ({"samples": 2, "kind": "wafer"}, "kind"),
        ({"samples": 2, "sigma": 3}, "unknown"),
        ({"seed": 2}, "samples"),
        ({"samples": 2.5}, "integer"),
    ):
        with pytest.raises((SpecError, MonteCarloError), match=words):
            SweepSpec(circuit="multiplier", monte_carlo=bad)
    with pytest.raises(SpecError, match="process Monte Carlo"):
        SweepSpec(circuit="multiplier", monte_carlo={"samples": 2, "kind": "both"})


def test_journal_names_carry_the_sample(tmp_path):
    spec = SweepSpec(
        circuit="multiplier",
        axes={"v_in": Axis(0, 1.8, 3), "v_store": Axis(0.45, 1.35, 3)},
        monte_carlo={"samples": 2},
    )
    out = tmp_path / "x.h5"
    from gaincell.characterize.registry import get_characterization

    tasks = get_characterization("multiplier").tasks(spec, 2)
    assert tasks == [Task("tt", 0, 3, 0), Task("tt", 0, 3, 1)]
    Journal(out, spec, tasks, resume=False)
    assert Journal._name(tasks[1]) == "block-tt-s1-0-3.h5"
    again = Journal(out, spec, tasks, resume=True)
    assert again.tasks == tasks


@pytest.mark.spice
def test_a_monte_carlo_sweep_is_the_same_on_any_worker_count(tmp_path):
    spec = SweepSpec(
        circuit="multiplier",
        axes={"v_in": Axis(0.0, 1.8, 4), "v_store": Axis(0.45, 1.35, 5)},
        temperatures=(27.0, 85.0),
        monte_carlo={"samples": 3, "seed": 4},
    )
    run_sweep(spec, tmp_path / "one.h5", jobs=1, progress=False)
    run_sweep(spec, tmp_path / "two.h5", jobs=2, progress=False)
    one = read_characterization(tmp_path / "one.h5")
    two = read_characterization(tmp_path / "two.h5")
    assert one.quantity_axes["i_out"] == ("corner", "sample", "temperature", "v_store", "v_in")
    assert np.array_equal(one.quantities["i_out"], two.quantities["i_out"])
    assert np.array_equal(one.axes["sample"].values, spec.monte_carlo.seeds())
    current = one.quantities["i_out"][0, :, 0, -1, -1]  # full-scale current of each sample
    assert len(set(current)) == 3
    # A sample is the same devices at every temperature: rerun the 85 C half alone.
    hot = SweepSpec.from_dict(spec.to_dict() | {"temperatures": [85.0]})
    run_sweep(hot, tmp_path / "hot.h5", jobs=1, progress=False)
    assert np.array_equal(
        read_characterization(tmp_path / "hot.h5").quantities["i_out"][:, :, 0],
        one.quantities["i_out"][:, :, 1],
    )


# -- shipped Monte Carlo data, spread report and mismatch surrogates ---------------------------

MC_STEMS = ("multiplier", "multiplier_pulse", "relu_c2p", "signed_c2p", "leakage")


@pytest.mark.parametrize("stem", MC_STEMS)
def test_shipped_monte_carlo_files_hold_200_seeded_samples_at_tt_27(stem):
    from gaincell.circuits.files import CHARACTERIZATION_DIR

    data = read_characterization(CHARACTERIZATION_DIR / f"{stem}_mc_sky130.h5")
    spec = SweepSpec.from_dict(data.provenance["sweep_spec"])
    assert spec.monte_carlo.samples >= 200 and spec.monte_carlo.kind == "mismatch"
    assert np.array_equal(data.axes["sample"].values, spec.monte_carlo.seeds())
    assert list(data.axes["corner"].values) == ["tt"]
    assert list(data.axes["temperature"].values) == [27.0]
    holdout = read_characterization(CHARACTERIZATION_DIR / f"{stem}_mc_holdout_sky130.h5")
    assert not set(holdout.axes["sample"].values) & set(data.axes["sample"].values)


def test_the_spread_report_reads_each_cell_and_converter():
    from gaincell.characterize.spread import spread
    from gaincell.circuits.files import CHARACTERIZATION_DIR

    report = {
        stem: {
            s.name: s
            for s in spread(read_characterization(CHARACTERIZATION_DIR / f"{stem}_mc_sky130.h5"))
        }
        for stem in MC_STEMS
    }
    cell = report["multiplier"]
    assert 0.003 < cell["i_full_scale_pos"].relative < 0.05  # a mismatched cell, not identical ones
    assert 0.5e-3 < cell["v_zero"].sigma < 20e-3
    for name in ("relu_c2p", "signed_c2p"):
        for item in report[name].values():
            assert np.isfinite(item.values).mean() > 0.95, (name, item.name)
            assert item.sigma > 0, (name, item.name)
    assert report["relu_c2p"]["slope"].mean > 0


@pytest.mark.parametrize(
    "name", ["multiplier-mc", "multiplier-pulse-mc", "relu-c2p-mc", "signed-c2p-mc", "leakage-mc"]
)
def test_mismatch_surrogates_draw_new_instances_that_match_fresh_spice(name):
    from gaincell.surrogate import load

    model = load(name)
    cells = model.sample(300, seed=5)
    assert cells.values.shape == (300, *model.mean.shape)
    assert np.array_equal(cells.values, model.sample(300, seed=5).values)
    assert not np.array_equal(cells.values, model.sample(300, seed=6).values)
    check = model.validation
    assert check["holdout_samples"] >= 100
    assert check["mean_ok"] and check["sigma_ok"] and check["ks_ok"], check
    # every instance can be evaluated anywhere on its grid
    corner = {axis: values[-1] for axis, values in model.axes.items()}
    assert cells(**corner).shape == (300,)


def test_mismatch_validation_is_reproducible_from_the_shipped_files(same_report):
    from gaincell.circuits.files import CHARACTERIZATION_DIR
    from gaincell.surrogate import load
    from gaincell.surrogate.mismatch import fit_mismatch, validate

    shipped = load("multiplier-mc")
    again = fit_mismatch(CHARACTERIZATION_DIR / "multiplier_mc_sky130.h5")
    np.testing.assert_allclose(again.mean, shipped.mean)
    result = validate(again, CHARACTERIZATION_DIR / "multiplier_mc_holdout_sky130.h5")
    assert same_report(result, shipped.validation)
    # the nominal file has no samples: a clear error
    from gaincell.surrogate import SurrogateError

    with pytest.raises(SurrogateError, match="no Monte Carlo samples"):
        fit_mismatch(CHARACTERIZATION_DIR / "multiplier_sky130.h5")
    # a hold-out drawn with the fitted seeds is no hold-out
    with pytest.raises(SurrogateError, match="shares"):
        validate(again, CHARACTERIZATION_DIR / "multiplier_mc_sky130.h5")


def test_a_mismatch_surrogate_round_trips_and_is_never_half_written(tmp_path):
    from gaincell.surrogate import load
    from gaincell.surrogate.mismatch import load_mismatch, save_mismatch

    model = load("relu-c2p-mc")
    path = save_mismatch(model, tmp_path / "m.h5")
    again = load(path)
    assert np.array_equal(again.scores, model.scores) and again.validation == model.validation
    with pytest.raises(Exception, match="exists"):
        save_mismatch(model, path)
    assert load_mismatch(path).quantity == model.quantity


def test_every_characterization_runs_each_block_once_per_sample():
    from gaincell.characterize.registry import CHARACTERIZATIONS, get_characterization

    for name in CHARACTERIZATIONS:
        characterization = get_characterization(name)
        nominal = SweepSpec(circuit=name)
        sampled = SweepSpec.from_dict(nominal.to_dict() | {"monte_carlo": {"samples": 3}})
        tasks = characterization.tasks(sampled, 2)
        blocks = {(t.corner, t.start, t.stop) for t in characterization.tasks(nominal, 2)}
        assert {(t.corner, t.start, t.stop) for t in tasks} <= blocks | {
            (c, 0, characterization.blocked_axis_length(nominal)) for c in nominal.corners
        }, name
        assert sorted({t.sample for t in tasks}) == [0, 1, 2], name
        covered = {(t.corner, t.sample, i) for t in tasks for i in range(t.start, t.stop)}
        length = characterization.blocked_axis_length(nominal)
        assert len(covered) == len(nominal.corners) * 3 * length, name


@pytest.mark.spice
@pytest.mark.slow
def test_monte_carlo_tiles_draw_each_array_from_its_seed_and_store_it(tmp_path):
    from dataclasses import replace

    from gaincell.characterize.tile import (
        draw_case,
        read_tile_results,
        run_cases,
        write_tile_results,
    )

    case = draw_case(size=2, seed=3, index=0)
    cases = [replace(case, mismatch_seed=s) for s in (5, 5, 6)] + [case]
    results = run_cases(cases, jobs=1)
    phi = [r.phi for r in results]
    charge = [r.k.charge for r in results]
    assert np.array_equal(charge[0], charge[1]) and np.array_equal(phi[0], phi[1])
    assert not np.array_equal(charge[0], charge[2])  # another array, other devices
    assert not np.array_equal(charge[0], charge[3])  # and not the nominal one
    path = write_tile_results(tmp_path / "mc.h5", cases, results)
    back = read_tile_results(path)
    assert [c.mismatch_seed for c in back.cases] == [5, 5, 6, None]


@pytest.mark.parametrize("monte_carlo", [None, {"samples": 2}])
def test_journal_blocks_of_every_corner_are_found_again(tmp_path, monte_carlo):
    """Block names carry the corner (ss and sf start with the Monte Carlo sample's 's'),
    the sample and the block: every committed block is read back as its own task."""
    from gaincell.characterize.registry import get_characterization
    from gaincell.characterize.sweep import TaskResult

    spec = SweepSpec(
        circuit="multiplier",
        axes={"v_in": Axis(0, 1.8, 3), "v_store": Axis(0.45, 1.35, 4)},
        corners=("tt", "ss", "ff", "sf", "fs"),
        monte_carlo=monte_carlo,
    )
    tasks = get_characterization("multiplier").tasks(spec, 2)
    journal = Journal(tmp_path / "x.h5", spec, tasks, resume=False)
    for task in tasks:
        journal.commit(
            task, TaskResult({"i_out": np.full((1, 1), task.start)}, "ngspice-39", 0, 0, 1)
        )
    finished = Journal(tmp_path / "x.h5", spec, tasks, resume=True).finished()
    assert set(finished) == set(tasks)
    assert all(finished[t].arrays["i_out"][0, 0] == t.start for t in tasks)


def test_the_command_line_offers_the_monte_carlo_kinds():
    """``--mc-kind`` spells MC_KINDS out (importing it would load numpy for every command)."""
    from gaincell.circuits.montecarlo import MC_KINDS
    from gaincell.cli import build_parser

    commands = next(a for a in build_parser()._actions if a.choices and "characterize" in a.choices)
    kind = next(a for a in commands.choices["characterize"]._actions if a.dest == "mc_kind")
    assert tuple(kind.choices) == MC_KINDS
