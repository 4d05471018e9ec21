#!/usr/bin/env bash
# Regenerates the golden outputs that tests/golden_outputs.rs compares against, from a
# REFERENCE build: the commit before issue 12's restructuring (1ac165c), so that the test
# shows the restructured code prints what the old code printed. Do not run it with the build
# under test: that would only compare the code with itself.
#
#   git worktree add /tmp/ref 1ac165c && (cd /tmp/ref && cargo build) \
#     && tests/golden/generate.sh /tmp/ref/target/debug/portnote
set -euo pipefail
reference=$(realpath "$1")
golden=$(realpath "$(dirname "$0")")
cd "$golden/../../../shared/captures/public"
rm -rf "$golden/summary" "$golden/annotate"
mkdir -p "$golden/summary" "$golden/annotate"
for capture in *; do
    case "$capture" in *.oracle.tsv | *.tcpdump.txt | *.md) continue ;; esac
    # Run where the capture is, so the outputs name it without a directory.
    "$reference" summary --format json "$capture" > "$golden/summary/$capture.json"
    "$reference" annotate --format ndjson "$capture" | gzip -9n > "$golden/annotate/$capture.ndjson.gz"
done
# Later, deliberate changes edited into the golden files (each verified to be the only difference):
# - issue 13 item 9: the embedded snapshot carries IANA's unauthorized-use notes, so
#   pcapplusplus--frag_with_padding.pcap's 42102/udp (in IANA's 41798-42507 row, "Unauthorized
#   Use Known on port 42000") has that note in summary and annotate.
# - issue 14 (the service-side rule): every annotate record gains "evidence", every summary
#   "flows_by_evidence"; flows whose side the new rank order or tie-breaks (fan-in, first packet,
#   port order) change move in many_interfaces-1, sctp-max-chunks, dccp_options-oobr,
#   sctp-i-forward, sctp-re-config, tunnels_Teredo (rows and records) and tunnels_gre-sample
#   (equal-port records' server only). Written by the branch's own build (adf46f9) and checked
#   byte for byte against the merged build (less the LATER_FIELDS of golden_outputs.rs).
# - issue 18 (branch html): summary/ regenerated with that branch's pre-merge build (bd920bc,
#   1ac165c plus the feature) for the `timeline` key and the rows' `clients` and
#   `clients_truncated` fields; each file checked equal to the old golden without those keys.
