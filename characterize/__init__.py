"""Characterization: sweep a circuit in ngspice into an HDF5 file that records how it was made.

    from gaincell.characterize import SweepSpec, Axis, run_sweep, read_characterization
    spec = SweepSpec("multiplier", axes={"v_in": Axis(0, 1.8, 10)}, corners=("tt", "ss"))
    run_sweep(spec, "build/multiplier.h5", jobs=2)
    data = read_characterization("build/multiplier.h5")

One class per circuit (:class:`Characterization`, registered in :mod:`.registry`) knows its
netlists, axes, settings, measurements and what a surrogate of it models; :mod:`.tile` runs
whole SPICE tiles of the attention array. See ``characterize/README.md``.
"""

from gaincell.characterize.axes import Axis, AxisSpec, SettingSpec, SpecError
from gaincell.characterize.base import Characterization, Quantity, Task
from gaincell.characterize.registry import available, get_characterization
from gaincell.characterize.spec import SweepSpec
from gaincell.characterize.store import CharacterizationData, read_characterization
from gaincell.characterize.sweep import SweepReport, run_sweep

__all__ = [
    "Axis",
    "AxisSpec",
    "Characterization",
    "CharacterizationData",
    "Quantity",
    "SettingSpec",
    "SpecError",
    "SweepReport",
    "SweepSpec",
    "Task",
    "available",
    "get_characterization",
    "read_characterization",
    "run_sweep",
]
