#!/usr/bin/env bash
# Table summary vs conntrack -L | awk | sort | uniq -c, on ONE real table, side by side.
#
# Builds a table of ENTRIES (default 500000) in a lab network namespace this script creates
# (bench/fill-table.py, over ctnetlink: no packet leaves the namespace; nothing is tracked in the
# initial one), then measures RUNS times (default 3), interleaved, on that same table:
#   ours   ConntrackTableSummarizer in a JVM with the agent's flags, under ip netns exec
#   peer   conntrack -L -o extended | awk | sort | uniq -c | sort -rn (the same breakdown)
#   floor  wc -l /proc/net/nf_conntrack (the kernel formatting the table, nothing else)
# and prints wall time (median), entries/s and peak RSS (/usr/bin/time; for the pipeline the sum
# of its stages' peaks), then checks that ours and the peer agree, and writes the section
# "Table summary vs conntrack -L | awk" of bench/RESULTS.md (replaced if present).
#
# nf_conntrack_max is global: raised to ENTRIES x 1.2 only when lower, under
# flock /tmp/conntrack-kernel.lock held for the whole run, and restored by the EXIT trap with
# the namespace deleted (its table goes with it). Every step runs under `timeout`.
# Needs root, iproute2, conntrack, python3, java 17, /usr/bin/time (Debian package `time`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ENTRIES=${ENTRIES:-500000}
RUNS=${RUNS:-3}
# What the agent DaemonSet runs with (AgentDaemonSetFactory): the figure that matters on a node.
AGENT_JVM_OPTS=${AGENT_JVM_OPTS:--Xmx32m -Xss256k -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:MaxMetaspaceSize=48m -XX:ReservedCodeCacheSize=16m}
LOCK=/tmp/conntrack-kernel.lock
MAX_FILE=/proc/sys/net/netfilter/nf_conntrack_max
NS="ct-bench-$$"
WORK="$(mktemp -d)"
CP="$ROOT/target/classes:$ROOT/target/test-classes"
MAIN=dev.conntrack.kernel.TableSummaryBenchMain

for tool in ip conntrack python3 java flock /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install iproute2 conntrack python3 time)" >&2; exit 1; }
done
[[ $(id -u) -eq 0 ]] || { echo "run as root (namespaces, nf_conntrack_max)" >&2; exit 1; }
if [[ ! -f target/test-classes/dev/conntrack/kernel/TableSummaryBenchMain.class ]]; then
  timeout 600 ./mvnw -B -q test-compile
fi

