* mac_chain_tb: one transient through the whole chain (the paper's Fig. 2d/e), 8 rows
*
*   write    0 .. 8 ns   write word lines at 3.3 V: K cells take k0..k7, V cells v0..v7 from
*                        their write bit lines (DC sources vwk*, vwv*; the characterization
*                        alters them per case); word lines fall 8 .. 9 ns.
*   K MAC   10 .. 25 ns  row i of the K column gets a Q pulse of width wq_i (PWM, up to 15 ns,
*                        1.8 V): the 8 cells integrate signed charge on colk.
*   convert 27 .. 42 ns  the ReLU charge-to-pulse turns colk's charge into the Phi pulse `phi`
*                        (ReLU, saturating at 15 ns), buffered to drive 64 enables (0.2 pF).
*   V MAC   27 .. 42 ns  `phi` drives row 0 of the V column (through an inverter for the
*                        complementary enable); rows 1..7 get Phi pulses of other tokens,
*                        widths wp1..wp7 (ideal sources); the V cells integrate on colv.
*   convert 45 .. 60 ns  the signed charge-to-pulse turns colv's charge into `out` plus `sign`.
*
* Supplies: vdda feeds the read pairs of 15 cells, vdda0 that of V row 0 (the row the ReLU
* converter's Phi drives, told apart from the ideally driven rows); vdd the converters and
* the phi inverter. The Q and other tokens' Phi pulses are ideal sources and their
* complements ideal inverting sources (e*): their energy is integrated from their own
* currents. ibk, ibv: 10 uA references of the two converters.
.param vdd_level=1.8 vmid_level=0.9 vwwl_level=3.3 ibias_level=10u cload=0.2p
.param wq0=5n wq1=5n wq2=5n wq3=5n wq4=5n wq5=5n wq6=5n wq7=5n
.param wp1=5n wp2=5n wp3=5n wp4=5n wp5=5n wp6=5n wp7=5n
vdd vdd 0 {vdd_level}
vdda vdda 0 {vdd_level}
vdda0 vdda0 0 {vdd_level}
vmid vmid 0 {vmid_level}
ibk vdd ibk {ibias_level}
ibv vdd ibv {ibias_level}
vwwl wwl 0 pwl(0 {vwwl_level} 8n {vwwl_level} 9n 0)
* the write bit lines keep their values after the write (over 68 ns, leakage is negligible)

vwk0 wk0 0 0.9
vwk1 wk1 0 0.9
vwk2 wk2 0 0.9
vwk3 wk3 0 0.9
vwk4 wk4 0 0.9
vwk5 wk5 0 0.9
vwk6 wk6 0 0.9
vwk7 wk7 0 0.9
vwv0 wv0 0 0.9
vwv1 wv1 0 0.9
vwv2 wv2 0 0.9
vwv3 wv3 0 0.9
vwv4 wv4 0 0.9
vwv5 wv5 0 0.9
vwv6 wv6 0 0.9
vwv7 wv7 0 0.9
* K column: Q pulses on the enables, complementary enables from ideal inverting drivers
vq0 q0 0 pulse(0 {vdd_level} 10n 50p 50p {max(wq0 - 50p, 1p)} 200n)
eqb0 qb0 vdd q0 0 -1
Xk0 wk0 wwl q0 qb0 colk vdda 0 gaincell_multiplier
vq1 q1 0 pulse(0 {vdd_level} 10n 50p 50p {max(wq1 - 50p, 1p)} 200n)
eqb1 qb1 vdd q1 0 -1
Xk1 wk1 wwl q1 qb1 colk vdda 0 gaincell_multiplier
vq2 q2 0 pulse(0 {vdd_level} 10n 50p 50p {max(wq2 - 50p, 1p)} 200n)
eqb2 qb2 vdd q2 0 -1
Xk2 wk2 wwl q2 qb2 colk vdda 0 gaincell_multiplier
vq3 q3 0 pulse(0 {vdd_level} 10n 50p 50p {max(wq3 - 50p, 1p)} 200n)
eqb3 qb3 vdd q3 0 -1
Xk3 wk3 wwl q3 qb3 colk vdda 0 gaincell_multiplier
vq4 q4 0 pulse(0 {vdd_level} 10n 50p 50p {max(wq4 - 50p, 1p)} 200n)
eqb4 qb4 vdd q4 0 -1
Xk4 wk4 wwl q4 qb4 colk vdda 0 gaincell_multiplier
vq5 q5 0 pulse(0 {vdd_level} 10n 50p 50p {max(wq5 - 50p, 1p)} 200n)
eqb5 qb5 vdd q5 0 -1
Xk5 wk5 wwl q5 qb5 colk vdda 0 gaincell_multiplier
vq6 q6 0 pulse(0 {vdd_level} 10n 50p 50p {max(wq6 - 50p, 1p)} 200n)
eqb6 qb6 vdd q6 0 -1
Xk6 wk6 wwl q6 qb6 colk vdda 0 gaincell_multiplier
vq7 q7 0 pulse(0 {vdd_level} 10n 50p 50p {max(wq7 - 50p, 1p)} 200n)
eqb7 qb7 vdd q7 0 -1
Xk7 wk7 wwl q7 qb7 colk vdda 0 gaincell_multiplier
vrstk rstk 0 pulse(1.8 0 9n 50p 50p 200n 400n)
vconvk convk 0 pulse(0 1.8 27n 50p 50p 14.95n 400n)
Xrelu colk rstk convk phi vmid ibk vdd 0 relu_c2p
cphi phi 0 {cload}
Xphib phi phib vdd 0 c2p_inv
* V column: row 0 from the ReLU converter, rows 1..7 from other tokens' Phi pulses
Xv0 wv0 wwl phi phib colv vdda0 0 gaincell_multiplier
vp1 p1 0 pulse(0 {vdd_level} 27n 50p 50p {max(wp1 - 50p, 1p)} 200n)
epb1 pb1 vdd p1 0 -1
Xv1 wv1 wwl p1 pb1 colv vdda 0 gaincell_multiplier
vp2 p2 0 pulse(0 {vdd_level} 27n 50p 50p {max(wp2 - 50p, 1p)} 200n)
epb2 pb2 vdd p2 0 -1
Xv2 wv2 wwl p2 pb2 colv vdda 0 gaincell_multiplier
vp3 p3 0 pulse(0 {vdd_level} 27n 50p 50p {max(wp3 - 50p, 1p)} 200n)
epb3 pb3 vdd p3 0 -1
Xv3 wv3 wwl p3 pb3 colv vdda 0 gaincell_multiplier
vp4 p4 0 pulse(0 {vdd_level} 27n 50p 50p {max(wp4 - 50p, 1p)} 200n)
epb4 pb4 vdd p4 0 -1
Xv4 wv4 wwl p4 pb4 colv vdda 0 gaincell_multiplier
vp5 p5 0 pulse(0 {vdd_level} 27n 50p 50p {max(wp5 - 50p, 1p)} 200n)
epb5 pb5 vdd p5 0 -1
Xv5 wv5 wwl p5 pb5 colv vdda 0 gaincell_multiplier
vp6 p6 0 pulse(0 {vdd_level} 27n 50p 50p {max(wp6 - 50p, 1p)} 200n)
epb6 pb6 vdd p6 0 -1
Xv6 wv6 wwl p6 pb6 colv vdda 0 gaincell_multiplier
vp7 p7 0 pulse(0 {vdd_level} 27n 50p 50p {max(wp7 - 50p, 1p)} 200n)
epb7 pb7 vdd p7 0 -1
Xv7 wv7 wwl p7 pb7 colv vdda 0 gaincell_multiplier
vrstv rstv 0 pulse(1.8 0 26n 50p 50p 200n 400n)
vconvv convv 0 pulse(0 1.8 45n 50p 50p 14.95n 400n)
Xsgn colv rstv convv out sign vmid ibv vdd 0 signed_c2p
cout out 0 20f
csign sign 0 10f
