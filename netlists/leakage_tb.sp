* leakage_tb: write a value into one gaincell_multiplier, then hold it and watch V_store leak
*
* Phases
*   before: the cell holds mid-rail 0.9 V (.ic), the previous content.
*   write (1 ns .. t_write): write word line wwl at 3.3 V, write bit line wbl at V_init, so the
*     storage node charges to V_init through the thick-oxide write transistor.
*   hold: wwl falls to 0 V over t_write .. t_write + 1 ns; from t_write + 2 ns on, wbl rests at
*     mid-rail 0.9 V (idle bit lines sit at mid-rail; moving it only once the word line is off
*     keeps the written value). Read enables off (in = 0 V, inb = 1.8 V), column at 0.9 V.
* Leakage paths included by the sky130 BSIM4 models: subthreshold current of the write
* transistor (toward wbl, i.e. toward mid-rail), its gate-induced drain leakage and junction
* current from the storage node to the substrate (toward 0 V), the MIM capacitor (ideal
* dielectric). The read pair's drains do not touch the storage node. Measured on tt/27 C the
* substrate paths dominate: every stored value drifts toward ~0.1 V, not toward mid-rail, so
* negative weights first grow in magnitude: a behaviour the paper's y*exp(-t/tau) model lacks.
* Gate tunnelling is not in the sky130 models (igcmod = igbmod = 0), so the read-transistor gates contribute capacitance only.
*
* Swept: vinit (dc = V_init, the value written). The write bit line is
*   wbl = vinit during the write, 0.9 V in hold (a B source mixing the two by the phase signal).
* Energy of one write: what the bit-line driver (through the sense source vwbls) and the word
* line driver vwwl deliver in 0 .. t_write + 3 ns: integral of v(wbl)*(-i(vwbls)) + v(wwl)*(-i(vwwl)).
* The hold starts at t_write + 3 ns (hold time 0).
.param vdd_level=1.8 vmid_level=0.9 vwwl_level=3.3 t_write=10n
Xcell wbl wwl in inb out vdd 0 gaincell_multiplier
vdd vdd 0 {vdd_level}
vinit init 0 0.45
vphase phase 0 pwl(0 0 {t_write + 2n} 0 {t_write + 3n} 1)
bwbl wbld 0 v = v(init) * (1 - v(phase)) + {vmid_level} * v(phase)
vwbls wbl wbld 0
vwwl wwl 0 pwl(0 0 1n 0 1.5n {vwwl_level} {t_write} {vwwl_level} {t_write + 1n} 0)
.ic v(xcell.store)={vmid_level}
vin in 0 0
vinb inb 0 {vdd_level}
vout out 0 {vmid_level}
