"""Property-based tests of everything a user types that can reach a SPICE deck: sweep specs
(JSON, TOML job files), the CLI's ``--set``, ``--axis``, ``--temps``, ``--corner``, ``--at``,
and the sweep size limit. No SPICE runs; example counts are kept small (the default suite)."""

from __future__ import annotations

import json
import math
import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gaincell.characterize import Axis, SpecError, SweepSpec
from gaincell.characterize.axes import MAX_POINTS_PER_AXIS
from gaincell.characterize.registry import available, get_characterization
from gaincell.characterize.spec import MAX_POINTS, PRESET_DIR
from gaincell.circuits.montecarlo import MC_KINDS
from gaincell.circuits.pdk import CORNERS
from gaincell.cli import _join_values, _spec_from_args, build_parser, main

FEW = settings(max_examples=25, deadline=None)
SOME = settings(max_examples=60, deadline=None)
# capsys, tmp_path and monkeypatch.chdir are safe to share between examples here
SHARED = [HealthCheck.function_scoped_fixture]
FEW_SHARED = settings(FEW, suppress_health_check=SHARED)
SOME_SHARED = settings(SOME, suppress_health_check=SHARED)

MARKER = "zqinject"
"""In every hostile payload: a deck containing it carries user text."""
PAYLOADS = [
    f"1\n.control\nshell rm -rf {MARKER}\n.endc",
    f"1; shell rm -rf {MARKER}",
    f"0.5 {MARKER}",
    f"27'{MARKER}'",
    f'"{MARKER}"',
    f"tt\n.include /etc/passwd {MARKER}",
    f"1e-9\n{MARKER}",
    f"0:1.8:5\n.control {MARKER}",
    f"0:1.8:5:log;{MARKER}",
    f"ⅷ{MARKER}",
    f"{MARKER}=1",
]
SI_SUFFIXES = ["f", "p", "n", "u", "m", "k", "meg", "g", "t", "V", "s", " C"]

numbers = st.floats(allow_nan=True, allow_infinity=True)
number_text = st.one_of(
    numbers.map(repr),
    st.integers().map(str),
    st.tuples(numbers, st.sampled_from(SI_SUFFIXES)).map(lambda p: f"{p[0]!r}{p[1]}"),
    st.integers(310, 400).map(lambda n: f"1e{n}"),  # huge exponents
    st.integers(4400, 5000).map(lambda n: "9" * n),  # past int()'s digit limit
)
hostile_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(PAYLOADS),
    number_text,
    st.tuples(number_text, st.sampled_from(PAYLOADS)).map("".join),
    st.sampled_from(["nan", "inf", "-inf", "NaN", "Infinity", "", " ", "1_000", "0x10"]),
)
"""Text a user might pass, with payloads that must never reach a deck."""
INF_OR_NAN = re.compile(r"\b(nan|inf|infinity)\b", re.IGNORECASE)


# -- helpers ----------------------------------------------------------------------------------
def _toml_value(value: Any) -> str:
    """``value`` as a TOML value (inline tables for dicts)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):  # JSON's escapes are TOML's, but for DEL, which TOML escapes
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    items = (f"{_toml_value(str(k))} = {_toml_value(v)}" for k, v in value.items())
    return "{" + ", ".join(items) + "}"


def _write_job(path: Path, data: dict[str, Any]) -> Path:
    path.write_text("[sweep]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in data.items()))
    return path


@cache
def _netlist(circuit: str, corner: str) -> str:
    return get_characterization(circuit).deck(corner).text


def _render(spec: SweepSpec) -> str:
    """The deck ``gaincell deck`` prints for ``spec``'s first corner and temperature."""
    control = get_characterization(spec.circuit).standalone_control(spec)
    return _netlist(spec.circuit, spec.corners[0]) + control


def _assert_clean_deck(text: str) -> None:
    assert MARKER not in text
    assert not INF_OR_NAN.search(text), INF_OR_NAN.search(text)


