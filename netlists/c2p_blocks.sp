* c2p_blocks: shared subcircuits of the charge-to-pulse converters relu_c2p and signed_c2p (sky130, 1.8 V)
*
* Contents
*   c2p_inv     static CMOS inverter, parameters wn / wp / l (um), default L = 0.15 um.
*   c2p_nand2   2-input NAND (nfets stacked, so 2x wider).        Pins: a b y vdd vss
*   c2p_nor2    2-input NOR  (pfets stacked, so 2x wider).        Pins: a b y vdd vss
*   c2p_nor3    3-input NOR.                                      Pins: a b c y vdd vss
*   c2p_xor2    XOR from four NAND2 gates.                        Pins: a b y vdd vss
*   c2p_buf     non-inverting 4-stage tapered buffer (taper ~3x) for the converter output:
*               drives the 0.2 pF load of 64 enable gates (64 x 1 um x 0.35 um) of the next
*               array with 10-90 % rise/fall near 0.15 ns (tt). Last stage nfet 8 um / pfet 16 um.
*   c2p_srlatch NOR SR latch, reset-dominant in use (r = rst): q = done flag.  Pins: s r q qb vdd vss
*   c2p_dff     positive-edge master-slave transmission-gate D flip-flop with asynchronous
*               clear (rst high forces q = 0). Pins: d clk rst q vdd vss
*   c2p_bias    current-reference mirror: the testbench pushes the reference current
*               (ideal source `ibias`, 10 uA) into pin ibias, a diode-connected nfet_01v8
*               (W 2 / L 1); pin ibias is then the nfet bias voltage nb (~0.78 V, tt). A copy
*               of 10 uA feeds a diode-connected pfet_01v8_lvt (W 4 / L 1) whose gate is the
*               pfet bias pb (~1.05 V, tt). The lvt pfet keeps |Vgs| ~0.75 V so the ramp
*               mirror stays saturated with col up to ~1 V. L = 1 um everywhere in the
*               mirrors: I_ramp changes ~1 % per 100 mV of col. Pins: ibias pb vdd vss
*   c2p_comp    continuous-time comparator, out = 1 when inp > inn (trip point within
*               ~3 mV of inn in DC, tt). Stage A: low-gain preamplifier (gain ~4), lvt nfet
*               pair W 4 / L 0.5 with diode-connected lvt pfet loads W 1 / L 0.5, 20 uA tail;
*               its bounded output swing keeps it fast when the input is far from balance.
*               Stage B: 5-transistor amplifier, small lvt devices (W 1 / L 0.5, low Miller
*               load on stage A), 40 uA tail, rail-to-rail output b; then one inverter.
*               60 uA static. Dynamic delay from the col crossing to the pulse falling edge
*               is ~0.8 ns on the ~33 mV/ns ramp (col overshoots vmid by ~25-35 mV); it is
*               the same for every Q, so it appears as a constant width offset.
*               Tail sinks are nfet_01v8 W 4 (20 uA) / W 8 (40 uA), L 1, gate nb.
*               Pins: inp inn out nb vdd vss
*   c2p_colcap  column integration capacitor: two MIM caps cap_mim_m3_1 22 x 22 um in
*               parallel, ~1.97 pF (typical 2.0 fF/um^2 + 0.19 fF/um perimeter), col to vss.
*   c2p_colrst  column reset: transmission gate (nfet W 2 / pfet W 4, L 0.15) from col to
*               vmid while rst is high. Pins: col vmid rst vdd vss
*
* All device terminals stay within 0..1.8 V.

.subckt c2p_inv a y vdd vss wn=0.5 wp=1 l=0.15
XN y a vss vss sky130_fd_pr__nfet_01v8 w={wn} l={l}
XP y a vdd vdd sky130_fd_pr__pfet_01v8 w={wp} l={l}
.ends c2p_inv

.subckt c2p_nand2 a b y vdd vss
XN1 y a n1 vss sky130_fd_pr__nfet_01v8 w=1 l=0.15
XN2 n1 b vss vss sky130_fd_pr__nfet_01v8 w=1 l=0.15
XP1 y a vdd vdd sky130_fd_pr__pfet_01v8 w=1 l=0.15
XP2 y b vdd vdd sky130_fd_pr__pfet_01v8 w=1 l=0.15
.ends c2p_nand2

.subckt c2p_nor2 a b y vdd vss
XN1 y a vss vss sky130_fd_pr__nfet_01v8 w=0.5 l=0.15
XN2 y b vss vss sky130_fd_pr__nfet_01v8 w=0.5 l=0.15
XP1 p1 a vdd vdd sky130_fd_pr__pfet_01v8 w=2 l=0.15
XP2 y b p1 vdd sky130_fd_pr__pfet_01v8 w=2 l=0.15
.ends c2p_nor2

