#!/usr/bin/env bash
# Memory soak of `portnote live --metrics` (issue 17): one hour of traffic, compressed.
#
# The synthetic mix (100,000 packets, 20 s of traffic at 5,000 packets/s, 3,700 flows) is
# replayed with `tcpreplay --topspeed --loop 180` (180 x 20 s = 1 hour of traffic) into a veth
# pair between two network namespaces, `--unique-ip` giving every loop new addresses so every
# loop's flows are new flows (666,000 in all: the table fills to --max-flows and then evicts,
# as an hour of real traffic would churn it through idle timeouts). portnote captures on the
# far end with --quiet --metrics, and this script samples its VmRSS from /proc every second
# while scraping /metrics every second, as Prometheus would.
#
# Reports the RSS after warm-up (the first quarter of the replay, by then the flow table is
# full) and the largest RSS after it; exits 1 when that growth is 10 % or more.
#
#   sudo benches/soak.sh                  # needs root, ip, tcpreplay, curl
#   LOOPS=18 sudo benches/soak.sh         # a tenth of it, for a quick look
#
# Environment: LOOPS (180), WARMUP_SECONDS (a quarter of the run when unset), MAX_FLOWS (10000, portnote's --max-flows: every bounded table fills
# within the warm-up; with the default 100,000 the tied flows held for end-of-input settling,
# up to --max-flows records, fill only after four fifths of this hour, see benches/README.md), BIN (target/profiling/portnote, built when missing), OUT
# (target/soak: the capture, rss.tsv, the last scrape, portnote's stderr).
set -euo pipefail
cd "$(dirname "$0")/.."

loops=${LOOPS:-180}
max_flows=${MAX_FLOWS:-10000}
bin=${BIN:-target/profiling/portnote}
out=${OUT:-target/soak}
mkdir -p "$out"
for program in ip tcpreplay curl; do
    command -v "$program" >/dev/null || { echo "soak: $program is missing" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "soak: needs root (network namespaces, capture)" >&2; exit 2; }
[ -x "$bin" ] || cargo build --profile profiling
[ -s "$out/mix.pcap" ] || cargo run -q --example synth -- --packets 100000 --seed 7 --out "$out/mix.pcap"

tag=$$
a=pn-soak-$tag-a b=pn-soak-$tag-b va=pnsoak${tag}a vb=pnsoak${tag}b
live_pid=
cleanup() {
    [ -n "$live_pid" ] && kill "$live_pid" 2>/dev/null || true
    ip netns del "$a" 2>/dev/null || true
    ip netns del "$b" 2>/dev/null || true
}
trap cleanup EXIT
for ns in "$a" "$b"; do
    ip netns add "$ns"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add "$va" netns "$a" type veth peer name "$vb" netns "$b"
ip -n "$a" link set "$va" mtu 9000 up
ip -n "$b" link set "$vb" mtu 9000 up
ip -n "$b" link set lo up

# `ip netns exec` execs portnote: $! is portnote's own pid.
ip netns exec "$b" "$bin" live -i "$vb" --quiet --metrics 127.0.0.1:9185 \
    --max-flows "$max_flows" 2>"$out/live.err" &
live_pid=$!
for _ in $(seq 100); do grep -q "serving metrics" "$out/live.err" && break; sleep 0.1; done
grep -q "serving metrics" "$out/live.err" || { cat "$out/live.err" >&2; exit 2; }

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$live_pid/status"; }
echo -e "seconds\trss_kib" >"$out/rss.tsv"
started=$(date +%s.%N)
(
    while kill -0 "$live_pid" 2>/dev/null; do
        echo -e "$(echo "$(date +%s.%N) - $started" | bc)\t$(rss)" >>"$out/rss.tsv"
        ip netns exec "$b" curl -sf --max-time 2 -o "$out/metrics.txt" http://127.0.0.1:9185/metrics || true
        sleep 1
    done
) &
sampler=$!

echo "soak: replaying $out/mix.pcap $loops times at top speed"
ip netns exec "$a" tcpreplay -q --preload-pcap --topspeed --loop "$loops" --unique-ip -i "$va" "$out/mix.pcap" \
    | grep -E "Actual|Rated" || true
sleep 3
ip netns exec "$b" curl -sf -o "$out/metrics.txt" http://127.0.0.1:9185/metrics || true
kill -INT "$live_pid"
wait "$live_pid" || true
live_pid=
wait "$sampler" 2>/dev/null || true

metric() { awk -v m="$1" '$1 == m { print $2 }' "$out/metrics.txt"; }
echo "soak: portnote counted $(awk '/^portnote_packets_total/ { s += $2 } END { print s }' "$out/metrics.txt") packets with ports;" \
    "libpcap received $(metric portnote_capture_packets_received_total)," \
    "dropped $(metric portnote_capture_packets_dropped_total) (kernel)," \
    "flows evicted $(metric portnote_flows_evicted_total)"
# Warm-up: the first quarter of the samples, or the first WARMUP_SECONDS when set. Growth: the
# largest RSS after it against the RSS at its end.
awk -F'\t' -v warm="${WARMUP_SECONDS:-0}" 'NR > 1 && $2 != "" { t[n] = $1; r[n] = $2; n++ }
    END {
        if (n < 8) { print "soak: too few samples (" n ")"; exit 2 }
        w = int(n / 4)
        if (warm > 0) { for (w = 0; w < n - 1 && t[w] < warm; w++) ; }
        base = r[w]; peak = base
        for (i = w; i < n; i++) if (r[i] > peak) peak = r[i]
        growth = (peak - base) * 100 / base
        printf "soak: %d samples over %.0f s; RSS %d KiB after warm-up (%.0f s), peak after %d KiB, final %d KiB: growth %.1f %%\n",
            n, t[n-1], base, t[w], peak, r[n-1], growth
        exit (growth >= 10) ? 1 : 0
    }' "$out/rss.tsv"
