"""Circuit design constants every layer shares (one home: netlists state the same values).

The sky130 gain cell runs from a 1.8 V supply with its column line at mid-rail; a model value
``k`` in [0, 0.9] (the paper's range) is stored as ``V_store = k + STORE_OFFSET``, so the
signed weight is ``V_store - V_MID`` within +-0.45 V.
"""

from __future__ import annotations

V_DD = 1.8
"""Core supply, full input level and input pulse amplitude [V]."""
V_MID = 0.9
"""Mid-rail: the column line's voltage, the converters' reset level, and the stored voltage of
a zero weight [V]."""
STORE_OFFSET = 0.45
"""Model value -> stored voltage: ``V_store = value + STORE_OFFSET`` [V]; also the largest
signed weight and the paper's own mid-rail."""
STORE_RANGE = (V_MID - STORE_OFFSET, V_MID + STORE_OFFSET)
"""Stored voltages the arrays use [V] (model values 0 .. 0.9)."""
Q_RANGE = (0.0, 1.0)
"""Model range of a query: input pulse width / T_MAX."""
KV_RANGE = (0.0, 2 * STORE_OFFSET)
"""Model range of keys and values (stored voltage - STORE_OFFSET) [V]."""
V_WRITE = 3.3
"""Write word line level [V] (thick-oxide write transistor)."""
T_MAX = 15e-9
"""Longest input pulse and length of a converter's conversion window [s]."""
LOGIC_THRESHOLD_V = V_DD / 2
"""Where a digital output counts as high [V]."""
GEAR = "option method=gear"
"""Gear integration for every transient: the default trapezoidal rule rings in the currents
of ideal sources driving capacitive nodes (+-80 uA from step to step in the MAC chain), which
the energy integrals would count as energy drawn."""
