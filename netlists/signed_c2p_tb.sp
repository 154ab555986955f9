* signed_c2p_tb: transient testbench of one signed_c2p converter
*
* Timing (one conversion, ~40 ns):
*   0 .. 2 ns    rst high (vrst): col reset to vmid = 0.9 V, sign and done cleared.
*   2 .. 17 ns   MAC phase: iin draws a 10 ns rectangle of charge qin from col
*                (4 .. 14 ns); positive qin discharges col like positive gain-cell I_out,
*                negative qin charges it.
*   20 .. 35 ns  conversion window (vconv high, T_max = 15 ns at the 50 % points).
*   35 .. 40 ns  idle (sign still held).
* Outputs: out loaded by cload = 0.2 pF (64 enable gates); sign loaded by csign = 10 fF.
*
* Sources: vdd (1.8 V supply; supply energy = integral of v(vdd) * -i(vdd)), vmid (0.9 V
*   reference; it also supplies the reset charge), ibias (10 uA reference current from vdd
*   into pin ibias, counted in -i(vdd)), vrst, vconv (control), iin (charge input).
* Parameters: qin (signed charge, C; swept), tmac (length of the charge rectangle, which
*   starts at tqin = 4 ns), trst (end of reset, 2 ns), tconv (start of the conversion
*   window, 20 ns), tmax (window length T_max at the 50 % points, 15 ns; keep
*   tqin + tmac < tconv and trst < tqin),
*   vdd_level, vmid_level, ibias_level, cload, csign.
* Suggested analysis: tran 10p 40n.
.param qin=0.3p tmac=10n tqin=4n trst=2n tconv=20n tmax=15n vdd_level=1.8 vmid_level=0.9 ibias_level=10u cload=0.2p csign=10f
Xc2p col rst conv out sign vmid ibias vdd 0 signed_c2p
vdd vdd 0 {vdd_level}
vmid vmid 0 {vmid_level}
ibias vdd ibias {ibias_level}
vrst rst 0 PULSE(1.8 0 {trst} 50p 50p 100n 200n)
vconv conv 0 PULSE(0 1.8 {tconv} 50p 50p {tmax-50p} 200n)
iin col 0 PULSE(0 {qin/tmac} {tqin} 50p 50p {tmac-50p} 200n)
cload out 0 {cload}
csign sign 0 {csign}