exec 9>"$LOCK"
echo "[bench] waiting for $LOCK" >&2
timeout 600 flock 9 || { echo "could not take $LOCK within 600 s" >&2; exit 1; }
ORIG_MAX=$(cat "$MAX_FILE")
cleanup() {
  ip netns del "$NS" 2>/dev/null || true
  if [[ "$(cat "$MAX_FILE")" != "$ORIG_MAX" ]]; then echo "$ORIG_MAX" > "$MAX_FILE"; fi
  rm -rf "$WORK"
  flock -u 9 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

NEED_MAX=$((ENTRIES * 6 / 5))
if (( ORIG_MAX < NEED_MAX )); then
  echo "$NEED_MAX" > "$MAX_FILE"
fi
ip netns add "$NS"
echo "[bench] filling $ENTRIES entries in $NS" >&2
timeout 600 ip netns exec "$NS" python3 bench/fill-table.py "$ENTRIES" >&2
COUNT=$(ip netns exec "$NS" cat /proc/sys/net/netfilter/nf_conntrack_count)
(( COUNT == ENTRIES )) || { echo "table holds $COUNT entries, wanted $ENTRIES" >&2; exit 1; }

# The peer: one awk pass emitting every category, then sort | uniq -c (LC_ALL=C: its fastest).
read -r -d '' AWK <<'EOF' || true
{
  if ($3 == "tcp") print "state " $6
  print "l4 " $3
  n = 0
  for (i = 6; i <= NF; i++) {
    if (substr($i, 1, 4) == "src=") { if (++n == 2) break; print "src " substr($i, 5) }
    else if (substr($i, 1, 4) == "dst=") print "dst " substr($i, 5)
    else if (substr($i, 1, 6) == "dport=") print "dport " $3 "/" substr($i, 7)
  }
  if (index($0, "[ASSURED]")) print "flag ASSURED"
  if (index($0, "[UNREPLIED]")) print "flag UNREPLIED"
}
EOF
export AWK WORK

now_ms() { date +%s%3N; }

run_ours() {
  local t0 t1
  t0=$(now_ms)
  timeout 120 ip netns exec "$NS" /usr/bin/time -f %M -o "$WORK/ours.mem" \
    java $AGENT_JVM_OPTS -cp "$CP" "$MAIN" > "$WORK/ours.out"
  t1=$(now_ms)
  echo "$((t1 - t0)) $(cat "$WORK/ours.mem") $(sed -n 's/^summarize_ms=//p' "$WORK/ours.out")"
}

run_peer() {
  local t0 t1
  t0=$(now_ms)
  timeout 120 ip netns exec "$NS" bash -c '
    set -o pipefail
    /usr/bin/time -f %M -o "$WORK/m1" conntrack -L -o extended 2>/dev/null \
      | /usr/bin/time -f %M -o "$WORK/m2" awk "$AWK" \
      | LC_ALL=C /usr/bin/time -f %M -o "$WORK/m3" sort \
      | /usr/bin/time -f %M -o "$WORK/m4" uniq -c \
      | LC_ALL=C /usr/bin/time -f %M -o "$WORK/m5" sort -rn > "$WORK/peer.out"'
  t1=$(now_ms)
  echo "$((t1 - t0)) $(( $(cat "$WORK/m1") + $(cat "$WORK/m2") + $(cat "$WORK/m3") + $(cat "$WORK/m4") + $(cat "$WORK/m5") ))"
}

run_floor() {
  local t0 t1
  t0=$(now_ms)
  timeout 120 ip netns exec "$NS" /usr/bin/time -f %M -o "$WORK/wc.mem" wc -l /proc/net/nf_conntrack > "$WORK/wc.out"
  t1=$(now_ms)
  echo "$((t1 - t0)) $(cat "$WORK/wc.mem")"
}

declare -a OURS_MS OURS_IN PEER_MS FLOOR_MS
OURS_KB=0; PEER_KB=0; FLOOR_KB=0
for ((r = 1; r <= RUNS; r++)); do
  read -r ms kb inproc < <(run_ours); OURS_MS+=("$ms"); OURS_IN+=("$inproc"); (( kb > OURS_KB )) && OURS_KB=$kb
  read -r ms kb < <(run_peer); PEER_MS+=("$ms"); (( kb > PEER_KB )) && PEER_KB=$kb
  read -r ms kb < <(run_floor); FLOOR_MS+=("$ms"); (( kb > FLOOR_KB )) && FLOOR_KB=$kb
  echo "[bench] run $r: ours ${OURS_MS[-1]} ms (summarize ${OURS_IN[-1]} ms), peer ${PEER_MS[-1]} ms, floor ${FLOOR_MS[-1]} ms" >&2
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
O=$(median "${OURS_MS[@]}"); OI=$(median "${OURS_IN[@]}"); P=$(median "${PEER_MS[@]}"); F=$(median "${FLOOR_MS[@]}")
rate() { awk -v n="$ENTRIES" -v ms="$1" 'BEGIN {printf "%.0f", n / (ms / 1000)}'; }
mib() { awk -v kb="$1" 'BEGIN {printf "%.1f", kb / 1024}'; }
RATIO=$(awk -v p="$P" -v o="$O" 'BEGIN {printf "%.1f", p / o}')
RATIO_FLOOR=$(awk -v o="$O" -v f="$F" 'BEGIN {printf "%.2f", o / f}')

# Do ours and the peer say the same? States, l4, flags, top sources and top destination ports.
peer_list() { awk -v k="$1" '$2 == k {print $3 ":" $1}' "$WORK/peer.out" | sort; }
ours_list() { sed -n "s/^$1=//p" "$WORK/ours.out" | tr ',' '\n' | sed '/^$/d' | sort; }
agree=yes
check() {
  local what=$1 ours peer
  ours=$(ours_list "$2" | head -n "$4"); peer=$(peer_list "$3" | head -n "$4")
  if [[ "$ours" != "$peer" ]]; then agree=no; echo "[bench] MISMATCH in $what:" >&2; diff <(echo "$ours") <(echo "$peer") >&2 || true; fi
}
check "TCP states" states state 100
check "l4 protocols" l4 l4 100
# Top lists: every item of ours above the ties (count > MIN) must have the same count in the
# peer's output, and the peer's largest counts must be those same counts (none missed).
ours_top() { sed -n "s/^$1=//p" "$WORK/ours.out" | tr ',' '\n' | awk -F: -v min="$2" '$2 + 0 > min {print $1 " " $2}'; }
for spec in "top_sources src 1000" "top_dports dport 100" "top_destinations dst 1000"; do
  read -r ok pk min <<< "$spec"
  mine=$(ours_top "$ok" "$min")
  k=$(printf '%s\n' "$mine" | sed '/^$/d' | wc -l)
  while read -r key count; do
    [[ -z "$key" ]] && continue
    theirs=$(awk -v k="$pk" -v key="$key" '$2 == k && $3 == key {print $1}' "$WORK/peer.out")
    [[ "$theirs" == "$count" ]] || { agree=no; echo "[bench] MISMATCH in $ok: $key ours $count, peer ${theirs:-none}" >&2; }
  done <<< "$mine"
  peer_counts=$(awk -v k="$pk" '$2 == k {print $1}' "$WORK/peer.out" | sort -rn | head -n "$k")
  our_counts=$(printf '%s\n' "$mine" | sed '/^$/d' | awk '{print $2}' | sort -rn)
  [[ "$peer_counts" == "$our_counts" ]] || { agree=no; echo "[bench] MISMATCH in $ok: largest counts differ" >&2; }
done
ASSURED_PEER=$(awk '$2 == "flag" && $3 == "ASSURED" {print $1}' "$WORK/peer.out")
UNREPLIED_PEER=$(awk '$2 == "flag" && $3 == "UNREPLIED" {print $1}' "$WORK/peer.out")
[[ "$(sed -n 's/^assured=//p' "$WORK/ours.out")" == "${ASSURED_PEER:-0}" ]] || { agree=no; echo "[bench] MISMATCH in ASSURED" >&2; }
[[ "$(sed -n 's/^unreplied=//p' "$WORK/ours.out")" == "${UNREPLIED_PEER:-0}" ]] || { agree=no; echo "[bench] MISMATCH in UNREPLIED" >&2; }

TABLE=$(cat <<EOF
| ($ENTRIES entries, median of $RUNS) | wall | entries/s | peak RSS |
|---|---|---|---|
| ours: ConntrackTableSummarizer, JVM with the agent's flags | $O ms | $(rate "$O") | $(mib "$OURS_KB") MiB |
| ours, inside summarize() (JVM start excluded) | $OI ms | $(rate "$OI") | |
| peer: \`conntrack -L -o extended \\| awk \\| sort \\| uniq -c \\| sort -rn\` | $P ms | $(rate "$P") | $(mib "$PEER_KB") MiB (sum of 5 stages) |
| floor: \`wc -l /proc/net/nf_conntrack\` | $F ms | $(rate "$F") | $(mib "$FLOOR_KB") MiB |
EOF
)
SUMMARY="peer / ours = ${RATIO}x (target >= 2x); ours / floor = ${RATIO_FLOOR}x; same breakdown as the peer: $agree"
echo
echo "$TABLE"
echo
echo "$SUMMARY"
echo
sed -n 's/^\(states\|top_sources\|top_dports\)=/ours \1: /p' "$WORK/ours.out" | cut -c1-200

SECTION=$(cat <<EOF
## Table summary vs conntrack -L | awk

\`bench/table-summary.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)),
kernel $(uname -r), $(java -version 2>&1 | head -1), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)
(other sessions share this machine: figures move with their load). One table of $ENTRIES entries built over
ctnetlink in a lab namespace (40% tcp TIME_WAIT, 20% ESTABLISHED, 30% udp UNREPLIED, 10% SYN_SENT;
two sources hold 35% and 15%), measured by the three tools in turn, $RUNS rounds.
Ours runs in a fresh JVM with the agent's flags (\`$AGENT_JVM_OPTS\`), so its wall time includes JVM
start; the peer gets its best case (mawk, \`LC_ALL=C sort\`, one awk pass for every category).

$TABLE

$SUMMARY. Agreement is checked on TCP states, protocols, ASSURED/UNREPLIED counts and every top
source, destination and port above the ties.
EOF
)
. "$ROOT/bench/results-section.sh"
write_section "Table summary vs conntrack -L | awk" "$SECTION"
RESULTS=bench/RESULTS.md
echo "[bench] wrote $RESULTS" >&2
[[ $agree == yes ]]
