* cell_load_tb: the capacitance a gain cell adds to its column line, input off and input on.
*
* Why: in an array the column is the converter's integration node (about 2 pF) and moves by up
* to ~0.45 V during the MAC. Every cell on it loads it: the enables' drains (input off), and
* with the input on also the read pair's internal nodes and the enables' channels, which
* follow the column through the conducting enable. On a 64-row column that is a few percent
* of the converter's capacitance: charge that moves the column less than the converter alone
* would, and that the converter's conversion ramp must also remove. multiplier_pulse_tb holds
* the column with an ideal source and cannot see it.
*
* What a conducting cell takes from the column when the column moves is not all kept: when
* its input turns off, part of it (the enables' channel charge) goes back. So the conducting
* load is measured the way a MAC meets it: the column steps by dv just before the input turns
* off, and the charge the cell kept is read after the column is back at mid-rail.
*
* Phases: write the cells at V_init (bit line held, word line at 3.3 V until t_write, falling
* over 1 ns; bit line parked at mid-rail from t_write + 3 ns, as in multiplier_pulse_tb).
* Cell a: input off; its column steps by +dv at t_step (for the idle load) and back at t_back.
* Cells p, m, r: input on from t_on to t_off (50 ps edges); their columns step by +dv, -dv and
* not at all (the reference) over t_edge ending t_lead before t_off, and back to mid-rail at
* t_back, after the input is off.
.param vdd_level=1.8 vmid_level=0.9 vwwl_level=3.3 t_write=10n t_on=15n t_off=23n edge=50p
.param dv=0.2 t_edge=100p t_lead=200p t_back=24n
.param t_step={t_off - t_lead - t_edge}
vdd vdd 0 {vdd_level}
vinit init 0 0.9
vphase phase 0 pwl(0 0 {t_write + 2n} 0 {t_write + 3n} 1)
bwbl wbl 0 v = v(init) * (1 - v(phase)) + {vmid_level} * v(phase)
vwwl wwl 0 pwl(0 0 1n 0 1.5n {vwwl_level} {t_write} {vwwl_level} {t_write + 1n} 0)
vina ina 0 0
einba inba vdd ina 0 -1
vinon inon 0 pwl(0 0 {t_on} 0 {t_on + edge} {vdd_level} {t_off} {vdd_level} {t_off + edge} 0)
einbon inbon vdd inon 0 -1
xa wbl wwl ina inba outa vdd 0 gaincell_multiplier
xp wbl wwl inon inbon outp vdd 0 gaincell_multiplier
xm wbl wwl inon inbon outm vdd 0 gaincell_multiplier
xr wbl wwl inon inbon outr vdd 0 gaincell_multiplier
vcola outa 0 pwl(0 {vmid_level} {t_step} {vmid_level} {t_step + t_edge} {vmid_level + dv} {t_back} {vmid_level + dv} {t_back + t_edge} {vmid_level})
vcolp outp 0 pwl(0 {vmid_level} {t_step} {vmid_level} {t_step + t_edge} {vmid_level + dv} {t_back} {vmid_level + dv} {t_back + t_edge} {vmid_level})
vcolm outm 0 pwl(0 {vmid_level} {t_step} {vmid_level} {t_step + t_edge} {vmid_level - dv} {t_back} {vmid_level - dv} {t_back + t_edge} {vmid_level})
vcolr outr 0 {vmid_level}
.ic v(xa.store)={vmid_level} v(xp.store)={vmid_level} v(xm.store)={vmid_level} v(xr.store)={vmid_level}
