"""Data shipped with gaincell: characterizations, surrogates, SPICE tiles, reference data."""
