#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Plot a uptr_bench CSV with gnuplot (Debian's gnuplot-nox).
#
#   tools/bench/plot.sh RESULTS.CSV OUT.PNG [TITLE]
#
# Four panels: the registration cost per 4K page (sub-page for huge
# backings) against the size, for the 4k, thp and hugetlb backings, with
# the peers gup_test and test_hmm; and the share of a sparse userptr that
# each backend / FAULT window mirrors for each access pattern.
set -euo pipefail

csv=$1 png=$2 title=${3:-uptr_bench}
[ -r "$csv" ] || { echo "plot.sh: cannot read $csv" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot missing" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Series "size value" per backing: fields group,case,backend,backing,size,
# metric,unit,median (the note, last, may hold commas; it is not read).
awk -F, -v dir="$tmp" '
NR == 1 { next }
$1 == "register" && $6 == "pin per page" && $2 == "gup_test PIN_FAST+LONGTERM" {
	print $5, $8 > (dir "/" $4 "-1.dat") }
$1 == "register" && $2 == "uptr populate" && $6 == "per page" && $3 == "PIN" {
	print $5, $8 > (dir "/" $4 "-2.dat") }
$1 == "register" && $2 == "uptr populate" && $6 == "per page" && $3 == "FAULT" {
	print $5, $8 > (dir "/" $4 "-3.dat") }
$1 == "register" && $2 == "test_hmm READ (present)" && $6 == "per page" {
	print $5, $8 > (dir "/" $4 "-4.dat") }
$1 == "sparse" && $6 == "mirrored of range" {
	if (!(($2) in pat)) { pat[$2] = ++npat; pname[npat] = $2 }
	if (!(($3) in mode)) { mode[$3] = ++nmode; mname[nmode] = $3 }
	v[pat[$2], mode[$3]] = $8
}
END {
	if (!npat)
		exit
	f = dir "/sparse.dat"
	printf "pattern" > f
	for (m = 1; m <= nmode; m++)
		printf " \"%s\"", mname[m] > f
	printf "\n" > f
	for (p = 1; p <= npat; p++) {
		printf "\"%s\"", pname[p] > f
		for (m = 1; m <= nmode; m++)
			printf " %s", ((p, m) in v) ? v[p, m] : "0" > f
		printf "\n" > f
	}
	print nmode > (dir "/sparse.n")
}' "$csv"

names=("" "gup_test PIN_FAST+LONGTERM (pin only)" "uptr PIN populate"
       "uptr FAULT populate" "test_hmm READ (present pages)")
{
	cat <<EOF
set terminal pngcairo noenhanced size 1500,1050 font ",10"
set output "$png"
set multiplot layout 2,2 title "$title"
set grid
set key top right font ",9"
set logscale xy
set xtics ("4K" 4096, "64K" 65536, "1M" 1048576, "16M" 16777216, \\
	   "256M" 268435456, "1G" 1073741824)
set xlabel "userptr size"
EOF
	for bk in 4k thp hugetlb; do
		plots=()
		for i in 1 2 3 4; do
			f=$tmp/$bk-$i.dat
			[ -s "$f" ] || continue
			sort -n -o "$f" "$f"
			plots+=("\"$f\" using 1:2 with linespoints lw 2 title \"${names[$i]}\"")
		done
		echo "set ylabel \"ns per 4K page$([ $bk = 4k ] || echo ' (sub-page)')\""
		echo "set title \"Registration cost, $bk backing (median)\""
		if [ ${#plots[@]} = 0 ]; then
			echo "unset logscale; set xrange [0:1]; set yrange [0:1]"
			echo "plot 2 title \"no data\" with lines"
			echo "set autoscale; set logscale xy"
		else
			(IFS=,; echo "plot ${plots[*]}")
		fi
	done
	if [ -s "$tmp/sparse.dat" ]; then
		n=$(cat "$tmp/sparse.n")
		cat <<EOF
unset logscale
set xtics auto
set autoscale
set xlabel "pages the device touches"
set ylabel "% of the userptr mirrored or pinned"
set title "Sparse access: memory held by backend / FAULT window"
set yrange [0:130]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top center horizontal
plot for [i=2:$((n + 1))] "$tmp/sparse.dat" using i:xtic(1) title columnheader(i)
EOF
	fi
	echo "unset multiplot"
} > "$tmp/plot.gp"
gnuplot "$tmp/plot.gp"
