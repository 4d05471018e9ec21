#!/usr/bin/env bash
# End-to-end comparison on one generated capture: portnote summary (1 thread and default
# threads) against tshark, tcpdump and ndpiReader, run in alternation for several rounds.
# Prints per tool the median wall time, packets per second, the ratio to
# `portnote --threads 1`, and the largest peak RSS (/usr/bin/time %M). Two first rows relate
# the others to this machine's speed (shared machines drift by tens of percent): `read-only`,
# `dd bs=256k` copying the file to /dev/null, the read() cost every tool pays; and `read+walk`,
# examples/walk.rs reading 256 KiB chunks and walking the records in place, the floor of any
# capture reader and the yardstick issue 6 set its targets by.
#
# usage: benches/compare.sh [-n PACKETS] [-r ROUNDS] [-s SNAPLEN] [-d DIR] [-k]
#   -n PACKETS  frames in the synthetic capture (default 1000000; mean frame 760 B)
#   -r ROUNDS   rounds; each runs every tool once, in rotated order (default 5)
#   -s SNAPLEN  cut frames to SNAPLEN bytes, e.g. 128 for a headers-only capture
#   -d DIR      where the capture is written (default: a temporary directory)
#   -k          keep the capture
#
# The page cache is warmed before every run, so every tool reads from memory: this measures
# packet processing, not the disk. (Once per round was not enough here: after tshark's 5 GB the
# kernel had dropped part of a 7 GB capture, and the next tool read it from disk.)
set -euo pipefail

packets=1000000
rounds=5
snaplen=262144
dir=""
keep=0
while getopts "n:r:s:d:kh" opt; do
    case "$opt" in
        n) packets=$OPTARG ;;
        r) rounds=$OPTARG ;;
        s) snaplen=$OPTARG ;;
        d) dir=$OPTARG ;;
        k) keep=1 ;;
        *) sed -n '2,16p' "$0"; exit 2 ;;
    esac
done

for tool in tshark tcpdump ndpiReader /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "compare.sh: $tool is not installed" >&2; exit 2; }
done

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
(cd "$root" && cargo build --release --quiet --bin portnote --example synth --example walk)
portnote=$target/release/portnote
synth=$target/release/examples/synth
walk=$target/release/examples/walk

if [[ -z $dir ]]; then
    dir=$(mktemp -d)
    [[ $keep == 1 ]] || trap 'rm -rf "$dir"' EXIT
fi
capture=$dir/compare-$packets-$snaplen.pcap
[[ -s $capture ]] || "$synth" --out "$capture" --packets "$packets" --snaplen "$snaplen" >&2
warm() { cat "$capture" >/dev/null; }

names=("read-only" "read+walk" "portnote-1t" "portnote" "annotate-json" "annotate-pcapng" "tshark-conv" "tcpdump" "ndpiReader")
command_of() {
    case "$1" in
        read-only) cmd=(dd if="$capture" of=/dev/null bs=256k status=none) ;;
        read+walk) cmd=("$walk" "$capture") ;;
        portnote-1t) cmd=("$portnote" summary --threads 1 --format json "$capture") ;;
        portnote) cmd=("$portnote" summary --format json "$capture") ;;
        # issue 16: writing the annotated pcapng against printing the same annotation as NDJSON
        # (both to /dev/null); the ratio of the two is printed after the table.
        annotate-json) cmd=("$portnote" annotate --format ndjson "$capture") ;;
        annotate-pcapng) cmd=("$portnote" annotate -w /dev/null "$capture") ;;
        tshark-conv) cmd=(tshark -q -z conv,tcp -r "$capture") ;;
        tcpdump) cmd=(tcpdump -r "$capture" -w /dev/null) ;;
        ndpiReader) cmd=(ndpiReader -q -i "$capture") ;;
    esac
}

declare -A times rss
for ((round = 0; round < rounds; round++)); do
    for ((i = 0; i < ${#names[@]}; i++)); do
        name=${names[$(((i + round) % ${#names[@]}))]}
        command_of "$name"
        warm
        start=$(date +%s%N)
        /usr/bin/time -f %M -o "$dir/rss" "${cmd[@]}" >/dev/null 2>"$dir/stderr" || {
            echo "compare.sh: $name failed: $(tail -n 3 "$dir/stderr")" >&2
            exit 1
        }
        end=$(date +%s%N)
        times[$name]+="$(((end - start) / 1000)) "
        kib=$(tail -n 1 "$dir/rss")
        if [[ -z ${rss[$name]:-} || $kib -gt ${rss[$name]} ]]; then rss[$name]=$kib; fi
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "capture: $packets packets, snaplen $snaplen, $(stat -L -c %s "$capture") bytes; $rounds rounds"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
base=$(echo "${times[portnote-1t]}" | median)
printf '| %-12s | %10s | %8s | %22s | %13s |\n' tool "median s" Mpps "time / portnote -t1" "peak RSS MiB"
printf '|%s|%s|%s|%s|%s|\n' -------------- ------------ ---------- ------------------------ ---------------
for name in "${names[@]}"; do
    us=$(echo "${times[$name]}" | median)
    awk -v n="$name" -v us="$us" -v p="$packets" -v base="$base" -v kib="${rss[$name]}" \
        'BEGIN { printf "| %-12s | %10.3f | %8.2f | %22.2f | %13.1f |\n", n, us / 1e6, p / us, us / base, kib / 1024 }'
done
ndjson=$(echo "${times[annotate-json]}" | median)
pcapng=$(echo "${times[annotate-pcapng]}" | median)
awk -v a="$pcapng" -v b="$ndjson" 'BEGIN { printf "annotate -w pcapng / --format ndjson: %.2f (issue 16 allows 1.25)\n", a / b }'
