#!/usr/bin/env bash
# Draws a scenario's plots as SVG with gnuplot, from the data files the harness wrote:
#   <dir>/<scenario>-latency.dat     latency percentile curves (log-log: "nines" against ns)
#   <dir>/<scenario>-throughput.dat  bars ("label" value)
# usage: bench/plot.sh DIR SCENARIO [LATENCY_TITLE] [BAR_UNIT]
# Installs Debian's gnuplot-nox when gnuplot is missing, unless FLASHWAL_PLOT_NO_INSTALL=1 (the
# harness sets it for --quick, so CI never needs apt). Exits non-zero with one line saying why when
# it cannot plot; the harness then writes its JSON and tables without plots.
set -euo pipefail
dir=${1:?usage: plot.sh DIR SCENARIO [LATENCY_TITLE] [BAR_UNIT]}
scenario=${2:?usage: plot.sh DIR SCENARIO [LATENCY_TITLE] [BAR_UNIT]}
latency_title=${3:-$scenario latency}
bar_unit=${4:-}

if ! command -v gnuplot >/dev/null 2>&1; then
    if [[ "${FLASHWAL_PLOT_NO_INSTALL:-0}" == 1 ]]; then
        echo "gnuplot is not installed and installing is off (--quick / FLASHWAL_PLOT_NO_INSTALL=1); run bench/plot.sh without it, or apt-get install gnuplot-nox" >&2
        exit 3
    fi
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        echo "gnuplot is not installed and cannot be installed here (needs root and apt-get): apt-get install gnuplot-nox" >&2
        exit 3
    fi
    echo "installing gnuplot-nox (Debian) ..." >&2
    if ! { apt-get install -y -qq gnuplot-nox >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq gnuplot-nox >/dev/null 2>&1; }; }; then
        echo "gnuplot is not installed and 'apt-get install -y gnuplot-nox' failed" >&2
        exit 3
    fi
fi

# Plot from inside the results folder, so that the SVGs name their data files without this machine's paths.
cd "$dir"
latency="$scenario-latency.dat"
if [[ -f "$latency" ]]; then
    series=$(grep -c '^"' "$latency")
    gnuplot <<GP
set terminal svg size 900,640 dynamic enhanced font 'sans,11' background '#ffffff'
set output '$scenario-latency.svg'
set title "$latency_title"
set logscale xy
set xlabel 'percentile (log scale of 1/(1-p))'
set ylabel 'latency (ns, log scale)'
set format y '%.0f'
set xtics ('p50' 2, 'p90' 10, 'p99' 100, 'p99.9' 1000, 'p99.99' 10000, 'max' 100000)
set xrange [1.5:200000]
set grid xtics ytics mytics
set key below maxrows 4
set size ratio 0.55
plot for [i=0:$((series - 1))] '$latency' index i using (\$1 >= 20000 ? 100000 : \$1):2 with linespoints lw 2 pt 7 title columnheader(1)
GP
fi

bars="$scenario-throughput.dat"
if [[ -f "$bars" ]]; then
    gnuplot <<GP
set terminal svg size 900,480 dynamic enhanced font 'sans,11' background '#ffffff'
set output '$scenario-throughput.svg'
set title "$scenario: $bar_unit"
set style fill solid 0.7 border -1
set boxwidth 0.6
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set grid ytics
set xtics nomirror scale 0
set bmargin 4
unset key
plot '$bars' using 0:2:xtic(1) with boxes, '' using 0:2:(sprintf("%.2f", \$2)) with labels offset 0,0.7
GP
fi
echo "plotted $scenario into $dir"
