# Receive throughput against push size, from bench/recv.sh's TSV:
#   gnuplot -e "in='bench/results/recv.tsv'; out='bench/results/recv.svg'" bench/plot.gp
# Solid lines: logthra-recv; dashed: the do-nothing responder on the
# same transport (the ceiling); dotted: the same responder storing each
# body durably (the disk's ceiling).  MB/s of push body sent, log scales.
if (!exists("in")) in = 'bench/results/recv.tsv'
if (!exists("out")) out = 'bench/results/recv.svg'
set terminal svg size 900,560 dynamic font "sans,12"
set output out
set datafile separator "\t"
set datafile commentschars "#"
set logscale xy
set xlabel "push size (bytes of JSON holding the entries)"
set ylabel "MB/s of push bodies received"
set key outside right top
set grid
set title "logthra-recv (solid), a do-nothing responder (dashed), one that only stores durably (dotted)"
sel(t, f, col) = (strcol(1) eq t && strcol(2) eq f) ? column(col) : NaN
plot \
  in using 4:(sel("cgi", "json", 8)) with linespoints lw 2 lc 1 pt 7 title "CGI, JSON", \
  in using 4:(sel("cgi", "protobuf", 8)) with linespoints lw 2 lc 2 pt 7 title "CGI, protobuf", \
  in using 4:(sel("inetd", "json", 8)) with linespoints lw 2 lc 3 pt 5 title "inetd, JSON", \
  in using 4:(sel("inetd", "protobuf", 8)) with linespoints lw 2 lc 4 pt 5 title "inetd, protobuf", \
  in using 4:(sel("cgi", "json", 10)) with linespoints dt 2 lc 1 pt 6 title "CGI, null", \
  in using 4:(sel("inetd", "json", 10)) with linespoints dt 2 lc 3 pt 4 title "inetd, null", \
  in using 4:(sel("cgi", "json", 13)) with linespoints dt 3 lc 1 pt 6 title "CGI, durable", \
  in using 4:(sel("inetd", "json", 13)) with linespoints dt 3 lc 3 pt 4 title "inetd, durable"
