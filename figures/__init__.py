"""Figures regenerated from stored HDF5 data alone (no ngspice needed)."""
