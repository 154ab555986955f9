"""SPICE subcircuits and testbenches shipped with gaincell (package data: ``*.sp``)."""
