# latency-vs-load.gp: p50 and p99 latency against offered load, sipsd and Kamailio, from the
# ramp runs of `make bench-compare` (aggregate.py writes ramp-<server>.dat and calls
#   gnuplot -e "outfile='...'; sipsd='ramp-sipsd.dat'; kamailio='ramp-kamailio.dat'" this).
# Data columns: offered/s achieved/s errors p50_us p99_us.
if (!exists("outfile")) outfile = "latency-vs-load.png"
if (!exists("sipsd")) sipsd = ""
if (!exists("kamailio")) kamailio = ""

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1100,700 enhanced font "sans,10"
} else {
    set terminal png size 1100,700
}
set output outfile
set title "SIP OPTIONS over TLS, 4 connections, open-loop ramp: latency vs offered load"
set xlabel "offered load (requests/s)"
set ylabel "latency (microseconds)"
set logscale xy
set grid xtics ytics mxtics mytics
set key top left
set format y "%.0f"
set arrow from graph 0, first 1000 to graph 1, first 1000 nohead dt 3 lc rgb "gray"
set arrow from graph 0, first 10000 to graph 1, first 10000 nohead dt 3 lc rgb "gray"

p = ""
if (sipsd ne "") {
    p = p . sprintf("'%s' using 1:4 with linespoints lw 2 pt 7 lc rgb '#1f77b4' title 'sipsd p50', ", sipsd)
    p = p . sprintf("'%s' using 1:5 with linespoints lw 2 pt 5 lc rgb '#1f77b4' dt 2 title 'sipsd p99', ", sipsd)
}
if (kamailio ne "") {
    p = p . sprintf("'%s' using 1:4 with linespoints lw 2 pt 7 lc rgb '#d62728' title 'Kamailio p50', ", kamailio)
    p = p . sprintf("'%s' using 1:5 with linespoints lw 2 pt 5 lc rgb '#d62728' dt 2 title 'Kamailio p99', ", kamailio)
}
if (strlen(p) > 2) { p = p[1:strlen(p)-2] }
eval("plot " . p)
