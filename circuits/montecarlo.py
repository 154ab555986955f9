"""Monte Carlo samples of the sky130 models: which switches, which seed, where in the deck.

sky130 facts this module rests on (each checked in ngspice by ``tests/test_montecarlo.py``):

- Mismatch: every MOSFET model card adds ``MC_MM_SWITCH*AGAUSS(0,1,1)*slope/sqrt(l*w*mult)``
  to vth0, voff, toxe (and more); the libraries set ``mc_mm_switch=0``. A later
  ``.param mc_mm_switch=1`` overrides it (ngspice keeps the last definition), so the line is
  put after the model deck. Each subcircuit instance evaluates its own copy of the card: one
  independent draw per device instance.
- ``mult=`` (the PDK's multiplier parameter) divides the draw by ``sqrt(mult)``; ngspice's
  instance multiplier ``m=`` does not: the m parallel devices share one draw of a single
  device's spread (measured: sigma(vth) of ``m=4`` equals that of ``m=1``). gaincell's
  netlists use no ``m=``; every cell of a tile is its own instance.
- Process: ``mc_pr_switch=1`` turns on the die-level draws of ``parameters/critical.spice``
  (``lvn_threshold``, ``lvp_mobility``, ...), which ``parameters/montecarlo.spice`` (the
  library's ``mc`` section) maps onto the generic models' ``*_diff*`` parameters. In sky130
  0.15.3 this cannot be run: ``.lib mc`` after ``.lib tt`` stops ngspice 39 with a fatal parse
  error (measured, ``tests/test_montecarlo.py``, slow), the tt corner's re-extracted nfet_01v8
  model (``__tt.pm3``) reads none of those parameters, and the ``mc`` section defines 531 of
  the 1264 ``*_diff*`` parameters the generic nfet_01v8 model reads. :data:`PROCESS_UNAVAILABLE`
  says so when a sweep asks for it; the five corners bracket the process instead.
- ngspice draws from its own generator, seeded by ``.option seed=N`` when the deck loads (the
  same deck text gives the same draws whatever was loaded before, in any process); without a
  seed, draws continue from the process's generator state, so results would depend on the
  order in which a worker ran its tasks. Every sample therefore carries its own seed.
- The draws depend on the deck as parsed: gaincell parses with ``ngbehavior=hs`` (one model
  bin per instance), which evaluates fewer ``AGAUSS`` calls than plain ngspice; a standalone
  deck of a sample must be parsed the same way to repeat it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gaincell.errors import GaincellError

MC_KINDS = ("mismatch", "process", "both")
"""What a Monte Carlo sample varies: per-device mismatch, the die's process, or both."""

MAX_SEED = 2**31 - 1
"""ngspice's seed is a C int."""


PROCESS_UNAVAILABLE = (
    "process Monte Carlo (mc_pr_switch) is not available with sky130 0.15.3 in ngspice 39: the "
    "library's mc section stops ngspice with a fatal parse error after the tt corner, and the tt "
    "models do not read the process parameters it draws (see gaincell.circuits.montecarlo); use "
    "--mc-kind mismatch, and the corners for the process spread"
)
"""Why ``kind = process|both`` is refused."""


class MonteCarloError(GaincellError, ValueError):
    """A Monte Carlo setting that cannot be run."""


@dataclass(frozen=True)
class MonteCarlo:
    """Monte Carlo samples of a sweep: each sample is the whole sweep on freshly drawn devices."""

    samples: int
    """Number of samples (each its own deck load and seed)."""
    seed: int = 1
    """Base seed; sample ``i``'s ngspice seed is :meth:`sample_seed` ``(i)``."""
    kind: str = "mismatch"
    """``mismatch`` (per device instance), ``process`` (per die) or ``both``."""

    def __post_init__(self) -> None:
        for name in ("samples", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or isinstance(value, bool):
                raise MonteCarloError(f"Monte Carlo {name} must be an integer, got {value!r}")
        if not 1 <= self.samples <= 100_000:
            raise MonteCarloError(f"Monte Carlo samples must be 1..100000, got {self.samples}")
        if not 0 <= self.seed <= MAX_SEED:
            raise MonteCarloError(f"Monte Carlo seed must be 0..{MAX_SEED}, got {self.seed}")
        if self.kind not in MC_KINDS:
            raise MonteCarloError(
                f"Monte Carlo kind must be one of {', '.join(MC_KINDS)}, got {self.kind!r}"
            )
        object.__setattr__(self, "samples", int(self.samples))
        object.__setattr__(self, "seed", int(self.seed))

    @property
    def mismatch(self) -> bool:
        """Whether per-instance mismatch is drawn."""
        return self.kind in ("mismatch", "both")

    @property
    def process(self) -> bool:
        """Whether the die-level process parameters are drawn."""
        return self.kind in ("process", "both")

    def sample_seed(self, index: int) -> int:
        """ngspice seed of sample ``index``: a hash of (base seed, index), so seeds of nearby
        samples and of nearby base seeds are unrelated, and the same on any worker."""
        if not 0 <= index < self.samples:
            raise MonteCarloError(f"sample {index} outside 0..{self.samples - 1}")
        return derived_seed(self.seed, index)

    def seeds(self) -> np.ndarray:
        """Every sample's ngspice seed, in sample order."""
        return np.array([self.sample_seed(i) for i in range(self.samples)], dtype=np.int64)

    def deck_lines(self, index: int) -> str:
        """SPICE lines that make a model deck draw sample ``index`` (after the model deck)."""
        return switch_lines(
            self.sample_seed(index),
            mismatch=self.mismatch,
            process=self.process,
            note=f"sample {index} of {self.samples} ({self.kind}, base seed {self.seed})",
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON and TOML)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> MonteCarlo:
        """Inverse of :meth:`to_dict`, rejecting unknown keys."""
        if isinstance(data, MonteCarlo):
            return data
        if not isinstance(data, dict):
            raise MonteCarloError(f"monte_carlo must be a table, got {data!r}")
        unknown = set(data) - {"samples", "seed", "kind"}
        if unknown:
            raise MonteCarloError(f"monte_carlo has unknown key(s): {', '.join(sorted(unknown))}")
        if "samples" not in data:
            raise MonteCarloError("monte_carlo needs samples (how many)")
        return cls(**data)


def derived_seed(*keys: int) -> int:
    """An ngspice seed (1 .. MAX_SEED) hashed from integer keys (a base seed, a sample, a
    column, ...): unrelated for nearby keys, the same in every process."""
    state = np.random.SeedSequence([int(k) for k in keys]).generate_state(1, dtype=np.uint32)
    return int(state[0] % MAX_SEED) + 1


def switch_lines(seed: int, *, mismatch: bool = True, process: bool = False, note: str = "") -> str:
    """SPICE lines that make a model deck draw its devices with ngspice seed ``seed`` (to go
    after the model deck, see :func:`with_sample`)."""
    return (
        f"* Monte Carlo: {note or f'seed {seed}'}\n"
        f".param mc_mm_switch={int(mismatch)} mc_pr_switch={int(process)}\n"
        f".option seed={int(seed)}\n"
    )


def with_sample(deck: str, lines: str) -> str:
    """``deck`` with ``lines`` inserted after the netlist (before any ``.control`` block and
    the final ``.end``): after the model deck's own ``mc_*_switch=0``, which they override."""
    text = deck.rstrip().splitlines()
    cut = len(text)
    for index, line in enumerate(text):
        word = line.strip().lower()
        if word.startswith(".control") or word == ".end":
            cut = index
            break
    return "\n".join(text[:cut] + lines.rstrip().splitlines() + text[cut:]) + "\n"
