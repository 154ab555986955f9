* multiplier_tb: DC testbench of one gaincell_multiplier
*
* vwbl sets V_store through the open write transistor (wwl = 3.3 V): in DC the storage node
* settles to the write bit line, since no DC current flows into the read gates.
* vin is the input level on the read enables (inb = vdd - vin, an ideal inverting driver).
* vout holds the column line at mid-rail; I_out = -i(vout) (current into the cell's out pin).
* vdd supplies the read pair; -i(vdd) is the supply current.
*
* Swept sources (names used by the characterization): vin (V_in), vwbl (V_store).
.param vdd_level=1.8 vmid_level=0.9 vwwl_level=3.3
Xcell wbl wwl in inb out vdd 0 gaincell_multiplier
vdd vdd 0 {vdd_level}
vwwl wwl 0 {vwwl_level}
vwbl wbl 0 {vmid_level}
vin in 0 {vdd_level}
einb inb vdd in 0 -1
vout out 0 {vmid_level}
