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
.param vdd_level=1.8 vmid_level=0.9 vcol_level=0.9 vwwl_level=3.3 t_write=10n t_pulse=15n edge=50p
.param w0=1n w1=1n w2=1n w3=1n w4=1n w5=1n w6=1n w7=1n w8=1n w9=1n w10=1n w11=1n w12=1n w13=1n w14=1n w15=1n
vdd vdd 0 {vdd_level}
vinit init 0 0.45
vphase phase 0 pwl(0 0 {t_write + 2n} 0 {t_write + 3n} 1)
bwbl wbl 0 v = v(init) * (1 - v(phase)) + {vmid_level} * v(phase)
vwwl wwl 0 pwl(0 0 1n 0 1.5n {vwwl_level} {t_write} {vwwl_level} {t_write + 1n} 0)
vin0 in0 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w0 / 2), 0.5p)} {(w0 > 1p ? vdd_level : 0)} {t_pulse + max(w0, 2 * max(min(edge, w0 / 2), 0.5p))} {(w0 > 1p ? vdd_level : 0)} {t_pulse + max(w0, 2 * max(min(edge, w0 / 2), 0.5p)) + max(min(edge, w0 / 2), 0.5p)} 0)
einb0 inb0 vdd in0 0 -1
Xc0 wbl wwl in0 inb0 out0 vdd 0 gaincell_multiplier
vout0 out0 0 {vcol_level}
fq0 0 q0 vout0 -1
cq0 q0 0 1p
rq0 q0 0 1e15
vin1 in1 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w1 / 2), 0.5p)} {(w1 > 1p ? vdd_level : 0)} {t_pulse + max(w1, 2 * max(min(edge, w1 / 2), 0.5p))} {(w1 > 1p ? vdd_level : 0)} {t_pulse + max(w1, 2 * max(min(edge, w1 / 2), 0.5p)) + max(min(edge, w1 / 2), 0.5p)} 0)
einb1 inb1 vdd in1 0 -1
Xc1 wbl wwl in1 inb1 out1 vdd 0 gaincell_multiplier
vout1 out1 0 {vcol_level}
fq1 0 q1 vout1 -1
cq1 q1 0 1p
rq1 q1 0 1e15
vin2 in2 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w2 / 2), 0.5p)} {(w2 > 1p ? vdd_level : 0)} {t_pulse + max(w2, 2 * max(min(edge, w2 / 2), 0.5p))} {(w2 > 1p ? vdd_level : 0)} {t_pulse + max(w2, 2 * max(min(edge, w2 / 2), 0.5p)) + max(min(edge, w2 / 2), 0.5p)} 0)
einb2 inb2 vdd in2 0 -1
Xc2 wbl wwl in2 inb2 out2 vdd 0 gaincell_multiplier
vout2 out2 0 {vcol_level}
fq2 0 q2 vout2 -1
cq2 q2 0 1p
rq2 q2 0 1e15
vin3 in3 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w3 / 2), 0.5p)} {(w3 > 1p ? vdd_level : 0)} {t_pulse + max(w3, 2 * max(min(edge, w3 / 2), 0.5p))} {(w3 > 1p ? vdd_level : 0)} {t_pulse + max(w3, 2 * max(min(edge, w3 / 2), 0.5p)) + max(min(edge, w3 / 2), 0.5p)} 0)
einb3 inb3 vdd in3 0 -1
Xc3 wbl wwl in3 inb3 out3 vdd 0 gaincell_multiplier
vout3 out3 0 {vcol_level}
fq3 0 q3 vout3 -1
cq3 q3 0 1p
rq3 q3 0 1e15
vin4 in4 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w4 / 2), 0.5p)} {(w4 > 1p ? vdd_level : 0)} {t_pulse + max(w4, 2 * max(min(edge, w4 / 2), 0.5p))} {(w4 > 1p ? vdd_level : 0)} {t_pulse + max(w4, 2 * max(min(edge, w4 / 2), 0.5p)) + max(min(edge, w4 / 2), 0.5p)} 0)
einb4 inb4 vdd in4 0 -1
Xc4 wbl wwl in4 inb4 out4 vdd 0 gaincell_multiplier
vout4 out4 0 {vcol_level}
fq4 0 q4 vout4 -1
cq4 q4 0 1p
rq4 q4 0 1e15
vin5 in5 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w5 / 2), 0.5p)} {(w5 > 1p ? vdd_level : 0)} {t_pulse + max(w5, 2 * max(min(edge, w5 / 2), 0.5p))} {(w5 > 1p ? vdd_level : 0)} {t_pulse + max(w5, 2 * max(min(edge, w5 / 2), 0.5p)) + max(min(edge, w5 / 2), 0.5p)} 0)
einb5 inb5 vdd in5 0 -1
Xc5 wbl wwl in5 inb5 out5 vdd 0 gaincell_multiplier
vout5 out5 0 {vcol_level}
fq5 0 q5 vout5 -1
cq5 q5 0 1p
rq5 q5 0 1e15
vin6 in6 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w6 / 2), 0.5p)} {(w6 > 1p ? vdd_level : 0)} {t_pulse + max(w6, 2 * max(min(edge, w6 / 2), 0.5p))} {(w6 > 1p ? vdd_level : 0)} {t_pulse + max(w6, 2 * max(min(edge, w6 / 2), 0.5p)) + max(min(edge, w6 / 2), 0.5p)} 0)
einb6 inb6 vdd in6 0 -1
Xc6 wbl wwl in6 inb6 out6 vdd 0 gaincell_multiplier
vout6 out6 0 {vcol_level}
fq6 0 q6 vout6 -1
cq6 q6 0 1p
rq6 q6 0 1e15
vin7 in7 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w7 / 2), 0.5p)} {(w7 > 1p ? vdd_level : 0)} {t_pulse + max(w7, 2 * max(min(edge, w7 / 2), 0.5p))} {(w7 > 1p ? vdd_level : 0)} {t_pulse + max(w7, 2 * max(min(edge, w7 / 2), 0.5p)) + max(min(edge, w7 / 2), 0.5p)} 0)
einb7 inb7 vdd in7 0 -1
Xc7 wbl wwl in7 inb7 out7 vdd 0 gaincell_multiplier
vout7 out7 0 {vcol_level}
fq7 0 q7 vout7 -1
cq7 q7 0 1p
rq7 q7 0 1e15
vin8 in8 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w8 / 2), 0.5p)} {(w8 > 1p ? vdd_level : 0)} {t_pulse + max(w8, 2 * max(min(edge, w8 / 2), 0.5p))} {(w8 > 1p ? vdd_level : 0)} {t_pulse + max(w8, 2 * max(min(edge, w8 / 2), 0.5p)) + max(min(edge, w8 / 2), 0.5p)} 0)
einb8 inb8 vdd in8 0 -1
Xc8 wbl wwl in8 inb8 out8 vdd 0 gaincell_multiplier
vout8 out8 0 {vcol_level}
fq8 0 q8 vout8 -1
cq8 q8 0 1p
rq8 q8 0 1e15
vin9 in9 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w9 / 2), 0.5p)} {(w9 > 1p ? vdd_level : 0)} {t_pulse + max(w9, 2 * max(min(edge, w9 / 2), 0.5p))} {(w9 > 1p ? vdd_level : 0)} {t_pulse + max(w9, 2 * max(min(edge, w9 / 2), 0.5p)) + max(min(edge, w9 / 2), 0.5p)} 0)
einb9 inb9 vdd in9 0 -1
Xc9 wbl wwl in9 inb9 out9 vdd 0 gaincell_multiplier
vout9 out9 0 {vcol_level}
fq9 0 q9 vout9 -1
cq9 q9 0 1p
rq9 q9 0 1e15
vin10 in10 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w10 / 2), 0.5p)} {(w10 > 1p ? vdd_level : 0)} {t_pulse + max(w10, 2 * max(min(edge, w10 / 2), 0.5p))} {(w10 > 1p ? vdd_level : 0)} {t_pulse + max(w10, 2 * max(min(edge, w10 / 2), 0.5p)) + max(min(edge, w10 / 2), 0.5p)} 0)
einb10 inb10 vdd in10 0 -1
Xc10 wbl wwl in10 inb10 out10 vdd 0 gaincell_multiplier
vout10 out10 0 {vcol_level}
fq10 0 q10 vout10 -1
cq10 q10 0 1p
rq10 q10 0 1e15
vin11 in11 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w11 / 2), 0.5p)} {(w11 > 1p ? vdd_level : 0)} {t_pulse + max(w11, 2 * max(min(edge, w11 / 2), 0.5p))} {(w11 > 1p ? vdd_level : 0)} {t_pulse + max(w11, 2 * max(min(edge, w11 / 2), 0.5p)) + max(min(edge, w11 / 2), 0.5p)} 0)
einb11 inb11 vdd in11 0 -1
Xc11 wbl wwl in11 inb11 out11 vdd 0 gaincell_multiplier
vout11 out11 0 {vcol_level}
fq11 0 q11 vout11 -1
cq11 q11 0 1p
rq11 q11 0 1e15
vin12 in12 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w12 / 2), 0.5p)} {(w12 > 1p ? vdd_level : 0)} {t_pulse + max(w12, 2 * max(min(edge, w12 / 2), 0.5p))} {(w12 > 1p ? vdd_level : 0)} {t_pulse + max(w12, 2 * max(min(edge, w12 / 2), 0.5p)) + max(min(edge, w12 / 2), 0.5p)} 0)
einb12 inb12 vdd in12 0 -1
Xc12 wbl wwl in12 inb12 out12 vdd 0 gaincell_multiplier
vout12 out12 0 {vcol_level}
fq12 0 q12 vout12 -1
cq12 q12 0 1p
rq12 q12 0 1e15
vin13 in13 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w13 / 2), 0.5p)} {(w13 > 1p ? vdd_level : 0)} {t_pulse + max(w13, 2 * max(min(edge, w13 / 2), 0.5p))} {(w13 > 1p ? vdd_level : 0)} {t_pulse + max(w13, 2 * max(min(edge, w13 / 2), 0.5p)) + max(min(edge, w13 / 2), 0.5p)} 0)
einb13 inb13 vdd in13 0 -1
Xc13 wbl wwl in13 inb13 out13 vdd 0 gaincell_multiplier
vout13 out13 0 {vcol_level}
fq13 0 q13 vout13 -1
cq13 q13 0 1p
rq13 q13 0 1e15
vin14 in14 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w14 / 2), 0.5p)} {(w14 > 1p ? vdd_level : 0)} {t_pulse + max(w14, 2 * max(min(edge, w14 / 2), 0.5p))} {(w14 > 1p ? vdd_level : 0)} {t_pulse + max(w14, 2 * max(min(edge, w14 / 2), 0.5p)) + max(min(edge, w14 / 2), 0.5p)} 0)
einb14 inb14 vdd in14 0 -1
Xc14 wbl wwl in14 inb14 out14 vdd 0 gaincell_multiplier
vout14 out14 0 {vcol_level}
fq14 0 q14 vout14 -1
cq14 q14 0 1p
rq14 q14 0 1e15
vin15 in15 0 pwl(0 0 {t_pulse} 0 {t_pulse + max(min(edge, w15 / 2), 0.5p)} {(w15 > 1p ? vdd_level : 0)} {t_pulse + max(w15, 2 * max(min(edge, w15 / 2), 0.5p))} {(w15 > 1p ? vdd_level : 0)} {t_pulse + max(w15, 2 * max(min(edge, w15 / 2), 0.5p)) + max(min(edge, w15 / 2), 0.5p)} 0)
einb15 inb15 vdd in15 0 -1
Xc15 wbl wwl in15 inb15 out15 vdd 0 gaincell_multiplier
vout15 out15 0 {vcol_level}
fq15 0 q15 vout15 -1
cq15 q15 0 1p
rq15 q15 0 1e15
.ic v(xc0.store)={vmid_level} v(xc1.store)={vmid_level} v(xc2.store)={vmid_level} v(xc3.store)={vmid_level} v(xc4.store)={vmid_level} v(xc5.store)={vmid_level} v(xc6.store)={vmid_level} v(xc7.store)={vmid_level} v(xc8.store)={vmid_level} v(xc9.store)={vmid_level} v(xc10.store)={vmid_level} v(xc11.store)={vmid_level} v(xc12.store)={vmid_level} v(xc13.store)={vmid_level} v(xc14.store)={vmid_level} v(xc15.store)={vmid_level} v(q0)=0 v(q1)=0 v(q2)=0 v(q3)=0 v(q4)=0 v(q5)=0 v(q6)=0 v(q7)=0 v(q8)=0 v(q9)=0 v(q10)=0 v(q11)=0 v(q12)=0 v(q13)=0 v(q14)=0 v(q15)=0
