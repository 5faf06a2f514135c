#!/usr/bin/env bash
# HTTP benchmark (docs/http.md): a ledger of 1,000,000 beneficiaries, lookups with wrk alone and
# while monthly batches over the whole ledger are computed, then enrolment throughput.
#
#   tools/bench_http.sh [WORK_DIR]      (default /tmp/chitra-bench-http)
#
# Needs a release build (cargo build --release) and wrk (apt-get install -y wrk). Set
# CHITRA_BENCH_REUSE=1 to keep an existing ledger in WORK_DIR instead of building it again.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/chitra-bench-http}
BIN=${CHITRA_BIN:-${CARGO_TARGET_DIR:-target}/release/chitra}
LOAD=${CHITRA_LOAD_BIN:-${CARGO_TARGET_DIR:-target}/release/chitra-http-load}
ADDR=127.0.0.1:${CHITRA_BENCH_PORT:-18080}
DURATION=${CHITRA_BENCH_SECONDS:-30}
CONNECTIONS=${CHITRA_BENCH_CONNECTIONS:-64}
DATA=$WORK/db
TOKENS=$WORK/tokens.json
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
[ -x "$BIN" ] && [ -x "$LOAD" ] || { echo "no release binaries at $BIN and $LOAD: cargo build --release" >&2; exit 2; }

if [ "${CHITRA_BENCH_REUSE:-0}" != 1 ] || [ ! -d "$DATA" ]; then
  rm -rf "$WORK"; mkdir -p "$WORK"
  echo "== building a ledger of 1,000,000 beneficiaries (2,000,000 events)"
  "$BIN" --data-dir "$DATA" bench append --events 2000000
  for role in officer maker checker auditor admin; do
    "$BIN" token add --role "$role" --name bench --tokens "$TOKENS" > "$WORK/$role.token"
  done
fi
tok() { cat "$WORK/$1.token"; }

echo "== serving"
CHITRA_LOG=${CHITRA_LOG:-warn} "$BIN" --data-dir "$DATA" serve --addr "$ADDR" --tokens "$TOKENS" \
  > "$WORK/serve.out" 2> "$WORK/serve.log" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -sf "http://$ADDR/healthz" >/dev/null && break
  sleep 0.5
done
curl -sf "http://$ADDR/healthz" >/dev/null || { echo "the server did not start" >&2; cat "$WORK/serve.log" >&2; exit 1; }

post() { # path token json [curl options...]
  local path=$1 token=$2 data=$3
  shift 3
  curl -sS -X POST "http://$ADDR$path" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$data" "$@"
}

echo "== rate schedules"
for f in ledger-data/rates/*.csv; do
  body=$(jq -n --arg name "$(basename "$f")" --rawfile content "$f" '{file_name: $name, content: $content}')
  post /v1/rate-schedules "$(tok admin)" "$body" | jq -c '{id: .id, count: .receipt.count}'
done

lookups() { # name [extra chitra-http-load options]
  local name=$1
  shift
  "$LOAD" --addr "$ADDR" --token "$(tok auditor)" --connections "$CONNECTIONS" --seconds "$DURATION" "$@" | tee "$WORK/$name.txt"
}

echo "== lookups alone: GET /v1/beneficiaries/B<random> (wrk -t2 -c$CONNECTIONS -d${DURATION}s)"
CHITRA_TOKEN=$(tok auditor) wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s tools/wrk/lookup.lua "http://$ADDR" | tee "$WORK/lookup-alone-wrk.txt"
echo "== the same with chitra-http-load ($CONNECTIONS connections, every latency kept)"
lookups lookup-alone

echo "== lookups with history: GET /v1/beneficiaries/B<random>?history=true (reads the person's records from the store)"
lookups lookup-history --query '?history=true'

echo "== lookups while the month's batches are computed"
MONTH=${CHITRA_BENCH_MONTH:-2025-08}
BATCHES=()
for p in NCC BTXH HTXH; do
  id=$(post /v1/batches "$(tok maker)" "{\"programme\":\"$p\",\"month\":\"$MONTH\",\"funding_account\":\"9527111222333\"}" | jq -r .id)
  BATCHES+=("$id")
done
(
  start=$(date +%s.%N)
  for b in "${BATCHES[@]}"; do
    t0=$(date +%s.%N)
    r=$(post "/v1/batches/$b/compute" "$(tok maker)" '{}' -H "Idempotency-Key: bench-$b")
    t1=$(date +%s.%N)
    echo "compute $b: $(echo "$r" | jq -c '{count: .receipt.count, first_seq: .receipt.first_seq}') in $(echo "$t1 - $t0" | bc) s"
  done
  echo "all batches computed in $(echo "$(date +%s.%N) - $start" | bc) s"
) > "$WORK/compute.txt" 2>&1 &
COMPUTE=$!
# Measured exactly while the computations run (the load stops when they are done).
lookups lookup-compute --seconds 600 --while-pid "$COMPUTE"
wait $COMPUTE
cat "$WORK/compute.txt"
for b in "${BATCHES[@]}"; do
  curl -sS "http://$ADDR/v1/batches?limit=10" -H "Authorization: Bearer $(tok auditor)" | jq -c ".items[] | select(.id == ${b#BATCH}) | {id, programme, status, payments}"
done

echo "== enrolment over HTTP: POST /v1/beneficiaries, 2 events each (wrk -t2 -c$CONNECTIONS -d${DURATION}s)"
CHITRA_TOKEN=$(tok officer) CHITRA_RUN=$(( $(date +%s) % 10 )) wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s tools/wrk/enrol.lua "http://$ADDR" | tee "$WORK/enrol.txt"
curl -sS "http://$ADDR/metrics" | grep -E '^chitra_writer_(groups|records|flush_seconds)' || true
grep -o 'VmHWM:.*' "/proc/$SERVER/status" || true
