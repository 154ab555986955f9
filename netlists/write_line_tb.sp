* write_line_tb: the energy of writing one cell on loaded lines (the DAC's share of its write
* bit line and the cell's share of its write word line)
*
* A token's K (or V) column is written at once: its write word line wwl runs across the d
* cells of the column (one per row), each row's write bit line wbl runs along the row past
* the cells of every token slot of the tile. So one written cell charges
*   - its bit line: its own write transistor's drain plus 63 unselected cells
*     (word line at 0 V, holding mid-rail) and the line's wire, from the idle bit-line level
*     (mid-rail 0.9 V) to the written value and back: the DAC that drives it takes the charge
*     from the 1.8 V supply when the line rises;
*   - its share of the word line: the word line carries 64 written cells (this one and 63
*     others, whose bit lines an unmetered source holds at the same value:
*     their own bit-line charge is the DAC share counted for them) and its wire, swung
*     0 -> 3.3 V -> 0 by the word-line driver from the 3.3 V supply.
* The idle and row cells are 63 gaincell_multiplier instances each, written out (groups of 8 in
* `cells_x8`): ngspice ignores an m= multiplier on these subcircuit instances (measured: with
* m=63 the lines carried one cell's load). Only the written cell starts at mid-rail (.ic); the
* others start where the operating point leaves their floating storage nodes.
*
* Drivers are ideal sources, counted as CMOS drivers: energy = charge drawn from the supply
* x its voltage (1.8 V for the DAC, 3.3 V for the word line); the charge a falling line
* returns to ground costs nothing.
* Wire: each line's metal as a grounded capacitance (c_wire_bl, c_wire_wl [F], set by the
* characterization from its length and sky130 met2's capacitance per length).
*
* Phases: 0 .. 1 ns the bit line rests at mid-rail; 1 .. 1.5 ns it moves to V_init (vinit);
* 2 .. 2.5 ns the word line rises to 3.3 V; it falls at t_write .. t_write + 1 ns; the bit line
* returns to mid-rail at t_write + 2 .. t_write + 2.5 ns; the run ends at t_write + 4 ns.
.param vdd_level=1.8 vmid_level=0.9 vwwl_level=3.3 t_write=10n c_wire_bl=30f c_wire_wl=30f
vdd vdd 0 {vdd_level}
vinit init 0 0.45
vphase phase 0 pwl(0 0 1n 0 1.5n 1 {t_write + 2n} 1 {t_write + 2.5n} 0)
bdac wbld 0 v = {vmid_level} + (v(init) - {vmid_level}) * v(phase)
vdacs wbl wbld 0
brow wblr 0 v = v(wbl)
vwwl wwl 0 pwl(0 0 2n 0 2.5n {vwwl_level} {t_write} {vwwl_level} {t_write + 1n} 0)
cwbl wbl 0 {c_wire_bl}
cwwl wwl 0 {c_wire_wl}
.subckt cells_x8 wbl wwl in inb out vdd vss
X1 wbl wwl in inb out vdd vss gaincell_multiplier
X2 wbl wwl in inb out vdd vss gaincell_multiplier
X3 wbl wwl in inb out vdd vss gaincell_multiplier
X4 wbl wwl in inb out vdd vss gaincell_multiplier
X5 wbl wwl in inb out vdd vss gaincell_multiplier
X6 wbl wwl in inb out vdd vss gaincell_multiplier
X7 wbl wwl in inb out vdd vss gaincell_multiplier
X8 wbl wwl in inb out vdd vss gaincell_multiplier
.ends cells_x8
.subckt cells_x63 wbl wwl in inb out vdd vss
XA wbl wwl in inb out vdd vss cells_x8
XB wbl wwl in inb out vdd vss cells_x8
XC wbl wwl in inb out vdd vss cells_x8
XD wbl wwl in inb out vdd vss cells_x8
XE wbl wwl in inb out vdd vss cells_x8
XF wbl wwl in inb out vdd vss cells_x8
XG wbl wwl in inb out vdd vss cells_x8
X1 wbl wwl in inb out vdd vss gaincell_multiplier
X2 wbl wwl in inb out vdd vss gaincell_multiplier
X3 wbl wwl in inb out vdd vss gaincell_multiplier
X4 wbl wwl in inb out vdd vss gaincell_multiplier
X5 wbl wwl in inb out vdd vss gaincell_multiplier
X6 wbl wwl in inb out vdd vss gaincell_multiplier
X7 wbl wwl in inb out vdd vss gaincell_multiplier
.ends cells_x63
* the written cell, the 63 idle cells on its bit line, the 63 other written cells on its word line
Xcell wbl wwl in inb out vdd 0 gaincell_multiplier
Xidle wbl 0 in inb out vdd 0 cells_x63
Xrow wblr wwl in inb out vdd 0 cells_x63
.ic v(xcell.store)={vmid_level}
vin in 0 0
vinb inb 0 {vdd_level}
vout out 0 {vmid_level}
