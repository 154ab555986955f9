* signed_c2p: signed charge-to-pulse converter (sign + magnitude pulse) on sky130, 1.8 V
*
* Function
*   At the start of the conversion window the sign of the column charge is latched
*   (sign = 1 when Q < 0, i.e. V(col) > vmid), then col is ramped back toward vmid with a
*   constant current -- sourced (Q > 0, col below vmid) or sunk (Q < 0, col above vmid) --
*   while the pulse `out` is high. Width = |Q| / I_ramp, saturating at T_max (length of the
*   conv window, 15 ns). A downstream counter quantizes the width; `sign` gives the polarity.
*
* Topology
*   Integration : c2p_colcap (~2 pF MIM, col to vss); reset c2p_colrst (col -> vmid while rst).
*   Comparator  : c2p_comp, cmp = 1 when V(col) > V(vmid), continuously on.
*   Sign        : c2p_dff samples cmp on the rising edge of conv; cleared (sign = 0) by rst,
*                 holds the latched value through and after the window until the next reset.
*   Ramp        : current steering, so the mirrors stay in saturation and their gate
*                 nodes are not kicked when the ramp is switched:
*                   source side: pfet_01v8_lvt mirror XPR (W 28 / L 1, 7x the W 4 / L 1 lvt diode)
*                     -> XPS (lvt pfet W 4 / L 0.35, on while src_on) -> col,
*                     otherwise -> XPD -> vss (dump);
*                   sink side  : nfet_01v8 mirror XNR (W 11.3 / L 1; 5.65x the W 2 diode, but its
*                     drain sits at ~1 V against the diode's 0.78 V, so it gives ~68 uA) <-
*                     XNS (nfet W 2 / L 0.15, on while snk_on) <- col,
*                     otherwise <- XND <- vdd (dump).
*                 I_ramp ~ 68 uA both ways at tt (10 uA reference), ~34 mV/ns on col.
*   Logic       : convd = conv delayed by 4 inverters (3 with L = 1 um), ~1.1 ns at tt: the
*                 sign flop (clk-to-q ~0.2 ns) and the XOR must settle before the pulse may
*                 start, otherwise `crossed` is still 1 at the window start for Q < 0 and the
*                 done latch is set at once (no pulse). The whole window (both edges) is
*                 delayed, so saturation is still ~T_max.
*                 crossed = cmp XOR sign (the comparator has left its state at the sign
*                 decision: col has reached vmid).
*                 pulse   = convd AND NOT crossed AND NOT done   (3-input NOR)
*                 done    = SR latch set by convd AND crossed, cleared by rst: once col
*                 crosses vmid the ramp stops and the pulse stays low until the next reset
*                 (no oscillation around the threshold).
*                 src_on = pulse AND NOT sign; snk_on = pulse AND sign.
*                 The pulse ends when convd falls: saturation at ~T_max (15.2 ns).
*   Output      : c2p_buf drives `out` (0.2 pF capable); `sign` from the flop's 1/2 um inverter
*                 (add a buffer if it must drive a large load).
*
* Why this sizing
*   - Same integration capacitor, comparator and bias as relu_c2p, so both converters share
*     slope and offset behaviour.
*   - Static supply current ~220 uA (reference 20, comparator 60, two steered ramps 2 x 68 uA).
*   - Steering (XPD/XND dumps) keeps the mirror drains within ~0.2 V of their operating point
*     when the ramp is switched; a plain series switch let the drain swing 1 V and the Cgd
*     kick on the shared mirror gate changed I_ramp by ~20 % for several ns.
*   - Sink mirror nfet_01v8 L = 1 um; col is >= 0.9 V while sinking, so it has >= 0.8 V of
*     headroom. Source mirror lvt pfet, col <= 0.9 V while sourcing.
*
* Bias: ideal 10 uA reference source `ibias` in the testbench into pin ibias; vmid external.
*
* Pins: col rst conv out sign vmid ibias vdd vss
*   col   column line / integration node
*   rst   reset, active high: col -> vmid, clears sign and done
*   conv  conversion window, active high (15 ns)
*   out   magnitude pulse (buffered)
*   sign  latched sign, 1 = negative charge (V(col) > vmid at the start of conv)
*   vmid  0.9 V reference; ibias reference current input (10 uA); vdd, vss supply / ground
.subckt signed_c2p col rst conv out sign vmid ibias vdd vss
XCAP col vss c2p_colcap
XRST col vmid rst vdd vss c2p_colrst
XBIAS ibias pb vdd vss c2p_bias
XCMP col vmid cmp ibias vdd vss c2p_comp
* sign flip-flop
XSGN cmp conv rst sign vdd vss c2p_dff
XISG sign signb vdd vss c2p_inv
* delayed window start
XD1 conv c1 vdd vss c2p_inv wn=0.42 wp=0.84 l=1
XD2 c1 c2 vdd vss c2p_inv wn=0.42 wp=0.84 l=1
XD3 c2 c3 vdd vss c2p_inv wn=0.42 wp=0.84 l=1
XD4 c3 convd vdd vss c2p_inv wn=0.42 wp=0.84
XICV convd convdb vdd vss c2p_inv
* crossing detection, done latch, pulse
XXOR cmp sign crossed vdd vss c2p_xor2
XICR crossed crossedb vdd vss c2p_inv
XSET convdb crossedb set vdd vss c2p_nor2
XDONE set rst done doneb vdd vss c2p_srlatch
XPUL convdb crossed done pul vdd vss c2p_nor3
XBUF pul out vdd vss c2p_buf
* ramp steering control
XNSR pul signb srcb vdd vss c2p_nand2
XISR srcb src vdd vss c2p_inv
XNSK pul sign snkb vdd vss c2p_nand2
XISK snkb snk vdd vss c2p_inv
* source ramp (Q > 0): pfet mirror, steered to col (srcb low) or dumped to vss
XPR x pb vdd vdd sky130_fd_pr__pfet_01v8_lvt w=28 l=1
XPS col srcb x vdd sky130_fd_pr__pfet_01v8_lvt w=4 l=0.35
XPD vss src x vdd sky130_fd_pr__pfet_01v8_lvt w=4 l=0.35
* sink ramp (Q < 0): nfet mirror, steered from col (snk high) or from vdd (dump)
XNR y ibias vss vss sky130_fd_pr__nfet_01v8 w=11.3 l=1
XNS col snk y vss sky130_fd_pr__nfet_01v8 w=2 l=0.15
XND vdd snkb y vss sky130_fd_pr__nfet_01v8 w=2 l=0.15
.ends signed_c2p
