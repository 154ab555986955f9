"""The foundation of gaincell: circuit design constants, sky130 model decks, netlist loading,
the ngspice runner, and the file helpers every layer shares (HDF5, hashes, provenance)."""
