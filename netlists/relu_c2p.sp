* relu_c2p: ReLU-with-saturation charge-to-pulse converter (HardSigmoid activation) on sky130, 1.8 V
*
* Function
*   Phi(S) = clamp(S / S_sat, 0, 1) in the time domain: the output pulse width is
*   Q / I_ramp for 0 < Q < Q_sat, 0 for Q <= 0, and T_max (the length of the conv window,
*   15 ns) for Q >= Q_sat = I_ramp * T_max (~1 pC).
*
* Topology
*   Integration : c2p_colcap, ~2 pF MIM capacitance from col to vss. Gain cells sink their
*                 current I_out from col, so V(col) = 0.9 V - Q / C_col after the MAC phase.
*   Reset       : c2p_colrst, transmission gate col -> vmid while rst is high.
*   Comparator  : c2p_comp, cmp = 1 when V(col) > V(vmid); continuously on (60 uA).
*   Ramp source : current steering from the lvt pfet mirror XPR (W 28 / L 1, 7x the W 4 / L 1
*                 diode of c2p_bias; I_ramp ~ 68 uA at tt with the 10 uA reference): XPS
*                 (lvt pfet W 4 / L 0.35, gate enb) passes it into col while the pulse is
*                 high; otherwise XPD (same size, gate pul) dumps it to vss. Col rises at
*                 ~34 mV/ns during the pulse.
*   Logic       : pulse = conv AND (not cmp) AND (not done)  -> 3-input NOR of convb, cmp, done.
*                 done  = SR latch, set by conv AND cmp (col has reached vmid during the
*                 window), cleared by rst. Once col crosses vmid the ramp stops and the latch
*                 keeps the pulse low until the next reset, whatever the comparator does
*                 afterwards (no oscillation around the threshold). With Q <= 0 the
*                 comparator already reads cmp = 1 before conv rises, so no pulse (no glitch).
*                 When conv falls the pulse ends regardless: saturation at T_max.
*   Output      : c2p_buf (4-stage tapered buffer, last stage 8 / 16 um) drives the 0.2 pF
*                 enable-gate load of the next array.
*
* Why this sizing
*   - C_col ~ 2 pF: +-1 pC moves col by +-0.5 V, inside 0.4..1.4 V where the mirror and the
*     comparator stay in saturation.
*   - L = 1 um mirrors: output resistance high enough that I_ramp changes by only a few percent
*     as V(col) goes 0.4 -> 0.9 V, which keeps width linear in Q.
*   - Steering instead of a series switch: with a plain switch the mirror drain swung ~1 V
*     at turn-on and the Cgd kick on the shared gate pb raised I_ramp by ~20 % for several
*     ns (non-linear width). With the dump path the drain stays within ~0.2 V of its
*     operating point. Cost: I_ramp flows all the time (~120 uW at 1.8 V).
*   - lvt switches (W 4 / L 0.35): with col up to ~0.95 V the standard pfet (|Vth| ~1 V with
*     body effect) could not pass 65 uA without pushing the mirror out of saturation.
*   - Static supply current ~150 uA (reference 20 uA, comparator 60 uA, ramp 68 uA), i.e.
*     ~3.7 pJ per 15 ns window before any conversion work.
*
* Bias: the reference current is an ideal 10 uA source `ibias` in the testbench pushed into
* pin ibias (diode-connected nfet). vmid is an external 0.9 V reference (testbench source vmid).
*
* Pins: col rst conv out vmid ibias vdd vss
*   col   column line / integration node (gain-cell outputs connect here)
*   rst   reset, active high: col -> vmid, clears the done latch
*   conv  conversion window, active high (T_max = its length, 15 ns)
*   out   output pulse (buffered, drives 0.2 pF)
*   vmid  0.9 V reference (reset level and comparator threshold)
*   ibias reference current input (10 uA into the pin)
*   vdd, vss supply 1.8 V / ground
.subckt relu_c2p col rst conv out vmid ibias vdd vss
XCAP col vss c2p_colcap
XRST col vmid rst vdd vss c2p_colrst
XBIAS ibias pb vdd vss c2p_bias
XCMP col vmid cmp ibias vdd vss c2p_comp
* ramp current source, steered into col (pulse high) or dumped to vss
XPR x pb vdd vdd sky130_fd_pr__pfet_01v8_lvt w=28 l=1
XPS col enb x vdd sky130_fd_pr__pfet_01v8_lvt w=4 l=0.35
XPD vss pul x vdd sky130_fd_pr__pfet_01v8_lvt w=4 l=0.35
* control logic
XICV conv convb vdd vss c2p_inv
XICM cmp cmpb vdd vss c2p_inv
XSET convb cmpb set vdd vss c2p_nor2
XDONE set rst done doneb vdd vss c2p_srlatch
XPUL convb cmp done pul vdd vss c2p_nor3
XIEN pul enb vdd vss c2p_inv wn=1 wp=2
XBUF pul out vdd vss c2p_buf
.ends relu_c2p
