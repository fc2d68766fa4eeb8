#!/usr/bin/env bash
# Runs each cargo-fuzz target for a bounded time: scripts/fuzz.sh [SECONDS per target, default 60].
# Exits non-zero when a target crashes (the input is left in fuzz/artifacts/TARGET/).
# cargo fuzz needs nightly flags (-Z sanitizer); RUSTC_BOOTSTRAP=1 lets the stable toolchain
# accept them.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
targets=(policy_file consent_json)
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

echo "== building the fuzz targets"
cargo fuzz build

status=0
for target in "${targets[@]}"; do
    corpus="fuzz/corpus/$target"
    mkdir -p "$corpus"
    # The committed seeds (valid files and bodies) start the corpus.
    if [ -d "fuzz/seeds/$target" ]; then
        cp -n fuzz/seeds/"$target"/* "$corpus"/ 2>/dev/null || true
    fi
    echo "== $target for ${seconds}s"
    if ! cargo fuzz run "$target" "$corpus" -- \
        -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1; then
        echo "FAIL: $target crashed; reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run $target fuzz/artifacts/$target/<file>" >&2
        status=1
    fi
done
exit "$status"
