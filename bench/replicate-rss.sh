#!/usr/bin/env bash
# Peak resident memory of `sluice replicate` while one transaction inserts ~256 MB, then a restore
# that must hold every row. Not a test: prints figures. Runs Litestream the same way when a
# `litestream` binary is on PATH. Usage: bench/replicate-rss.sh [MB]   (default 256)
set -euo pipefail
cd "$(dirname "$0")/.."
megabytes="${1:-256}"
root="$PWD"
writer="$root/Tests/IOTests/Fixtures/writer.py"

echo "bench: building sluice (release)"
swift build -c release --product sluice >/dev/null
sluice="$(swift build -c release --show-bin-path)/sluice"

out="$root/bench/out"
rm -rf "$out"
mkdir -p "$out"

# Prints the highest VmHWM (peak RSS, kB) seen for $1 until it exits, sampling every 100 ms.
watch_peak() {
    local pid=$1 peak=0 value
    while kill -0 "$pid" 2>/dev/null; do
        value=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        if [ -n "$value" ] && [ "$value" -gt "$peak" ]; then peak=$value; fi
        sleep 0.1
    done
    echo "$peak"
}

# Bytes under a directory (the replica), to see when uploads have stopped growing.
replica_bytes() { du -sb "$1" 2>/dev/null | awk '{print $1}'; }

# run_one NAME COMMAND...: replicate with COMMAND, write, wait for the replica to settle, stop.
run_one() {
    local name=$1; shift
    local dir="$out/$name"
    mkdir -p "$dir"
    python3 "$writer" "$dir/bench.db" init
    "$@" "$dir/bench.db" "file://$dir/replica" 2> "$dir/replicate.log" &
    local pid=$!
    local peak_file="$dir/peak"
    (watch_peak "$pid" > "$peak_file") &
    local watcher=$!
    sleep 1

    echo "bench: $name: writing one ${megabytes} MB transaction"
    python3 "$writer" "$dir/bench.db" small --count 10
    python3 "$writer" "$dir/bench.db" big --mb "$megabytes"

    # Caught up when the replica has stopped growing for 3 s (bounded by 10 minutes).
    local last=-1 stable=0 now
    for _ in $(seq 1 600); do
        now=$(replica_bytes "$dir/replica")
        if [ "$now" = "$last" ]; then stable=$((stable + 1)); else stable=0; fi
        last=$now
        [ $stable -ge 3 ] && break
        sleep 1
    done

    kill -TERM "$pid"
    local status=0
    wait "$pid" || status=$?
    wait "$watcher" || true
    if [ $status -ne 0 ]; then
        echo "bench: $name replicate exited with $status; log in $dir/replicate.log" >&2
        return 1
    fi
    local peak_kb
    peak_kb=$(cat "$peak_file")
    echo "peak RSS of $name replicate: $((peak_kb / 1024)) MB (replica $((last / 1048576)) MB)"

    # Restore and check every row arrived.
    case "$name" in
        sluice) "$sluice" restore -o "$dir/restored.db" "file://$dir/replica" >/dev/null ;;
        litestream) litestream restore -o "$dir/restored.db" "file://$dir/replica" ;;
    esac
    local source_rows restored_rows
    source_rows=$(python3 "$writer" "$dir/bench.db" count)
    restored_rows=$(python3 "$writer" "$dir/restored.db" count)
    if [ "$source_rows" = "$restored_rows" ]; then
        echo "bench: $name: restore holds all $restored_rows rows"
    else
        echo "bench: $name: error: restore holds $restored_rows rows, source has $source_rows" >&2
        return 1
    fi
}

run_one sluice "$sluice" replicate --sync-interval 1s
if command -v litestream >/dev/null 2>&1; then
    run_one litestream litestream replicate
else
    echo "bench: Litestream is not installed (no litestream on PATH); no comparison"
fi