def _assert_finite(spec: SweepSpec) -> None:
    """What a parsed spec can hand a deck: finite numbers and known corner names."""
    assert set(spec.corners) <= set(CORNERS)
    numbers = [*spec.temperatures, *spec.settings.values()]
    for axis in spec.axes.values():
        numbers += [axis.start, axis.stop]
        assert isinstance(axis.points, int) and 2 <= axis.points <= MAX_POINTS_PER_AXIS
        assert axis.scale in ("linear", "log")
    assert all(isinstance(x, int | float) and math.isfinite(x) for x in numbers)


@st.composite
def valid_specs(draw: st.DrawFn, circuit: str | None = None) -> SweepSpec:
    """Specs the package accepts: axes and settings drawn within each circuit's limits."""
    circuit = circuit or draw(st.sampled_from(available()))
    characterization = get_characterization(circuit)
    axes = {}
    for name, limits in characterization.axis_specs.items():
        if not draw(st.booleans()):
            continue  # the circuit's default
        points = draw(st.integers(2, 8))
        if name == "case":  # mac-chain: whole cases, one apart
            start = draw(st.integers(0, 100))
            axes[name] = Axis(start, start + points - 1, points)
            continue
        scale = limits.default.scale
        low = limits.low if scale == "linear" else max(limits.low, limits.high * 1e-6)
        ends = st.floats(low, limits.high, allow_subnormal=False)
        start, stop = sorted(draw(st.lists(ends, min_size=2, max_size=2, unique=True)))
        axes[name] = Axis(start, stop, points, scale)
    chosen = draw(st.sets(st.sampled_from(sorted(characterization.setting_specs) or [""])))
    values = {
        name: draw(st.floats(s.low, s.high).filter(lambda v, s=s: v > 0 or not s.positive))
        for name, s in characterization.setting_specs.items()
        if name in chosen
    }
    corners = draw(st.lists(st.sampled_from(CORNERS), min_size=1, max_size=5, unique=True))
    temperatures = draw(st.lists(st.floats(-55, 150), min_size=1, max_size=4, unique=True))
    try:
        return SweepSpec(circuit, axes, tuple(corners), tuple(temperatures), values)
    except SpecError:  # a circuit's own rule (conversion window order, gap room, ...)
        assume(False)
        raise


def _parse_cli(*flags: str, circuit: str = "multiplier") -> SweepSpec:
    args = build_parser().parse_args(_join_values(["characterize", circuit, *flags]))
    return _spec_from_args(args)


# -- specs: JSON and TOML round trips ---------------------------------------------------------
@SOME
@given(spec=valid_specs())
def test_valid_specs_round_trip_through_json(spec):
    again = SweepSpec.from_json(spec.to_json())
    assert again == spec
    assert again.to_json() == spec.to_json()
    assert SweepSpec.from_recorded(json.loads(spec.to_json())) == spec


@FEW_SHARED
@given(spec=valid_specs())
def test_valid_specs_round_trip_through_a_toml_job_file(tmp_path, spec):
    job = _write_job(tmp_path / "job.toml", spec.to_dict())
    assert SweepSpec.from_toml(job) == spec


@pytest.mark.parametrize("preset", sorted(p.stem for p in PRESET_DIR.glob("*.toml")))
def test_presets_round_trip(tmp_path, preset):
    spec = SweepSpec.from_toml(preset)
    assert SweepSpec.from_json(spec.to_json()) == spec
    assert SweepSpec.from_toml(_write_job(tmp_path / "job.toml", spec.to_dict())) == spec


@FEW
@given(spec=valid_specs())
def test_valid_specs_render_decks_of_finite_numbers(spec):
    _assert_finite(spec)
    _assert_clean_deck(_render(spec))


# -- axes -------------------------------------------------------------------------------------
ends = st.floats(-1e6, 1e6, allow_nan=False)


