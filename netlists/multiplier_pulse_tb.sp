* multiplier_pulse_tb: the charge one gain cell delivers for one PWM input pulse, with its
* storage node floating as in the array (the DC characterization holds it through the write
* transistor instead).
*
* Why: the read transistors' gates (pfet 1 x 4 um, nfet 0.42 x 4 um, ~50 fF) dwarf the 2 x 2 um
* MIM storage capacitor (~8 fF). When the enables switch, the read pair's channel charge
* couples into the floating storage node and shifts V_store for as long as the pulse lasts:
* measured on tt/27 C a 15 ns pulse delivers ~20 % more charge than I_DC(V_store) x 15 ns.
* Array simulations must use this transfer, charge(V_store, width), not the DC current.
*
* Phases (16 cells share the written value, each gets its own pulse width w0..w15):
*   write  1 .. t_write  word line at 3.3 V, bit line at V_init (vinit); the word line falls
*                        over t_write .. t_write + 1 ns; the bit line rests at 0.9 V from
*                        t_write + 3 ns (as in leakage_tb).
*   pulse  from t_pulse  cell k's enable `ink` rises to 1.8 V (50 ps edges, width wk at the
*                        50 % points; wk < 1 ps: no pulse); inbk = 1.8 V - ink (ideal driver).
*   settle until t_pulse + 18 ns.
* Column: each cell's out pin is held at vcol_level by vout_k (mid-rail 0.9 V: an ideal virtual
* ground; other levels: the column voltage the cell sees in an array, where the column is the
* converter's integration node and moves by up to ~0.45 V during the MAC);
* the charge it draws is integrated in the transient by a 1 pF meter (v(qk) [V] = charge [pC],
* positive = the cell sank current from the column, the gain-cell sign convention).
* Energy: each cell has its own supply vddc_k (the global vdd only references the ideal
* inverting drivers einb_k), metered like the column: v(supk) [V] = charge drawn from the
* cell's supply [pC], v(dink) / v(dinbk) = charge the enable drivers vin_k / einb_k (through
* vib_k) delivered into their nodes [pC] (the simulator's own integration: the edge spikes are
* too short to integrate the currents afterwards on the time steps).
.param vdd_level=1.8 vmid_level=0.9 vcol_level=0.9 vwwl_level=3.3 t_write=10n t_pulse=15n edge=50p
.param w0=1n w1=1n w2=1n w3=1n w4=1n w5=1n w6=1n w7=1n w8=1n w9=1n w10=1n w11=1n w12=1n w13=1n w14=1n w15=1n
vdd vdd 0 {vdd_level}
vinit init 0 0.45
vphase phase 0 pwl(0 0 {t_write + 2n} 0 {t_write + 3n} 1)
bwbl wbl 0 v = v(init) * (1 - v(phase)) + {vmid_level} * v(phase)
vwwl wwl 0 pwl(0 0 1n 0 1.5n {vwwl_level} {t_write} {vwwl_level} {t_write + 1n} 0)
vin0 in0 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w0 / 2), 0.5p)} {(w0 > 1p ? vdd_level : 0)} {t_pulse + max(w0, 2 * max(min(edge, w0 / 2), 0.5p))} {(w0 > 1p ? vdd_level : 0)} {t_pulse + max(w0, 2 * max(min(edge, w0 / 2), 0.5p)) + max(min(edge, w0 / 2), 0.5p)} 0)
einb0 inb0d vdd in0 0 -1
vib0 inb0 inb0d 0
vddc0 vddc0 0 {vdd_level}
Xc0 wbl wwl in0 inb0 out0 vddc0 0 gaincell_multiplier
fsup0 0 sup0 vddc0 -1
csup0 sup0 0 1p
rsup0 sup0 0 1e15
fdin0 0 din0 vin0 -1
cdin0 din0 0 1p
rdin0 din0 0 1e15
fdinb0 0 dinb0 vib0 -1
cdinb0 dinb0 0 1p
rdinb0 dinb0 0 1e15
vout0 out0 0 {vcol_level}
fq0 0 q0 vout0 -1
cq0 q0 0 1p
rq0 q0 0 1e15
vin1 in1 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w1 / 2), 0.5p)} {(w1 > 1p ? vdd_level : 0)} {t_pulse + max(w1, 2 * max(min(edge, w1 / 2), 0.5p))} {(w1 > 1p ? vdd_level : 0)} {t_pulse + max(w1, 2 * max(min(edge, w1 / 2), 0.5p)) + max(min(edge, w1 / 2), 0.5p)} 0)
einb1 inb1d vdd in1 0 -1
vib1 inb1 inb1d 0
vddc1 vddc1 0 {vdd_level}
Xc1 wbl wwl in1 inb1 out1 vddc1 0 gaincell_multiplier
fsup1 0 sup1 vddc1 -1
csup1 sup1 0 1p
rsup1 sup1 0 1e15
fdin1 0 din1 vin1 -1
cdin1 din1 0 1p
rdin1 din1 0 1e15
fdinb1 0 dinb1 vib1 -1
cdinb1 dinb1 0 1p
rdinb1 dinb1 0 1e15
vout1 out1 0 {vcol_level}
fq1 0 q1 vout1 -1
cq1 q1 0 1p
rq1 q1 0 1e15
vin2 in2 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w2 / 2), 0.5p)} {(w2 > 1p ? vdd_level : 0)} {t_pulse + max(w2, 2 * max(min(edge, w2 / 2), 0.5p))} {(w2 > 1p ? vdd_level : 0)} {t_pulse + max(w2, 2 * max(min(edge, w2 / 2), 0.5p)) + max(min(edge, w2 / 2), 0.5p)} 0)
einb2 inb2d vdd in2 0 -1
vib2 inb2 inb2d 0
vddc2 vddc2 0 {vdd_level}
Xc2 wbl wwl in2 inb2 out2 vddc2 0 gaincell_multiplier
fsup2 0 sup2 vddc2 -1
csup2 sup2 0 1p
rsup2 sup2 0 1e15
fdin2 0 din2 vin2 -1
cdin2 din2 0 1p
rdin2 din2 0 1e15
fdinb2 0 dinb2 vib2 -1
cdinb2 dinb2 0 1p
rdinb2 dinb2 0 1e15
vout2 out2 0 {vcol_level}
fq2 0 q2 vout2 -1
cq2 q2 0 1p
rq2 q2 0 1e15
vin3 in3 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w3 / 2), 0.5p)} {(w3 > 1p ? vdd_level : 0)} {t_pulse + max(w3, 2 * max(min(edge, w3 / 2), 0.5p))} {(w3 > 1p ? vdd_level : 0)} {t_pulse + max(w3, 2 * max(min(edge, w3 / 2), 0.5p)) + max(min(edge, w3 / 2), 0.5p)} 0)
einb3 inb3d vdd in3 0 -1
vib3 inb3 inb3d 0
vddc3 vddc3 0 {vdd_level}
Xc3 wbl wwl in3 inb3 out3 vddc3 0 gaincell_multiplier
fsup3 0 sup3 vddc3 -1
csup3 sup3 0 1p
rsup3 sup3 0 1e15
fdin3 0 din3 vin3 -1
cdin3 din3 0 1p
rdin3 din3 0 1e15
fdinb3 0 dinb3 vib3 -1
cdinb3 dinb3 0 1p
rdinb3 dinb3 0 1e15
vout3 out3 0 {vcol_level}
fq3 0 q3 vout3 -1
cq3 q3 0 1p
rq3 q3 0 1e15
vin4 in4 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w4 / 2), 0.5p)} {(w4 > 1p ? vdd_level : 0)} {t_pulse + max(w4, 2 * max(min(edge, w4 / 2), 0.5p))} {(w4 > 1p ? vdd_level : 0)} {t_pulse + max(w4, 2 * max(min(edge, w4 / 2), 0.5p)) + max(min(edge, w4 / 2), 0.5p)} 0)
einb4 inb4d vdd in4 0 -1
vib4 inb4 inb4d 0
vddc4 vddc4 0 {vdd_level}
Xc4 wbl wwl in4 inb4 out4 vddc4 0 gaincell_multiplier
fsup4 0 sup4 vddc4 -1
csup4 sup4 0 1p
rsup4 sup4 0 1e15
fdin4 0 din4 vin4 -1
cdin4 din4 0 1p
rdin4 din4 0 1e15
fdinb4 0 dinb4 vib4 -1
cdinb4 dinb4 0 1p
rdinb4 dinb4 0 1e15
vout4 out4 0 {vcol_level}
fq4 0 q4 vout4 -1
cq4 q4 0 1p
rq4 q4 0 1e15
vin5 in5 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w5 / 2), 0.5p)} {(w5 > 1p ? vdd_level : 0)} {t_pulse + max(w5, 2 * max(min(edge, w5 / 2), 0.5p))} {(w5 > 1p ? vdd_level : 0)} {t_pulse + max(w5, 2 * max(min(edge, w5 / 2), 0.5p)) + max(min(edge, w5 / 2), 0.5p)} 0)
einb5 inb5d vdd in5 0 -1
vib5 inb5 inb5d 0
vddc5 vddc5 0 {vdd_level}
Xc5 wbl wwl in5 inb5 out5 vddc5 0 gaincell_multiplier
fsup5 0 sup5 vddc5 -1
csup5 sup5 0 1p
rsup5 sup5 0 1e15
fdin5 0 din5 vin5 -1
cdin5 din5 0 1p
rdin5 din5 0 1e15
fdinb5 0 dinb5 vib5 -1
cdinb5 dinb5 0 1p
rdinb5 dinb5 0 1e15
vout5 out5 0 {vcol_level}
fq5 0 q5 vout5 -1
cq5 q5 0 1p
rq5 q5 0 1e15
vin6 in6 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w6 / 2), 0.5p)} {(w6 > 1p ? vdd_level : 0)} {t_pulse + max(w6, 2 * max(min(edge, w6 / 2), 0.5p))} {(w6 > 1p ? vdd_level : 0)} {t_pulse + max(w6, 2 * max(min(edge, w6 / 2), 0.5p)) + max(min(edge, w6 / 2), 0.5p)} 0)
einb6 inb6d vdd in6 0 -1
vib6 inb6 inb6d 0
vddc6 vddc6 0 {vdd_level}
Xc6 wbl wwl in6 inb6 out6 vddc6 0 gaincell_multiplier
fsup6 0 sup6 vddc6 -1
csup6 sup6 0 1p
rsup6 sup6 0 1e15
fdin6 0 din6 vin6 -1
cdin6 din6 0 1p
rdin6 din6 0 1e15
fdinb6 0 dinb6 vib6 -1
cdinb6 dinb6 0 1p
rdinb6 dinb6 0 1e15
vout6 out6 0 {vcol_level}
fq6 0 q6 vout6 -1
cq6 q6 0 1p
rq6 q6 0 1e15
vin7 in7 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w7 / 2), 0.5p)} {(w7 > 1p ? vdd_level : 0)} {t_pulse + max(w7, 2 * max(min(edge, w7 / 2), 0.5p))} {(w7 > 1p ? vdd_level : 0)} {t_pulse + max(w7, 2 * max(min(edge, w7 / 2), 0.5p)) + max(min(edge, w7 / 2), 0.5p)} 0)
einb7 inb7d vdd in7 0 -1
vib7 inb7 inb7d 0
vddc7 vddc7 0 {vdd_level}
Xc7 wbl wwl in7 inb7 out7 vddc7 0 gaincell_multiplier
fsup7 0 sup7 vddc7 -1
csup7 sup7 0 1p
rsup7 sup7 0 1e15
fdin7 0 din7 vin7 -1
cdin7 din7 0 1p
rdin7 din7 0 1e15
fdinb7 0 dinb7 vib7 -1
cdinb7 dinb7 0 1p
rdinb7 dinb7 0 1e15
vout7 out7 0 {vcol_level}
fq7 0 q7 vout7 -1
cq7 q7 0 1p
rq7 q7 0 1e15
vin8 in8 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w8 / 2), 0.5p)} {(w8 > 1p ? vdd_level : 0)} {t_pulse + max(w8, 2 * max(min(edge, w8 / 2), 0.5p))} {(w8 > 1p ? vdd_level : 0)} {t_pulse + max(w8, 2 * max(min(edge, w8 / 2), 0.5p)) + max(min(edge, w8 / 2), 0.5p)} 0)
einb8 inb8d vdd in8 0 -1
vib8 inb8 inb8d 0
vddc8 vddc8 0 {vdd_level}
Xc8 wbl wwl in8 inb8 out8 vddc8 0 gaincell_multiplier
fsup8 0 sup8 vddc8 -1
csup8 sup8 0 1p
rsup8 sup8 0 1e15
fdin8 0 din8 vin8 -1
cdin8 din8 0 1p
rdin8 din8 0 1e15
fdinb8 0 dinb8 vib8 -1
cdinb8 dinb8 0 1p
rdinb8 dinb8 0 1e15
vout8 out8 0 {vcol_level}
fq8 0 q8 vout8 -1
cq8 q8 0 1p
rq8 q8 0 1e15
vin9 in9 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w9 / 2), 0.5p)} {(w9 > 1p ? vdd_level : 0)} {t_pulse + max(w9, 2 * max(min(edge, w9 / 2), 0.5p))} {(w9 > 1p ? vdd_level : 0)} {t_pulse + max(w9, 2 * max(min(edge, w9 / 2), 0.5p)) + max(min(edge, w9 / 2), 0.5p)} 0)
einb9 inb9d vdd in9 0 -1
vib9 inb9 inb9d 0
vddc9 vddc9 0 {vdd_level}
Xc9 wbl wwl in9 inb9 out9 vddc9 0 gaincell_multiplier
fsup9 0 sup9 vddc9 -1
csup9 sup9 0 1p
rsup9 sup9 0 1e15
fdin9 0 din9 vin9 -1
cdin9 din9 0 1p
rdin9 din9 0 1e15
fdinb9 0 dinb9 vib9 -1
cdinb9 dinb9 0 1p
rdinb9 dinb9 0 1e15
vout9 out9 0 {vcol_level}
fq9 0 q9 vout9 -1
cq9 q9 0 1p
rq9 q9 0 1e15
vin10 in10 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w10 / 2), 0.5p)} {(w10 > 1p ? vdd_level : 0)} {t_pulse + max(w10, 2 * max(min(edge, w10 / 2), 0.5p))} {(w10 > 1p ? vdd_level : 0)} {t_pulse + max(w10, 2 * max(min(edge, w10 / 2), 0.5p)) + max(min(edge, w10 / 2), 0.5p)} 0)
einb10 inb10d vdd in10 0 -1
vib10 inb10 inb10d 0
vddc10 vddc10 0 {vdd_level}
Xc10 wbl wwl in10 inb10 out10 vddc10 0 gaincell_multiplier
fsup10 0 sup10 vddc10 -1
csup10 sup10 0 1p
rsup10 sup10 0 1e15
fdin10 0 din10 vin10 -1
cdin10 din10 0 1p
rdin10 din10 0 1e15
fdinb10 0 dinb10 vib10 -1
cdinb10 dinb10 0 1p
rdinb10 dinb10 0 1e15
vout10 out10 0 {vcol_level}
fq10 0 q10 vout10 -1
cq10 q10 0 1p
rq10 q10 0 1e15
vin11 in11 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w11 / 2), 0.5p)} {(w11 > 1p ? vdd_level : 0)} {t_pulse + max(w11, 2 * max(min(edge, w11 / 2), 0.5p))} {(w11 > 1p ? vdd_level : 0)} {t_pulse + max(w11, 2 * max(min(edge, w11 / 2), 0.5p)) + max(min(edge, w11 / 2), 0.5p)} 0)
einb11 inb11d vdd in11 0 -1
vib11 inb11 inb11d 0
vddc11 vddc11 0 {vdd_level}
Xc11 wbl wwl in11 inb11 out11 vddc11 0 gaincell_multiplier
fsup11 0 sup11 vddc11 -1
csup11 sup11 0 1p
rsup11 sup11 0 1e15
fdin11 0 din11 vin11 -1
cdin11 din11 0 1p
rdin11 din11 0 1e15
fdinb11 0 dinb11 vib11 -1
cdinb11 dinb11 0 1p
rdinb11 dinb11 0 1e15
vout11 out11 0 {vcol_level}
fq11 0 q11 vout11 -1
cq11 q11 0 1p
rq11 q11 0 1e15
vin12 in12 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w12 / 2), 0.5p)} {(w12 > 1p ? vdd_level : 0)} {t_pulse + max(w12, 2 * max(min(edge, w12 / 2), 0.5p))} {(w12 > 1p ? vdd_level : 0)} {t_pulse + max(w12, 2 * max(min(edge, w12 / 2), 0.5p)) + max(min(edge, w12 / 2), 0.5p)} 0)
einb12 inb12d vdd in12 0 -1
vib12 inb12 inb12d 0
vddc12 vddc12 0 {vdd_level}
Xc12 wbl wwl in12 inb12 out12 vddc12 0 gaincell_multiplier
fsup12 0 sup12 vddc12 -1
csup12 sup12 0 1p
rsup12 sup12 0 1e15
fdin12 0 din12 vin12 -1
cdin12 din12 0 1p
rdin12 din12 0 1e15
fdinb12 0 dinb12 vib12 -1
cdinb12 dinb12 0 1p
rdinb12 dinb12 0 1e15
vout12 out12 0 {vcol_level}
fq12 0 q12 vout12 -1
cq12 q12 0 1p
rq12 q12 0 1e15
vin13 in13 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w13 / 2), 0.5p)} {(w13 > 1p ? vdd_level : 0)} {t_pulse + max(w13, 2 * max(min(edge, w13 / 2), 0.5p))} {(w13 > 1p ? vdd_level : 0)} {t_pulse + max(w13, 2 * max(min(edge, w13 / 2), 0.5p)) + max(min(edge, w13 / 2), 0.5p)} 0)
einb13 inb13d vdd in13 0 -1
vib13 inb13 inb13d 0
vddc13 vddc13 0 {vdd_level}
Xc13 wbl wwl in13 inb13 out13 vddc13 0 gaincell_multiplier
fsup13 0 sup13 vddc13 -1
csup13 sup13 0 1p
rsup13 sup13 0 1e15
fdin13 0 din13 vin13 -1
cdin13 din13 0 1p
rdin13 din13 0 1e15
fdinb13 0 dinb13 vib13 -1
cdinb13 dinb13 0 1p
rdinb13 dinb13 0 1e15
vout13 out13 0 {vcol_level}
fq13 0 q13 vout13 -1
cq13 q13 0 1p
rq13 q13 0 1e15
vin14 in14 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w14 / 2), 0.5p)} {(w14 > 1p ? vdd_level : 0)} {t_pulse + max(w14, 2 * max(min(edge, w14 / 2), 0.5p))} {(w14 > 1p ? vdd_level : 0)} {t_pulse + max(w14, 2 * max(min(edge, w14 / 2), 0.5p)) + max(min(edge, w14 / 2), 0.5p)} 0)
einb14 inb14d vdd in14 0 -1
vib14 inb14 inb14d 0
vddc14 vddc14 0 {vdd_level}
Xc14 wbl wwl in14 inb14 out14 vddc14 0 gaincell_multiplier
fsup14 0 sup14 vddc14 -1
csup14 sup14 0 1p
rsup14 sup14 0 1e15
fdin14 0 din14 vin14 -1
cdin14 din14 0 1p
rdin14 din14 0 1e15
fdinb14 0 dinb14 vib14 -1
cdinb14 dinb14 0 1p
rdinb14 dinb14 0 1e15
vout14 out14 0 {vcol_level}
fq14 0 q14 vout14 -1
cq14 q14 0 1p
rq14 q14 0 1e15
vin15 in15 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w15 / 2), 0.5p)} {(w15 > 1p ? vdd_level : 0)} {t_pulse + max(w15, 2 * max(min(edge, w15 / 2), 0.5p))} {(w15 > 1p ? vdd_level : 0)} {t_pulse + max(w15, 2 * max(min(edge, w15 / 2), 0.5p)) + max(min(edge, w15 / 2), 0.5p)} 0)
einb15 inb15d vdd in15 0 -1
vib15 inb15 inb15d 0
vddc15 vddc15 0 {vdd_level}
Xc15 wbl wwl in15 inb15 out15 vddc15 0 gaincell_multiplier
fsup15 0 sup15 vddc15 -1
csup15 sup15 0 1p
rsup15 sup15 0 1e15
fdin15 0 din15 vin15 -1
cdin15 din15 0 1p
rdin15 din15 0 1e15
fdinb15 0 dinb15 vib15 -1
cdinb15 dinb15 0 1p
rdinb15 dinb15 0 1e15
vout15 out15 0 {vcol_level}
fq15 0 q15 vout15 -1
cq15 q15 0 1p
rq15 q15 0 1e15
.ic v(xc0.store)={vmid_level} v(xc1.store)={vmid_level} v(xc2.store)={vmid_level} v(xc3.store)={vmid_level} v(xc4.store)={vmid_level} v(xc5.store)={vmid_level} v(xc6.store)={vmid_level} v(xc7.store)={vmid_level} v(xc8.store)={vmid_level} v(xc9.store)={vmid_level} v(xc10.store)={vmid_level} v(xc11.store)={vmid_level} v(xc12.store)={vmid_level} v(xc13.store)={vmid_level} v(xc14.store)={vmid_level} v(xc15.store)={vmid_level} v(q0)=0 v(q1)=0 v(q2)=0 v(q3)=0 v(q4)=0 v(q5)=0 v(q6)=0 v(q7)=0 v(q8)=0 v(q9)=0 v(q10)=0 v(q11)=0 v(q12)=0 v(q13)=0 v(q14)=0 v(q15)=0
.ic v(sup0)=0 v(din0)=0 v(dinb0)=0 v(sup1)=0 v(din1)=0 v(dinb1)=0 v(sup2)=0 v(din2)=0 v(dinb2)=0 v(sup3)=0 v(din3)=0 v(dinb3)=0 v(sup4)=0 v(din4)=0 v(dinb4)=0 v(sup5)=0 v(din5)=0 v(dinb5)=0 v(sup6)=0 v(din6)=0 v(dinb6)=0 v(sup7)=0 v(din7)=0 v(dinb7)=0 v(sup8)=0 v(din8)=0 v(dinb8)=0 v(sup9)=0 v(din9)=0 v(dinb9)=0 v(sup10)=0 v(din10)=0 v(dinb10)=0 v(sup11)=0 v(din11)=0 v(dinb11)=0 v(sup12)=0 v(din12)=0 v(dinb12)=0 v(sup13)=0 v(din13)=0 v(dinb13)=0 v(sup14)=0 v(din14)=0 v(dinb14)=0 v(sup15)=0 v(din15)=0 v(dinb15)=0
