* gaincell_multiplier: signed gain-cell multiplier on sky130 (1.8 V core, 3.3 V write word line)
*
* Topology
*   Write path : XW, thick-oxide nfet_g5v0d10v5 (W 0.42 / L 0.5), drain on the write bit line wbl,
*                gate on the write word line wwl, source on the storage node `store`.
*   Storage    : XC, MIM capacitor cap_mim_m3_1 (2 x 2 um, ~9.5 fF), in parallel with the gate
*                capacitance of the two read transistors (~45 fF); together they hold V_store.
*   Read pair  : push-pull between vdd and vss, both gates on `store`:
*                  vdd - XRP (pfet_01v8_lvt, W 1 / L 4) - XEP (pfet_01v8 W 1 / L 0.35, gate inb) - out
*                  out - XEN (nfet_01v8 W 1 / L 0.35, gate in) - XRN (nfet_01v8, W 0.42 / L 4)  - vss
*                XEN/XEP are the read-enable switches driven by the time-encoded (PWM) input:
*                in = V_in (0 = inactive, 1.8 V = full input), inb = vdd - V_in.
*   Output     : the column line `out` is held at mid-rail V_mid = 0.9 V by the column
*                integrator (a voltage source in the testbenches).
*
* Signs and ranges
*   Signed weight y = V_store - V_mid, stored within +-0.45 V (V_store 0.45 .. 1.35 V), the
*   same +-0.45 V as the paper's cell. I_out is the current flowing from the column line INTO
*   the cell's `out` terminal: positive when V_store > V_mid (the nfet side wins and sinks
*   current), negative below (the pfet side sources current into the line), zero when the
*   input is inactive (both enables off). I_out * t_pulse is the signed product charge.
*
* Why this sizing
*   - Long read channels (L = 4 um) keep full scale at a few uA (about +-6 uA at the ends of
*     the range, tt, 27 C), so a 64-row column integrates a manageable charge in 15 ns, and
*     long channels make the characteristic less sensitive to short-channel effects.
*   - The pull-up uses pfet_01v8_lvt with W = 1 um against an nfet of W = 0.42 um: sky130's
*     standard pfet has |Vth| near 1 V at L = 4 um, too close to V_mid to source current at
*     mid-rail. The lvt pfet and the 2.4x width ratio balance the pair so the current crosses
*     zero near V_mid (about 0.89 V at tt, 27 C) and the characteristic is close to symmetric.
*   - Enables are 1 um wide, so they drop little voltage and the current is set by the read
*     pair, not by the switches. Their length is 0.35 um, not the minimum 0.15 um: at 85 C in
*     the fs corner, minimum-length enables leak 29 nA with the input off (0.4 % of full
*     scale per cell, 64x that on a column); at 0.35 um the worst case over all corners and
*     -40..85 C is 0.01 nA, for a 1 % lower on-current.
*   - The write transistor is a thick-oxide 5 V device driven to 3.3 V: an nfet_01v8 with a
*     1.8 V word line could not pass V_store up to 1.35 V (body-effect threshold), and the
*     thick oxide and longer channel cut subthreshold leakage from the storage node.
*
* Pins: wbl wwl in inb out vdd vss
.subckt gaincell_multiplier wbl wwl in inb out vdd vss
XW  store wwl wbl vss sky130_fd_pr__nfet_g5v0d10v5 w=0.42 l=0.5
XC  store vss sky130_fd_pr__cap_mim_m3_1 w=2 l=2
XRP pu store vdd vdd sky130_fd_pr__pfet_01v8_lvt w=1 l=4
XEP out inb pu vdd sky130_fd_pr__pfet_01v8 w=1 l=0.35
XEN out in pd vss sky130_fd_pr__nfet_01v8 w=1 l=0.35
XRN pd store vss vss sky130_fd_pr__nfet_01v8 w=0.42 l=4
.ends gaincell_multiplier
