#!/usr/bin/env bash
# Fuzz smoke run, for CI (.ci/run calls it) and by hand: builds every fuzz target once on the
# stable toolchain, then runs each for FUZZ_SECONDS (default 8) seconds; with the build (about
# 2.5 minutes on a busy 2-core machine, mostly dependencies) that stays under 4 minutes. A
# crash, a failed check or an input slower than 10 s fails the run (libFuzzer saves the input
# under fuzz/artifacts/TARGET/). When cargo-fuzz is missing it is installed; when that fails the
# smoke is skipped with a loud message, not failed. See fuzz/README.md.
#
# Corpora: each target reads its committed seeds (fuzz/seeds/TARGET, read-only) and a working
# corpus fuzz/corpus/TARGET (git-ignored) that collects what the fuzzer finds. The working
# corpora are also filled here with the bundled captures, and, when ../shared is present, with
# its small reference captures and the first lines of the IANA registry files.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-8}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: cargo-fuzz is missing; running: cargo install cargo-fuzz --locked"
    if ! cargo install cargo-fuzz --locked; then
        echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
        echo "!!! fuzz: SKIPPED: cargo-fuzz could not be installed; NO fuzzing was done.    !!!" >&2
        echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
        exit 0
    fi
fi

# --sanitizer none: AddressSanitizer needs a nightly compiler, and portnote forbids unsafe
# code, so what it would catch cannot happen. -O -a: optimized, with overflow checks and
# debug assertions kept, so arithmetic overflow on a wire value is a crash, not a wrap.
flags=(-O -a --sanitizer none)
cargo fuzz build "${flags[@]}"

targets=$(cargo fuzz list)
for target in $targets; do
    mkdir -p "fuzz/corpus/$target"
done

# Files are copied by content, so re-running adds nothing twice.
for capture in captures/*.pcap captures/*.pcapng; do
    case "$capture" in
        *.pcapng) cp "$capture" fuzz/corpus/pcapng_reader/ ;;
        *) cp "$capture" fuzz/corpus/pcap_reader/ ;;
    esac
done
if [ -d ../shared ]; then
    for capture in ../shared/captures/public/*.pcap ../shared/captures/public/*.pcapng; do
        [ "$(stat -c %s "$capture")" -le 65536 ] || continue
        case "$capture" in
            *.pcapng) cp "$capture" fuzz/corpus/pcapng_reader/ ;;
            *) cp "$capture" fuzz/corpus/pcap_reader/ ;;
        esac
    done
    head -n 40 ../shared/registry/service-names-port-numbers.csv \
        >fuzz/corpus/registry_csv/shared-head.csv
    head -c 6000 ../shared/registry/service-names-port-numbers.xml \
        >fuzz/corpus/registry_xml/shared-head.xml
else
    echo "fuzz: ../shared is absent; the corpora hold the committed seeds and captures/ only"
fi

mkdir -p fuzz/artifacts
for target in $targets; do
    echo "fuzz: $target for ${seconds}s"
    log="fuzz/artifacts/$target.log"
    if cargo fuzz run "${flags[@]}" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -max_len=65536 >"$log" 2>&1; then
        grep -E '^Done [0-9]+ runs' "$log" || true
    else
        tail -n 40 "$log" >&2
        echo "fuzz: $target FAILED; the input is in fuzz/artifacts/$target/, the log in $log" >&2
        exit 1
    fi
done
echo "fuzz: smoke passed: $(wc -w <<<"$targets") targets, ${seconds}s each"
