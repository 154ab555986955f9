"""Attention on gain-cell analog in-memory-computing hardware.

- :mod:`gaincell.attention.behavioural`: the paper's behavioural model (cubic cell current, ReLU
  charge-to-pulse activation, leakage decay, sliding window, per-tile quantized outputs).
- :mod:`gaincell.attention.head`: :class:`GainCellHead`, the same head simulated token by token from
  the characterized circuits' surrogates (or from ideal circuits, where it equals the
  behavioural model).
- whole 64x64 tiles in ngspice, the ground truth, are :mod:`gaincell.characterize.tile`.
"""

from gaincell.attention.behavioural import (
    PAPER_COEFFICIENTS,
    AttentionTrace,
    behavioural_attention,
    cubic_current,
    quantize,
)
from gaincell.attention.head import GainCellHead, HeadCircuits, HeadConfig, StepResult, tile_model

__all__ = [
    "PAPER_COEFFICIENTS",
    "AttentionTrace",
    "GainCellHead",
    "HeadCircuits",
    "HeadConfig",
    "StepResult",
    "behavioural_attention",
    "cubic_current",
    "quantize",
    "tile_model",
]