@SOME
@given(start=ends, stop=ends, points=st.integers(-3, MAX_POINTS_PER_AXIS + 3), log=st.booleans())
def test_axis_values_have_n_points_exact_ends_and_increase(start, stop, points, log):
    axis = Axis(start, stop, points, "log" if log else "linear")
    try:
        axis.validate("x", -1e6, 1e6, "V")
    except SpecError as error:
        assert str(error).startswith("axis x")
        if points < 2:
            assert "at least 2 points" in str(error)
        elif points > MAX_POINTS_PER_AXIS:
            assert str(points) in str(error)
        elif stop <= start:
            assert "reversed" in str(error)
        elif log and start <= 0:
            assert "positive start" in str(error)
        else:  # refused only for points too close to tell apart in a deck
            assert "closer than" in str(error)
            if log:
                assert math.log(stop / start) / (points - 1) < 1e-6
            else:
                assert (stop - start) / (points - 1) < 1e-6 * max(abs(start), abs(stop))
        return
    values = axis.values()
    assert len(values) == points
    assert values[0] == start and values[-1] == stop  # exact, not approximately
    assert np.all(np.diff(values) > 0)
    assert np.all(np.isfinite(values))
    if log:
        assert np.all(values > 0)


@SOME
@given(
    start=st.floats(-10, 10),
    stop=st.floats(-10, 10),
    points=st.integers(2, MAX_POINTS_PER_AXIS),
    log=st.booleans(),
)
def test_axis_text_parses_back_exactly(start, stop, points, log):
    text = f"{start!r}:{stop!r}:{points}" + (":log" if log else "")
    assert Axis.parse(text) == Axis(start, stop, points, "log" if log else "linear")


@SOME
@given(text=hostile_text, name=st.sampled_from(["v_in", "v_store"]))
def test_axis_text_is_numbers_or_a_named_error(text, name):
    """Parsing alone: an Axis of floats and an int, or SpecError naming the axis; then the
    spec accepts only finite, in-range axes, and its deck holds no user text."""
    try:
        axis = Axis.parse(text, name=name)
    except SpecError as error:
        assert f"axis {name}" in str(error)
        return
    assert type(axis.start) is float and type(axis.stop) is float and type(axis.points) is int
    try:
        spec = _parse_cli("--axis", f"{name}={text}")
    except SpecError as error:
        assert name in str(error)
        return
    _assert_finite(spec)
    _assert_clean_deck(_render(spec))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0:1.8:1", "needs at least 2 points, got 1"),
        ("0:1.8:0", "needs at least 2 points, got 0"),
        ("0:1.8:-4", "needs at least 2 points, got -4"),
        ("0:1.8:5.0", "invalid literal for int()"),
        ("0:1.8:1e3", "invalid literal for int()"),
        ("0:1.8:5:log", "a log axis needs a positive start"),
        ("-1:1.8:5:log", "a log axis needs a positive start"),
        ("0.1:1.8:5:LOG", "scale must be linear or log"),
        ("0.5:0.5000000000000001:5", "closer than"),
    ],
)
def test_bad_axis_text_is_refused(text, message):
    with pytest.raises(SpecError, match="v_store") as raised:
        _parse_cli("--axis", f"v_store={text}", circuit="leakage")
    assert message in str(raised.value)


@pytest.mark.parametrize("circuit", ["mac-chain", "relu-c2p-recovery", "relu-c2p-step"])
@FEW
@given(text=hostile_text)
def test_circuits_own_axis_checks_see_well_formed_axes(circuit, text):
    """A circuit's ``check_spec`` computes with its axes (whole cases, gap room, positive
    offsets): NaN, one point or a log axis through zero once escaped as ValueError,
    ZeroDivisionError or a numpy error."""
    name = next(iter(get_characterization(circuit).axis_specs))
    for axis_text in (text, f"{text}:3:4", f"0:{text}:4", f"1e-16:0:{text}:log", "0:3:1"):
        try:
            spec = _parse_cli("--axis", f"{name}={axis_text}", circuit=circuit)
        except SpecError:
            continue
        _assert_finite(spec)


