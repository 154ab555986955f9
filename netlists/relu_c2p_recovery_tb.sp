* relu_c2p_recovery_tb: where the ReLU converter switches after its column has been elsewhere
*
* Why: the comparator of relu_c2p is continuous-time and slow at small overdrive. On a tile the
* column does not sit still before the conversion: the cells' turn-on charges lift it by about
* 40 mV when the MAC starts, it drifts with the products, and the last rows stop ~2 ns before
* the conversion window opens. A comparator still recovering from the column having been
* above mid-rail reads "above" at the window's start, and the converter gives no pulse for a
* charge that a rested comparator would convert: at ss / 85 C a 50 mV excursion ending 2 ns
* before the window moves the switching point from 3 to 6.5 fC (relu_c2p_tb charges the column
* 6 ns before the window, from rest, and cannot see it).
*
* Timing (the tile's, netlists of characterize/tile.py):
*   0 .. 14 ns     rst high: col held at vmid, done latch cleared.
*   15 .. 16 ns    iexc lifts col by qexc / C (the excursion; qexc = 0: none).
*   tret .. +tramp iret takes col to the final charge qfin (positive discharges it, like
*                  positive cell current): tret + tramp = tconv - gap.
*   32 .. 47 ns    conversion window (T_max = 15 ns); out is measured from 32 ns.
* Parameters: qexc, qfin (C), tret, tramp (s), tconv, tmax (s), cload.
* Suggested analysis: tran 10p 53n.
.param qexc=0 qfin=1f tret=29n tramp=1n tconv=32n tmax=15n texc=15n cload=0.2p
Xc2p col rst conv out vmid ibias vdd 0 relu_c2p
vdd vdd 0 1.8
vmid vmid 0 0.9
ibias vdd ibias 10u
vrst rst 0 PULSE(1.8 0 14n 50p 50p 100n 200n)
vconv conv 0 PULSE(0 1.8 {tconv} 50p 50p {tmax-50p} 200n)
iexc 0 col PULSE(0 {qexc/1n} {texc} 50p 50p {1n-50p} 200n)
iret col 0 PULSE(0 {(qfin+qexc)/tramp} {tret} 50p 50p {tramp-50p} 200n)
cload out 0 {cload}
