#!/usr/bin/env bash
# Cost of one NetnsScanner pass: creates NAMESPACES (default 50) lab network namespaces with
# PROCS_PER_NS (default 3) sleeping processes each (as pods have a sandbox and containers), then
# times PASSES (default 200) scans of the whole node in one JVM with the agent's flags and prints
# the per-pass figures. Changes no global setting; the namespaces and processes are removed by the
# EXIT trap; every process is bounded (sleep 600, timeout).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
NAMESPACES=${NAMESPACES:-50}
PROCS_PER_NS=${PROCS_PER_NS:-3}
PASSES=${PASSES:-200}
AGENT_JVM_OPTS=${AGENT_JVM_OPTS:--Xmx32m -Xss256k -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:MaxMetaspaceSize=48m -XX:ReservedCodeCacheSize=16m}
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
if [[ ! -f target/test-classes/dev/conntrack/kernel/NetnsScanBenchMain.class ]]; then
  timeout 600 ./mvnw -B -q test-compile
fi
PREFIX="ct-scanbench-$$"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for ((i = 0; i < NAMESPACES; i++)); do ip netns del "$PREFIX-$i" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for ((i = 0; i < NAMESPACES; i++)); do
  ip netns add "$PREFIX-$i"
  for ((j = 0; j < PROCS_PER_NS; j++)); do
    ip netns exec "$PREFIX-$i" sleep 600 &
    PIDS+=($!)
  done
done
sleep 1
OUT=$(timeout 300 java $AGENT_JVM_OPTS -cp target/classes:target/test-classes dev.conntrack.kernel.NetnsScanBenchMain "$PASSES")
echo "$OUT"
get() { sed -n "s/^$1=//p" <<< "$OUT"; }
TABLE=$(cat <<TABLE
| namespaces | processes looked at | kernel threads skipped | pass median | p90 | max | first pass (cold JIT) |
|---|---|---|---|---|---|---|
| $(get namespaces) | $(get pids_scanned) | $(get kernel_threads_skipped) | $(get median_us) µs | $(get p90_us) µs | $(get max_us) µs | $(get first_pass_us) µs |
TABLE
)
echo
echo "$TABLE"
SECTION=$(cat <<EOT
## Network namespace scan (NetnsScanner)

\`bench/netns-scan.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, kernel $(uname -r), load average
$(cut -d' ' -f1-3 /proc/loadavg) (shared machine). $NAMESPACES lab namespaces with $PROCS_PER_NS
sleeping processes each plus the host's own processes; $PASSES passes in one JVM with the agent's
flags. A pass = one readlink per process, one stats read per namespace, cgroup reads for new ones.

$TABLE
EOT
)
. "$ROOT/bench/results-section.sh"
write_section "Network namespace scan (NetnsScanner)" "$SECTION"
echo "[bench] wrote bench/RESULTS.md" >&2