# -- settings, temperatures, corners ----------------------------------------------------------
SETTINGS = [(c, n) for c in available() for n in get_characterization(c).setting_specs]


@SOME
@given(case=st.sampled_from(SETTINGS), text=hostile_text)
def test_set_is_a_number_or_a_named_error(case, text):
    circuit, name = case
    try:
        spec = _parse_cli("--set", f"{name}={text}", circuit=circuit)
    except SpecError as error:
        assert name in str(error)
        return
    _assert_finite(spec)
    assert spec.settings[name] == float(text)
    _assert_clean_deck(_render(spec))


@FEW
@given(name=hostile_text, value=number_text)
def test_set_of_an_unknown_name_is_refused(name, value):
    assume(name.strip() not in get_characterization("relu-c2p").setting_specs)
    with pytest.raises(SpecError, match="setting"):
        _parse_cli("--set", f"{name}={value}", circuit="relu-c2p")


@SOME_SHARED
@given(text=hostile_text, option=st.sampled_from(["--temps", "--corners"]))
def test_temps_and_corners_are_numbers_names_or_a_named_error(capsys, text, option):
    try:
        spec = _parse_cli(option, text)
    except SystemExit as exit_:  # argparse's own refusal: exit 2 naming the option
        assert exit_.code == 2
        assert f"argument {option}" in capsys.readouterr().err
        return
    except SpecError as error:
        assert ("corner" if option == "--corners" else "temperature") in str(error)
        return
    _assert_finite(spec)
    _assert_clean_deck(_render(spec))


# -- gaincell deck: the command that prints a deck from user input ----------------------------
@SOME_SHARED
@given(
    circuit=st.sampled_from(available()),
    option=st.sampled_from(["--corner", "--temp", "--at"]),
    text=hostile_text,
)
def test_deck_command_prints_only_numbers(tmp_path, monkeypatch, capsys, circuit, option, text):
    monkeypatch.chdir(tmp_path)  # the command creates build/
    capsys.readouterr()
    try:
        code = main(["deck", circuit, f"{option}={text}"])
    except SystemExit as exit_:
        assert exit_.code == 2 and f"argument {option}" in capsys.readouterr().err
        return
    out, err = capsys.readouterr()
    if code == 2:
        assert out == "" and err.count("\n") == 1 and err.startswith("gaincell deck: error:")
        return
    assert code == 0
    _assert_clean_deck(out)


@pytest.mark.parametrize("at", ["nan", "inf", "-inf", "1e300", "-1e300"])
def test_deck_at_outside_the_axis_is_refused(capsys, at):
    """``--at`` once went into the deck as ``alterparam qin=nan`` (or inf, or 1e300 C)."""
    assert main(["deck", "relu-c2p", f"--at={at}"]) == 2
    assert "charge" in capsys.readouterr().err


# -- size limit -------------------------------------------------------------------------------
@SOME
@given(
    n_in=st.integers(2, MAX_POINTS_PER_AXIS),
    n_store=st.integers(2, MAX_POINTS_PER_AXIS),
    corners=st.integers(1, 5),
    temperatures=st.integers(1, 20),
    limit=st.one_of(st.none(), st.integers(0, 2 * MAX_POINTS_PER_AXIS**2 * 100)),
)
def test_check_size_refuses_exactly_the_sweeps_over_the_limit(
    n_in, n_store, corners, temperatures, limit
):
    spec = SweepSpec(
        axes={"v_in": Axis(0.0, 1.8, n_in), "v_store": Axis(0.45, 1.35, n_store)},
        corners=CORNERS[:corners],
        temperatures=tuple(np.linspace(-40, 125, temperatures)),
    )
    points = n_in * n_store * corners * temperatures
    assert spec.points == points
    effective = MAX_POINTS if limit is None else limit
    check = spec.check_size if limit is None else lambda: spec.check_size(limit)
    if points <= effective:
        check()
        return
    with pytest.raises(SpecError) as raised:
        check()
    assert f"{points:,}" in str(raised.value) and f"{effective:,}" in str(raised.value)


