#!/usr/bin/env bash
# S3 requests by type during a steady workload: 200 small transactions per second for 60 s
# (configurable), replicated to moto's S3 server through a counting proxy, with sync-interval 1s.
# Sluice and Litestream v0.3.13 run one after the other in the same run. Not a test: prints
# figures. Steady state = the workload's window only (start-up listings and the generation's
# snapshot are counted separately).
# Usage: bench/s3-requests.sh [SECONDS] [RATE]          (defaults 60 and 200)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
rate="${2:-200}"
root="$PWD"
writer="$root/Tests/IOTests/Fixtures/writer.py"
proxy="$root/Tests/IOTests/Fixtures/fault_proxy.py"

./Scripts/test-tools >/dev/null
python="$root/.tools/venv/bin/python3"
litestream="$root/.tools/venv/bin/litestream"
echo "bench: building sluice (release)"
swift build -c release --product sluice >/dev/null
sluice="$(swift build -c release --show-bin-path)/sluice"

out="$root/bench/out/s3"
rm -rf "$out"
mkdir -p "$out"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

moto_port=$(free_port)
"$python" -m moto.server -H 127.0.0.1 -p "$moto_port" >"$out/moto.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$moto_port/" && break; sleep 0.1; done
curl -s -o /dev/null -X PUT "http://127.0.0.1:$moto_port/bench"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1

stats_field() { "$python" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["by_type"], sort_keys=True))' "$1"; }

# run_one NAME: replicate through a fresh counting proxy while the writer runs; prints counts.
run_one() {
    local name=$1 dir="$out/$1"
    mkdir -p "$dir"
    rm -f "$dir/proxy.port"
    python3 "$proxy" --upstream "http://127.0.0.1:$moto_port" --port-file "$dir/proxy.port" --stats "$dir/stats.json" &
    pids+=($!)
    for _ in $(seq 1 100); do [ -f "$dir/proxy.port" ] && break; sleep 0.1; done
    local endpoint="http://127.0.0.1:$(cat "$dir/proxy.port")"
    python3 "$writer" "$dir/app.db" init
    case "$name" in
        sluice)
            "$sluice" replicate --sync-interval 1s "$dir/app.db" \
                "s3://bench/$name?endpoint=$endpoint&region=us-east-1&force-path-style=true" 2>"$dir/replicate.log" &
            ;;
        litestream)
            cat > "$dir/litestream.yml" <<YAML
dbs:
  - path: $dir/app.db
    replicas:
      - type: s3
        bucket: bench
        path: $name
        endpoint: $endpoint
        region: us-east-1
        force-path-style: true
        sync-interval: 1s
YAML
            "$litestream" replicate -config "$dir/litestream.yml" >"$dir/replicate.log" 2>&1 &
            ;;
    esac
    local pid=$!
    pids+=($pid)
    sleep 3
    cp "$dir/stats.json" "$dir/before.json"
    local started=$(date +%s.%N)
    python3 "$writer" "$dir/app.db" small --count $((seconds * rate)) --rate "$rate"
    local ended=$(date +%s.%N)
    sleep 2
    cp "$dir/stats.json" "$dir/after.json"
    kill -TERM "$pid"
    wait "$pid" || true
    "$python" - "$name" "$dir/before.json" "$dir/after.json" "$started" "$ended" "$((seconds * rate))" <<'PY'
import json, sys
name, before, after, started, ended, count = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
b = json.load(open(before))["by_type"]; a = json.load(open(after))["by_type"]
steady = {k: a.get(k, 0) - b.get(k, 0) for k in sorted(set(a) | set(b)) if a.get(k, 0) - b.get(k, 0)}
window = ended - started
print(f"{name}: {count} transactions in {window:.1f} s ({count / window:.0f}/s)")
print(f"  start-up requests (before the workload): {json.dumps(b, sort_keys=True)}")
print(f"  steady-state requests by type:           {json.dumps(steady, sort_keys=True)}")
print(f"  steady state: LIST {steady.get('LIST', 0)}, WAL/snapshot PUT {steady.get('PUT', 0)} "
      f"({steady.get('PUT', 0) / (window + 2):.2f} per second at a 1 s sync interval), "
      f"lease renewals {steady.get('LEASE_PUT', 0)}, total {sum(steady.values())}")
PY
}

echo "bench: ${seconds} s at ${rate} transactions/s, sync-interval 1s, through a counting proxy to moto"
run_one sluice
run_one litestream || echo "bench: litestream run failed; see $out/litestream/replicate.log"