.subckt c2p_nor3 a b c y vdd vss
XN1 y a vss vss sky130_fd_pr__nfet_01v8 w=0.5 l=0.15
XN2 y b vss vss sky130_fd_pr__nfet_01v8 w=0.5 l=0.15
XN3 y c vss vss sky130_fd_pr__nfet_01v8 w=0.5 l=0.15
XP1 p1 a vdd vdd sky130_fd_pr__pfet_01v8 w=3 l=0.15
XP2 p2 b p1 vdd sky130_fd_pr__pfet_01v8 w=3 l=0.15
XP3 y c p2 vdd sky130_fd_pr__pfet_01v8 w=3 l=0.15
.ends c2p_nor3

.subckt c2p_xor2 a b y vdd vss
X1 a b n1 vdd vss c2p_nand2
X2 a n1 n2 vdd vss c2p_nand2
X3 b n1 n3 vdd vss c2p_nand2
X4 n2 n3 y vdd vss c2p_nand2
.ends c2p_xor2

.subckt c2p_buf a y vdd vss
X1 a b1 vdd vss c2p_inv wn=0.5 wp=1
X2 b1 b2 vdd vss c2p_inv wn=1 wp=2
X3 b2 b3 vdd vss c2p_inv wn=3 wp=6
X4 b3 y vdd vss c2p_inv wn=8 wp=16
.ends c2p_buf

.subckt c2p_srlatch s r q qb vdd vss
X1 r qb q vdd vss c2p_nor2
X2 s q qb vdd vss c2p_nor2
.ends c2p_srlatch

.subckt c2p_dff d clk rst q vdd vss
XCI clk clkb vdd vss c2p_inv
* master: transparent while clk low
XT1N d clkb m vss sky130_fd_pr__nfet_01v8 w=0.5 l=0.15
XT1P d clk m vdd sky130_fd_pr__pfet_01v8 w=1 l=0.15
XM1 m mb vdd vss c2p_inv
XM2 mb mf vdd vss c2p_inv wn=0.42 wp=0.42
XT2N mf clk m vss sky130_fd_pr__nfet_01v8 w=0.42 l=0.15
XT2P mf clkb m vdd sky130_fd_pr__pfet_01v8 w=0.42 l=0.15
* slave: transparent while clk high; NOR with rst clears it
XT3N mb clk s vss sky130_fd_pr__nfet_01v8 w=0.5 l=0.15
XT3P mb clkb s vdd sky130_fd_pr__pfet_01v8 w=1 l=0.15
XS1 s rst sb vdd vss c2p_nor2
XS2 sb sf vdd vss c2p_inv wn=0.42 wp=0.42
XT4N sf clkb s vss sky130_fd_pr__nfet_01v8 w=0.42 l=0.15
XT4P sf clk s vdd sky130_fd_pr__pfet_01v8 w=0.42 l=0.15
* q = sb = d at the last rising clk edge (0 while rst)
XQ1 sb qn vdd vss c2p_inv
XQ2 qn q vdd vss c2p_inv wn=1 wp=2
.ends c2p_dff

.subckt c2p_bias ibias pb vdd vss
XNB0 ibias ibias vss vss sky130_fd_pr__nfet_01v8 w=2 l=1
XNB1 pb ibias vss vss sky130_fd_pr__nfet_01v8 w=2 l=1
XPB0 pb pb vdd vdd sky130_fd_pr__pfet_01v8_lvt w=4 l=1
.ends c2p_bias

.subckt c2p_comp inp inn out nb vdd vss
* stage A: low-gain preamplifier, lvt nfet pair, diode-connected lvt pfet loads (bounded swing)
XTA ta nb vss vss sky130_fd_pr__nfet_01v8 w=4 l=1
XM1 a1 inp ta vss sky130_fd_pr__nfet_01v8_lvt w=4 l=0.5
XM2 a2 inn ta vss sky130_fd_pr__nfet_01v8_lvt w=4 l=0.5
XL1 a1 a1 vdd vdd sky130_fd_pr__pfet_01v8_lvt w=1 l=0.5
XL2 a2 a2 vdd vdd sky130_fd_pr__pfet_01v8_lvt w=1 l=0.5
* stage B: 5-transistor amplifier, rail-to-rail output b (low when inp > inn)
XTB tb nb vss vss sky130_fd_pr__nfet_01v8 w=8 l=1
XM3 d3 a1 tb vss sky130_fd_pr__nfet_01v8_lvt w=1 l=0.5
XM4 b a2 tb vss sky130_fd_pr__nfet_01v8_lvt w=1 l=0.5
XP3 d3 d3 vdd vdd sky130_fd_pr__pfet_01v8_lvt w=1 l=0.5
XP4 b d3 vdd vdd sky130_fd_pr__pfet_01v8_lvt w=1 l=0.5
XI1 b out vdd vss c2p_inv wn=0.5 wp=1
.ends c2p_comp

.subckt c2p_colcap col vss
XC1 col vss sky130_fd_pr__cap_mim_m3_1 w=22 l=22
XC2 col vss sky130_fd_pr__cap_mim_m3_1 w=22 l=22
.ends c2p_colcap

.subckt c2p_colrst col vmid rst vdd vss
XI rst rstb vdd vss c2p_inv
XN col rst vmid vss sky130_fd_pr__nfet_01v8 w=2 l=0.15
XP col rstb vmid vdd sky130_fd_pr__pfet_01v8 w=4 l=0.15
.ends c2p_colrst