@FEW_SHARED
@given(n=st.integers(20, 200), corners=st.integers(1, 5), limit=st.integers(0, 399))
def test_cli_refuses_a_sweep_over_max_points_before_any_simulation(
    tmp_path, capsys, n, corners, limit
):
    points = n * n * corners
    assert points > limit  # never under the limit: that would run ngspice
    out = tmp_path / "out.h5"
    flags = ["--v-in", f"0:1.8:{n}", "--v-store", f"0.45:1.35:{n}", "--corners"]
    flags += [",".join(CORNERS[:corners]), "--max-points", str(limit), "--out", str(out)]
    assert main(["characterize", "multiplier", "--quiet", *flags]) == 2
    assert f"{points:,} points" in capsys.readouterr().err
    assert not out.exists()


# -- TOML job files: strict types -------------------------------------------------------------
def _any_toml_value(depth: int = 2) -> st.SearchStrategy:
    scalars = st.one_of(
        st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
        st.integers(-(2**70), 2**70),
        st.integers(10**309, 10**320),  # TOML integers have any size; floats overflow
        st.floats(),
        st.booleans(),
    )
    if depth == 0:
        return scalars
    inner = _any_toml_value(depth - 1)
    return st.one_of(
        scalars,
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "start", "27"]), inner, max_size=2),
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, float) or (
        isinstance(value, int) and not isinstance(value, bool) and abs(value) < 1e308
    )


WRONG = {  # what each kind of key must not hold
    "name": lambda v: not isinstance(v, str),
    "names": lambda v: not isinstance(v, list) or not all(isinstance(x, str) for x in v),
    "numbers": lambda v: not isinstance(v, list) or not all(_is_number(x) for x in v),
    "number": lambda v: not _is_number(v),
    "integer": lambda v: not isinstance(v, int) or isinstance(v, bool),
    "scale": lambda v: v not in ("linear", "log"),
    "table": lambda v: not isinstance(v, dict),
    "mc_kind": lambda v: v not in MC_KINDS,
}


@cache
def _preset_data(preset: str) -> str:
    """A preset's full spec (every axis and setting spelled out) as JSON text."""
    return SweepSpec.from_toml(preset).to_json()


def _job_keys(preset: str) -> list[tuple[tuple[str, ...], str]]:
    """(key path, kind) for every key of a preset's full spec."""
    data = json.loads(_preset_data(preset))
    keys = [(("circuit",), "name"), (("corners",), "names"), (("temperatures",), "numbers")]
    keys += [(("axes",), "table"), (("settings",), "table")]
    kinds = {"start": "number", "stop": "number", "points": "integer", "scale": "scale"}
    for axis in data["axes"]:
        keys.append((("axes", axis), "table"))
        keys += [(("axes", axis, key), kind) for key, kind in kinds.items()]
    if "monte_carlo" in data:
        keys.append((("monte_carlo",), "table"))
        keys += [(("monte_carlo", k), "integer") for k in ("samples", "seed")]
        keys.append((("monte_carlo", "kind"), "mc_kind"))
    return keys + [(("settings", name), "number") for name in data["settings"]]


@pytest.mark.parametrize("preset", sorted(p.stem for p in PRESET_DIR.glob("*.toml")))
@settings(max_examples=6, deadline=None, suppress_health_check=SHARED)  # x every key
@given(data=st.data())
def test_a_wrong_type_in_a_job_file_is_one_error_naming_the_key(tmp_path, preset, data):
    """Every key of every preset, one at a time, given a value of a wrong type."""
    wrong = {
        kind: data.draw(_any_toml_value().filter(test), label=kind) for kind, test in WRONG.items()
    }
    for key, kind in _job_keys(preset):
        job = json.loads(_preset_data(preset))
        table = job
        for part in key[:-1]:
            table = table[part]
        table[key[-1]] = wrong[kind]
        with pytest.raises(SpecError) as raised:
            SweepSpec.from_toml(_write_job(tmp_path / "job.toml", job))
        message = str(raised.value)
        # the key itself, and for an axis' start/stop/points/scale the axis too
        assert key[-1] in message and (len(key) < 3 or key[1] in message), (key, message)
        assert "\n" not in message


@SOME_SHARED
@given(
    key=st.sampled_from(["corners", "temperatures"]),
    text=st.one_of(st.sampled_from(["27", "2785", "tt", "ttss", "27, 85"]), st.text(max_size=8)),
)
def test_a_string_is_never_read_as_a_list(tmp_path, key, text):
    """``temperatures = "27"`` once ran at 2 and 7 C."""
    job = _write_job(tmp_path / "job.toml", {"circuit": "multiplier", key: text})
    with pytest.raises(SpecError, match=f"{key} must be a list"):
        SweepSpec.from_toml(job)


@SOME_SHARED
@given(
    key=st.sampled_from(["circuit", "corners", "temperatures", "settings", "axes"]),
    text=st.sampled_from(PAYLOADS),
)
def test_payloads_in_a_job_file_never_reach_the_deck(tmp_path, monkeypatch, capsys, key, text):
    value: Any = {
        "circuit": text,
        "corners": ["tt", text],
        "temperatures": [27.0, text],
        "settings": {"time_step": text},
        "axes": {"charge": {"start": 0.0, "stop": 1e-12, "points": 3, "scale": text}},
    }[key]
    job = _write_job(tmp_path / "job.toml", {"circuit": "relu-c2p", key: value})
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["deck", "relu-c2p", "--job", str(job)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1


@FEW
@given(text=st.one_of(st.text(max_size=50), st.binary(max_size=50).map(repr), hostile_text))
def test_sweep_json_is_a_spec_or_a_spec_error(text):
    """Recorded specs (``--job file.h5``) and any JSON text: never another exception."""
    for candidate in (text, json.dumps({"temperatures": [text]}), f'{{"temperatures": [{text}]}}'):
        try:
            spec = SweepSpec.from_json(candidate)
        except SpecError:
            continue
        _assert_finite(spec)


@pytest.mark.parametrize(
    "body",
    [
        "temperatures = [1" + "0" * 400 + "]",  # past float range: OverflowError once
        "temperatures = [1" + "0" * 5000 + "]",  # past int()'s digit limit: ValueError once
        "[sweep.settings]\nt_stop = 1" + "0" * 400,
        "[sweep.axes]\ncharge = { start = 0, stop = 1" + "0" * 400 + ", points = 3 }",
    ],
)
def test_huge_integers_in_a_job_file_are_a_spec_error(tmp_path, body):
    job = tmp_path / "job.toml"
    job.write_text(f'[sweep]\ncircuit = "relu-c2p"\n{body}\n')
    with pytest.raises(SpecError, match=r"job file|temperatures|t_stop|stop"):
        SweepSpec.from_toml(job)


@pytest.mark.parametrize(
    "name", ["x" * 300, "x" * 300 + ".toml", "a\x00b", "binary.toml", "folder.toml"]
)
def test_unreadable_job_files_are_a_spec_error(tmp_path, monkeypatch, name):
    """Names too long for the file system, and files that are not UTF-8, once raised OSError
    and UnicodeDecodeError."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00[sweep]")
    (tmp_path / "folder.toml").mkdir()
    with pytest.raises(SpecError, match="job file"):
        SweepSpec.from_toml(name)
