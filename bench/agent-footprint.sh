#!/usr/bin/env bash
# Idle footprint of the node agent (CONNTRACK_ROLE=agent), measured against a real kube-apiserver.
#
#   bash bench/agent-footprint.sh [--window N] [--warmup N] [--variants] [--only a,b,...] [--list]
#                                 [--no-nmt] [--no-results] [--auth token|kubeconfig] [--label NAME]
#
# Starts its own local cluster (own directory and ports, see BENCH_* below), applies the CRDs,
# registers one Node, starts the operator (which creates the Node's ConntrackNodeState) and applies
# an ObserveOnly policy, then runs the agent with the DaemonSet's JVM options (DEFAULT_JAVA_OPTS in
# AgentDaemonSetFactory) and CONNTRACK_FORCE_OBSERVE_ONLY=true: nothing on this machine's kernel
# changes. After a warm-up it measures over a window: RSS (end and max), PSS, CPU ms per second,
# time per poll, threads, loaded classes, status writes per minute (agent metric and the
# kube-apiserver's own request counter). One extra short run with -XX:NativeMemoryTracking=summary
# breaks the chosen configuration's memory down. Prints one table and rewrites its section of
# bench/RESULTS.md. Always cleans up (processes, cluster) on exit.
#
# --variants runs the JVM variants one after the other on the same cluster (bench/agent-jvm-variants.sh
# is the same as --variants). --only picks variants by name (implies --variants); --list shows them.
# --label NAME writes the results to a block of their own in RESULTS.md (e.g. a long warm-up run).
#
# Environment: BENCH_CLUSTER_DIR (/tmp/conntrack-bench-cluster), BENCH_API_PORT (26443),
# BENCH_ETCD_PORT (33790), BENCH_METRICS_PORT (29402, first agent metrics port), JAVA17, JAVA25.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
COMMAND_LINE="bash bench/agent-footprint.sh${*:+ $*}"

WINDOW=60
WARMUP=20
MODE=default
ONLY=""
NMT=true
WRITE_RESULTS=true
AUTH=token
LIST=false
LABEL=""
while (($#)); do
  case "$1" in
    --window) WINDOW="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --variants) MODE=variants; shift ;;
    --only) MODE=variants; ONLY="$2"; shift 2 ;;
    --no-nmt) NMT=false; shift ;;
    --no-results) WRITE_RESULTS=false; shift ;;
    --auth) AUTH="$2"; shift 2 ;;
    --list) LIST=true; shift ;;
    --label) LABEL="$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$WINDOW" =~ ^[0-9]+$ && "$WINDOW" -ge 5 ]] || { echo "--window needs a number of seconds >= 5" >&2; exit 2; }
[[ "$WARMUP" =~ ^[0-9]+$ ]] || { echo "--warmup needs a number of seconds" >&2; exit 2; }
[[ "$AUTH" == token || "$AUTH" == kubeconfig ]] || { echo "--auth is token or kubeconfig" >&2; exit 2; }
[[ "$LABEL" =~ ^[a-zA-Z0-9_-]*$ ]] || { echo "--label takes letters, digits, - and _" >&2; exit 2; }

export CONNTRACK_CLUSTER_DIR="${BENCH_CLUSTER_DIR:-/tmp/conntrack-bench-cluster}"
export CONNTRACK_API_PORT="${BENCH_API_PORT:-26443}"
export CONNTRACK_ETCD_PORT="${BENCH_ETCD_PORT:-33790}"
METRICS_PORT_BASE="${BENCH_METRICS_PORT:-29402}"
JAVA17="${JAVA17:-$(readlink -f "$(command -v java)")}"
JAVA25="${JAVA25:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}"
APP="$ROOT/target/quarkus-app"
JAR="$APP/quarkus-run.jar"
NODE=bench-node
NAMESPACE=conntrack-system
CLK_TCK="$(getconf CLK_TCK)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$ROOT/bench/out/agent-footprint-$STAMP"
PKI="$CONNTRACK_CLUSTER_DIR/pki"
KUBECONFIG_FILE="$CONNTRACK_CLUSTER_DIR/kubeconfig"

# The options the agent had when the issue was opened: the reference the variants change one thing of.
BEFORE_OPTS="-Xmx32m -Xss256k -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:MaxMetaspaceSize=48m -XX:ReservedCodeCacheSize=16m"

log() { echo "[agent-footprint] $*" >&2; }
die() { log "$*"; exit 1; }

# DEFAULT_JAVA_OPTS as written in AgentDaemonSetFactory (string literals joined, "+" allowed).
default_java_opts() {
  awk '/DEFAULT_JAVA_OPTS *=/{f=1} f{print} f && /;/{exit}' \
      "$ROOT/src/main/java/dev/conntrack/operator/AgentDaemonSetFactory.java" \
    | grep -o '"[^"]*"' | tr -d '"' | paste -sd '' | tr -s ' ' | sed 's/^ //; s/ $//'
}
DEFAULT_OPTS="$(default_java_opts)"
[[ -n "$DEFAULT_OPTS" ]] || die "cannot read DEFAULT_JAVA_OPTS from AgentDaemonSetFactory.java"
# Environment of the agent container that shapes its footprint (glibc), as the DaemonSet template sets it.
daemonset_env() {
  awk '/- name: MALLOC_[A-Z_]+$/ { n = $3; next }
       n != "" && /value:/ { v = $2; gsub(/"/, "", v); printf "%s=%s ", n, v }
       { n = "" }' "$ROOT/src/main/resources/agent-daemonset.yaml" | sed 's/ $//'
}
DEFAULT_ENV="$(daemonset_env)"

# Variants: name | JDK (17/25) | launch (launcher: java -cp app/* dev.conntrack.agent.AgentLauncher as the
# DaemonSet does; jar: java -jar quarkus-run.jar, the image's entrypoint, which the agent used before; cp: plain
# class path, no Quarkus RunnerClassLoader; idle: a main() that only sleeps, the JVM's own floor) | CDS (none/auto: a training run writes a dynamic
# archive first) | extra environment (@DSENV@: the DaemonSet template's MALLOC_* variables; AUTH=kubeconfig: authenticate with the kubeconfig instead of a
# service account token) | JVM options (@DEFAULT@ and @BEFORE@ are expanded).
VARIANTS=(
  "default|17|launcher|none|@DSENV@|@DEFAULT@"
  "default-jar|17|jar|none|@DSENV@|@DEFAULT@"
  "before|17|jar|none||@BEFORE@"
  "before+arena2|17|jar|none|MALLOC_ARENA_MAX=2|@BEFORE@"
  "before+code8m|17|jar|none||@BEFORE@ -XX:ReservedCodeCacheSize=8m -XX:CICompilerCount=1"
  "before+heapfree|17|jar|none||@BEFORE@ -XX:MaxHeapFreeRatio=20 -XX:MinHeapFreeRatio=5"
  "before+xms8m|17|jar|none||@BEFORE@ -Xms8m -XX:MaxHeapFreeRatio=20 -XX:MinHeapFreeRatio=5"
  "before-xss|17|jar|none||-Xmx32m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:MaxMetaspaceSize=48m -XX:ReservedCodeCacheSize=16m"
  "before-c1only|17|jar|none||-Xmx32m -Xss256k -XX:+UseSerialGC -XX:MaxMetaspaceSize=48m -XX:ReservedCodeCacheSize=16m"
  "before+trim|17|jar|none||@BEFORE@ -XX:TrimNativeHeapInterval=10000"
  "before+xint|17|jar|none||@BEFORE@ -Xint"
  "jdk25|25|jar|none||@BEFORE@"
  "jdk25+coh|25|jar|none||@BEFORE@ -XX:+UseCompactObjectHeaders"
  "jdk25+coh+cds|25|jar|auto||@BEFORE@ -XX:+UseCompactObjectHeaders"
  "default+kubeconfig|17|launcher|none|@DSENV@ AUTH=kubeconfig|@DEFAULT@"
  "default-cds|17|launcher|none|@DSENV@|@DEFAULT@ -Xshare:off"
  "default+code8m|17|launcher|none|@DSENV@|@DEFAULT@ -XX:ReservedCodeCacheSize=8m"
  "default+cp|17|cp|none|@DSENV@|@DEFAULT@"
  "jvm-floor|17|idle|none|@DSENV@|@DEFAULT@"
  "default+xmn3m|17|launcher|none|@DSENV@|@DEFAULT@ -Xmn3m"
  "default+scale01|17|launcher|none|@DSENV@|@DEFAULT@ -XX:CompileThresholdScaling=0.1"
  "default+scaleapp|17|launcher|none|@DSENV@|@DEFAULT@ -XX:CompileCommand=quiet -XX:CompileCommand=CompileThresholdScaling,dev.conntrack.*::*,0.1"
  "default+perf50ms|17|launcher|none|@DSENV@|@DEFAULT@ -XX:PerfDataSamplingInterval=50"
  "jdk25+coh+cds+cp|25|cp|auto|@DSENV@|@DEFAULT@ -XX:+UseCompactObjectHeaders"
)
if $LIST; then
  for v in "${VARIANTS[@]}"; do
    IFS='|' read -r n jdk launch cds env opts <<<"$v"
    opts="${opts//@DEFAULT@/$DEFAULT_OPTS}"; opts="${opts//@BEFORE@/$BEFORE_OPTS}"; env="${env//@DSENV@/$DEFAULT_ENV}"
    printf '%-20s JDK %s, %s, cds=%s %s %s\n' "$n" "$jdk" "$launch" "$cds" "${env:+env $env}" "$opts"
  done
  exit 0
fi

SELECTED=()
if [[ "$MODE" == default ]]; then
  SELECTED=("${VARIANTS[0]}")
else
  for v in "${VARIANTS[@]}"; do
    n="${v%%|*}"
    if [[ -z "$ONLY" || ",$ONLY," == *",$n,"* ]]; then SELECTED+=("$v"); fi
  done
  ((${#SELECTED[@]})) || die "no variant matches --only $ONLY (see --list)"
fi

# ---------------------------------------------------------------- processes and cleanup
PIDS=()
cleanup() {
  local rc=$?
  set +e
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if [[ -f "$CONNTRACK_CLUSTER_DIR/apiserver.pid" || -f "$CONNTRACK_CLUSTER_DIR/etcd.pid" ]]; then
    hack/cluster.sh down >/dev/null 2>&1
  fi
  rm -rf "$CONNTRACK_CLUSTER_DIR"
  ((rc == 0)) || log "failed (exit $rc); logs in $OUT"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

alive() { kill -0 "$1" 2>/dev/null; }

stop_pid() {
  local pid="$1"
  alive "$pid" || return 0
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
  alive "$pid" && kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
  return 0
}

forget_pid() {
  local keep=() p
  for p in "${PIDS[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- preconditions
[[ -x "$JAVA17" ]] || die "no java at $JAVA17"
if [[ -f "$CONNTRACK_CLUSTER_DIR/apiserver.pid" ]] && kill -0 "$(cat "$CONNTRACK_CLUSTER_DIR/apiserver.pid")" 2>/dev/null; then
  trap - EXIT
  die "a cluster already runs in $CONNTRACK_CLUSTER_DIR: stop it (CONNTRACK_CLUSTER_DIR=$CONNTRACK_CLUSTER_DIR hack/cluster.sh down) or set BENCH_CLUSTER_DIR"
fi
for p in "$CONNTRACK_API_PORT" "$CONNTRACK_ETCD_PORT" "$((CONNTRACK_ETCD_PORT + 10))"; do
  port_free "$p" || { trap - EXIT; die "port $p is in use: set BENCH_API_PORT / BENCH_ETCD_PORT"; }
done
for v in "${SELECTED[@]}"; do
  [[ "$(cut -d'|' -f2 <<<"$v")" != 25 || -x "$JAVA25" ]] || die "variant ${v%%|*} needs JDK 25 at $JAVA25 (set JAVA25)"
done
command -v curl >/dev/null || die "curl is required"
rm -rf "$CONNTRACK_CLUSTER_DIR"
mkdir -p "$OUT"

if [[ ! -f "$JAR" || -n "$(find src pom.xml -newer "$JAR" -type f 2>/dev/null | head -n 1)" ]]; then
  log "building the artifact (./mvnw package)"
  ./mvnw -B -q package -DskipTests
fi
BINDIR="$(hack/build-test-binaries.sh | tail -n 1)"
KUBECTL="$BINDIR/kubectl"
kubectl_() { "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

# ---------------------------------------------------------------- cluster, CRDs, node, operator, policy
log "cluster in $CONNTRACK_CLUSTER_DIR (API :$CONNTRACK_API_PORT, etcd :$CONNTRACK_ETCD_PORT); logs in $OUT"
hack/cluster.sh up 2>"$OUT/cluster.log" >/dev/null || { cat "$OUT/cluster.log" >&2; die "cluster did not start"; }
kubectl_ apply --server-side -f crds/ >/dev/null
kubectl_ wait --for condition=established --timeout=60s \
  crd/conntrackpolicies.conntrack.dev crd/conntracknodestates.conntrack.dev >/dev/null
kubectl_ create namespace "$NAMESPACE" >/dev/null
cat <<EOF | kubectl_ apply -f - >/dev/null
apiVersion: v1
kind: Node
metadata:
  name: $NODE
  labels:
    kubernetes.io/hostname: $NODE
    kubernetes.io/os: linux
EOF
kubectl_ patch node "$NODE" --subresource=status --type=merge \
  -p "{\"status\":{\"capacity\":{\"cpu\":\"$(nproc)\",\"memory\":\"$(awk '/MemTotal/{print $2}' /proc/meminfo)Ki\"}}}" >/dev/null

# The agent authenticates like in a pod: a service account token and the cluster CA, no kubeconfig.
kubectl_ create serviceaccount conntrack-agent -n "$NAMESPACE" >/dev/null
kubectl_ create clusterrolebinding conntrack-agent-bench --clusterrole=cluster-admin \
  --serviceaccount="$NAMESPACE:conntrack-agent" >/dev/null
TOKEN="$(kubectl_ create token conntrack-agent -n "$NAMESPACE" --duration=24h)"

OPERATOR_JAVA_OPTS="-Xmx128m"
CONNTRACK_ROLE=operator KUBECONFIG="$KUBECONFIG_FILE" CONNTRACK_AGENT_NAMESPACE="$NAMESPACE" \
  "$JAVA17" $OPERATOR_JAVA_OPTS -jar "$JAR" >"$OUT/operator.log" 2>&1 &
OPERATOR_PID=$!
PIDS+=("$OPERATOR_PID")

cat <<EOF | kubectl_ apply -f - >/dev/null
apiVersion: conntrack.dev/v1alpha1
kind: ConntrackPolicy
metadata:
  name: bench
spec:
  nodeSelector: {}
  priority: 0
  mode: ObserveOnly
  driftPolicy: Reapply
  conntrack:
    maxPerCore: 65536
    min: 262144
    tcpTimeWait: 30s
    tcpCloseWait: 1h
    tcpEstablished: 24h
  monitoring:
    usageWarningPercent: 80
    pollInterval: 1s
EOF
for n in $(seq 1 120); do
  kubectl_ get conntracknodestate "$NODE" >/dev/null 2>&1 && break
  alive "$OPERATOR_PID" || { tail -20 "$OUT/operator.log" >&2; die "the operator exited"; }
  ((n < 120)) || die "the operator did not create the node state in 60 s (see $OUT/operator.log)"
  sleep 0.5
done
GENERATION="$(kubectl_ get conntracknodestate "$NODE" -o jsonpath='{.metadata.generation}')"
log "operator up, node state $NODE exists (generation $GENERATION)"

# ---------------------------------------------------------------- measuring helpers
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
pss_kb() { awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo ""; }
# "anon file" kB of the RSS (RssAnon: heap, metaspace, malloc, stacks; RssFile: libjvm, CDS archive, other mapped files)
rss_split_kb() { awk '/^RssAnon:/{a=$2} /^RssFile:/{f=$2} /^RssShmem:/{f+=$2} END{print a + 0, f + 0}' "/proc/$1/status" 2>/dev/null || echo "0 0"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Per-thread CPU time in ns from schedstat (clock ticks are too coarse for threads that run a
# few ms per minute): "tid ns comm" lines (thread names may contain spaces).
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    echo "${t##*/} $(awk '{print $1}' "$t/schedstat" 2>/dev/null) $(cat "$t/comm" 2>/dev/null)"
  done 2>/dev/null
}

# CPU ms/s of each thread between two thread_ticks snapshots, busiest first (threads born in the
# window count from 0; threads that ended in it are missing).
thread_cpu() {
  awk -v el="$3" 'NR == FNR { before[$1] = $2; next }
    { name = $0; sub(/^[0-9]+ [0-9]+ /, "", name); d = $2 - before[$1]; if (d > 0) printf "%.2f %s\n", d / 1e6 / el, name }' \
    "$1" "$2" | sort -rn
}

# CPU ticks of the JIT compiler threads (C1/C2 CompilerThreadN), included in cpu_ticks.
jit_ticks() {
  local t s=0
  for t in /proc/"$1"/task/*; do
    [[ "$(cat "$t/comm" 2>/dev/null)" == *CompilerThre* ]] && s=$((s + $(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0)))
  done
  echo "$s"
}
threads() { { ls "/proc/$1/task" 2>/dev/null || true; } | wc -l; }
mib() { awk -v k="$1" 'BEGIN{ if (k == "") print "n/a"; else printf "%.1f", k / 1024 }'; }

metric() { # metric <port> <name>: the sample's value, empty if absent
  { curl -sf --max-time 3 "http://127.0.0.1:$1/metrics" 2>/dev/null || true; } | awk -v n="$2" '$1 == n {print $2; exit}'
}

apiserver_status_patches() {
  { curl -sf --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
      "https://127.0.0.1:$CONNTRACK_API_PORT/metrics" 2>/dev/null || true; } \
    | awk '/^apiserver_request_total\{/ && /resource="conntracknodestates"/ && /subresource="status"/ && /verb="PATCH"/ {s += $NF} END {print s + 0}'
}

jcmd_for() { echo "$(dirname "$1")/jcmd"; }

# start_agent <name> <java> <launch> <port> <state dir> <log> <env...> -- <jvm options...>
# Starts it in the background (a child of this shell) and sets AGENT_PID.
AGENT_PID=""
start_agent() {
  local name="$1" java="$2" launch="$3" port="$4" state="$5" logf="$6"; shift 6
  local envs=()
  while (($#)) && [[ "$1" != -- ]]; do envs+=("$1"); shift; done
  shift
  local auth_env=()
  if [[ "${VARIANT_AUTH:-$AUTH}" == token ]]; then
    auth_env=(KUBERNETES_MASTER="https://127.0.0.1:$CONNTRACK_API_PORT" KUBERNETES_AUTH_TOKEN="$TOKEN"
      KUBERNETES_CERTS_CA_FILE="$PKI/ca.crt" KUBERNETES_AUTH_TRYKUBECONFIG=false
      KUBERNETES_AUTH_TRYSERVICEACCOUNT=false KUBECONFIG=/nonexistent)
  else
    auth_env=(KUBECONFIG="$KUBECONFIG_FILE")
  fi
  local main=(-jar "$JAR")
  # launcher: the DaemonSet's container command (agent-daemonset.yaml), the application jar and AgentLauncher.
  [[ "$launch" == launcher ]] && main=(-cp "$APP/app/*" dev.conntrack.agent.AgentLauncher)
  [[ "$launch" == cp ]] && main=(-cp "$APP/app/*:$APP/lib/main/*" dev.conntrack.Main)
  [[ "$launch" == idle ]] && main=(-cp "$OUT/idle" Idle)
  mkdir -p "$state"
  env -u JAVA_TOOL_OPTIONS -u JDK_JAVA_OPTIONS -u _JAVA_OPTIONS "${auth_env[@]}" "${envs[@]}" \
    CONNTRACK_ROLE=agent NODE_NAME="$NODE" CONNTRACK_STATE_DIR="$state" CONNTRACK_METRICS_PORT="$port" \
    CONNTRACK_FORCE_OBSERVE_ONLY=true \
    "$java" "$@" "${main[@]}" >"$logf" 2>&1 &
  AGENT_PID=$!
  PIDS+=("$AGENT_PID")
}

# wait_ready <pid> <port> <log>: metrics answer and one status write went through
wait_ready() {
  local pid="$1" port="$2" logf="$3" i
  for i in $(seq 1 120); do
    alive "$pid" || { tail -20 "$logf" >&2; return 1; }
    local w
    w="$(metric "$port" conntrack_agent_status_writes_total)"
    [[ -n "$w" ]] && awk -v w="$w" 'BEGIN{exit !(w >= 1)}' && return 0
    sleep 0.5
  done
  log "agent not ready after 60 s (see $logf)"
  return 1
}

# ---------------------------------------------------------------- one measured run
ROWS=()
# measure <variant spec> [<index>]
measure() {
  IFS='|' read -r name jdk launch cds envs opts <<<"$1"
  local idx="$2"
  opts="${opts//@DEFAULT@/$DEFAULT_OPTS}"; opts="${opts//@BEFORE@/$BEFORE_OPTS}"; envs="${envs//@DSENV@/$DEFAULT_ENV}"
  local java="$JAVA17"; [[ "$jdk" == 25 ]] && java="$JAVA25"
  local port=$((METRICS_PORT_BASE + idx))
  local safe="${name//[^a-zA-Z0-9_.-]/_}"
  local dir="$OUT/$safe"
  mkdir -p "$dir"
  local -a jvm_opts env_arr=()
  read -r -a jvm_opts <<<"$opts"
  VARIANT_AUTH=""
  if [[ " $envs " == *" AUTH=kubeconfig "* ]]; then VARIANT_AUTH=kubeconfig; envs="${envs//AUTH=kubeconfig/}"; fi
  [[ -n "${envs// /}" ]] && read -r -a env_arr <<<"$envs"
  local note=""

  if [[ "$cds" == auto ]]; then
    local jsa="$dir/agent.jsa"
    jvm_opts+=("-XX:SharedArchiveFile=$jsa" -XX:+AutoCreateSharedArchive)
    log "[$name] training run for the dynamic CDS archive"
    start_agent "$name" "$java" "$launch" "$port" "$dir/state" "$dir/training.log" "${env_arr[@]}" -- "${jvm_opts[@]}"
    local tpid="$AGENT_PID"
    wait_ready "$tpid" "$port" "$dir/training.log" || { stop_pid "$tpid"; forget_pid "$tpid"; ROWS+=("$name|failed (training)"); return 0; }
    sleep "$(( WARMUP < 10 ? WARMUP : 10 ))"
    stop_pid "$tpid"; forget_pid "$tpid"
    if [[ -f "$jsa" ]]; then note="archive $(mib "$(($(stat -c %s "$jsa") / 1024))") MiB"
    else note="no archive written"; fi
  fi

  if [[ "$launch" == idle && ! -f "$OUT/idle/Idle.class" ]]; then
    mkdir -p "$OUT/idle"
    printf 'public class Idle {\n  public static void main(String[] a) throws Exception { Thread.sleep(Long.MAX_VALUE); }\n}\n' >"$OUT/idle/Idle.java"
    "$(dirname "$JAVA17")/javac" --release 17 -d "$OUT/idle" "$OUT/idle/Idle.java"
  fi
  log "[$name] JDK $jdk, $launch, ${envs:+$envs }$opts"
  local pid started
  started=$(date +%s)
  start_agent "$name" "$java" "$launch" "$port" "$dir/state" "$dir/agent.log" "${env_arr[@]}" -- "${jvm_opts[@]}"
  pid="$AGENT_PID"
  if [[ "$launch" == idle ]]; then
    sleep 2
    alive "$pid" || { forget_pid "$pid"; ROWS+=("$name|failed to start (see $dir/agent.log)"); return 0; }
    note="reference: the same JVM options running a main() that only sleeps"
  elif ! wait_ready "$pid" "$port" "$dir/agent.log"; then
    stop_pid "$pid"; forget_pid "$pid"; ROWS+=("$name|failed to start (see $dir/agent.log)"); return 0
  fi
  local left=$(( started + WARMUP - $(date +%s) ))
  ((left > 0)) && sleep "$left"

  local t0 c0 j0 s0 n0 w0 a0 t1 c1 j1 s1 n1 w1 a1 max=0 r
  t0=$(date +%s.%N); c0=$(cpu_ticks "$pid"); j0=$(jit_ticks "$pid"); thread_ticks "$pid" >"$dir/thread-ticks-0.txt"
  s0=$(metric "$port" conntrack_agent_poll_duration_seconds_sum); n0=$(metric "$port" conntrack_agent_poll_duration_seconds_count)
  w0=$(metric "$port" conntrack_agent_status_writes_total); a0=$(apiserver_status_patches)
  # Every status write during the window, as the API server saw it (bench/out only, for reading).
  kubectl_ get conntracknodestate "$NODE" -w -o json --output-watch-events >"$dir/status-watch.json" 2>/dev/null &
  local watch_pid=$!
  PIDS+=("$watch_pid")
  local end=$(( $(date +%s) + WINDOW ))
  while (( $(date +%s) < end )); do
    alive "$pid" || { ROWS+=("$name|exited during the window (see $dir/agent.log)"); forget_pid "$pid"; stop_pid "$watch_pid"; forget_pid "$watch_pid"; return 0; }
    r=$(rss_kb "$pid"); ((r > max)) && max=$r
    sleep 1
  done
  t1=$(date +%s.%N); c1=$(cpu_ticks "$pid"); j1=$(jit_ticks "$pid"); thread_ticks "$pid" >"$dir/thread-ticks-1.txt"
  thread_cpu "$dir/thread-ticks-0.txt" "$dir/thread-ticks-1.txt" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" >"$dir/thread-cpu.txt"
  log "[$name] CPU ms/s by thread: $(head -n 8 "$dir/thread-cpu.txt" | paste -sd ';' | sed 's/;/; /g')"
  stop_pid "$watch_pid"; forget_pid "$watch_pid"
  s1=$(metric "$port" conntrack_agent_poll_duration_seconds_sum); n1=$(metric "$port" conntrack_agent_poll_duration_seconds_count)
  w1=$(metric "$port" conntrack_agent_status_writes_total); a1=$(apiserver_status_patches)
  local rss pss thr
  rss=$(rss_kb "$pid"); pss=$(pss_kb "$pid"); thr=$(threads "$pid")
  local anon file
  read -r anon file <<<"$(rss_split_kb "$pid")"
  ((rss > max)) && max=$rss
  # After the window (attaching adds a thread and some work to the target): loaded classes.
  local jcmd classes shared
  jcmd="$(jcmd_for "$java")"
  "$jcmd" "$pid" PerfCounter.print >"$dir/perfcounters.txt" 2>/dev/null || true
  classes=$(awk -F= '/^java.cls.loadedClasses=/{l=$2} /^java.cls.unloadedClasses=/{u=$2} END{if (l != "") print l - u}' "$dir/perfcounters.txt")
  shared=$(awk -F= '/^java.cls.sharedLoadedClasses=/{l=$2} /^java.cls.sharedUnloadedClasses=/{u=$2} END{if (l != "") print l - u}' "$dir/perfcounters.txt")
  for t in /proc/"$pid"/task/*; do cat "$t/comm"; done 2>/dev/null | sed 's/[-0-9]*$//' | sort | uniq -c | sort -rn >"$dir/threads.txt"
  local observed
  observed="$(kubectl_ get conntracknodestate "$NODE" -o jsonpath='{.status.observedGeneration}' 2>/dev/null || true)"
  [[ "$launch" == idle || "$observed" == "$GENERATION" ]] || note="${note:+$note; }status.observedGeneration=${observed:-none}, expected $GENERATION"
  stop_pid "$pid"; forget_pid "$pid"
  [[ "$cds" == auto ]] && rm -f "$dir/agent.jsa"   # tens of MiB each; its size is in the note

  local row
  row=$(awk -v name="$name" -v jdk="$jdk" -v rss="$rss" -v max="$max" -v pss="$pss" -v anon="$anon" -v file="$file" -v c0="$c0" -v c1="$c1" -v j0="$j0" -v j1="$j1" \
      -v t0="$t0" -v t1="$t1" -v hz="$CLK_TCK" -v s0="$s0" -v s1="$s1" -v n0="$n0" -v n1="$n1" \
      -v w0="$w0" -v w1="$w1" -v a0="$a0" -v a1="$a1" -v thr="$thr" -v cls="$classes" -v sh="$shared" -v note="$note" 'BEGIN {
    el = t1 - t0
    cpu = (c1 - c0) * 1000 / hz / el
    jit = (j1 - j0) * 1000 / hz / el
    poll = (n1 > n0) ? (s1 - s0) / (n1 - n0) * 1000 : -1
    wm = (w1 - w0) * 60 / el
    am = (a1 - a0) * 60 / el
    printf "%s|%s|%.1f|%.1f / %.1f|%.1f|%s|%.2f (%.2f)|%s|%d|%s|%.2f|%.2f|%s",
      name, jdk, rss / 1024, anon / 1024, file / 1024, max / 1024, (pss == "" ? "n/a" : sprintf("%.1f", pss / 1024)), cpu, jit,
      (poll < 0 ? "n/a" : sprintf("%.3f", poll)), thr, (cls == "" ? "n/a" : cls (sh == "" ? "" : " (" sh " CDS)")), wm, am, note
  }')
  ROWS+=("$row")
  log "[$name] $(awk -F'|' '{printf "RSS %s MiB (anon / file %s, max %s), PSS %s, CPU %s ms/s, %s ms/poll, %s threads, %s classes, %s writes/min (apiserver %s)", $3, $4, $5, $6, $7, $8, $9, $10, $11, $12}' <<<"$row")"
}

# NMT pass: the chosen configuration once more with -XX:NativeMemoryTracking=summary and class
# loading logged, for the breakdown (NMT itself costs memory, so the table rows run without it).
SMAPS_FILE=""; NMT_FILE=""; HEAP_FILE=""; CLASSES_FILE=""; NMT_RSS=""; NMT_THREADS_FILE=""
nmt_pass() {
  IFS='|' read -r name jdk launch cds envs opts <<<"${VARIANTS[0]}"
  opts="${opts//@DEFAULT@/$DEFAULT_OPTS}"; envs="${envs//@DSENV@/$DEFAULT_ENV}"
  local port=$((METRICS_PORT_BASE + 90)) dir="$OUT/nmt"
  mkdir -p "$dir"
  local -a jvm_opts env_arr=()
  read -r -a jvm_opts <<<"$opts"
  [[ -n "${envs// /}" ]] && read -r -a env_arr <<<"$envs"
  log "[nmt] $name with -XX:NativeMemoryTracking=summary"
  local pid started
  started=$(date +%s)
  start_agent nmt "$JAVA17" "$launch" "$port" "$dir/state" "$dir/agent.log" "${env_arr[@]}" -- "${jvm_opts[@]}" \
    -XX:NativeMemoryTracking=summary "-Xlog:class+load=info:file=$dir/classload.txt"
  pid="$AGENT_PID"
  wait_ready "$pid" "$port" "$dir/agent.log" || { stop_pid "$pid"; forget_pid "$pid"; return 0; }
  local settle=$(( started + WARMUP + (WINDOW < 20 ? WINDOW : 20) - $(date +%s) ))
  ((settle > 0)) && sleep "$settle"
  NMT_RSS=$(rss_kb "$pid")
  cp "/proc/$pid/smaps" "$dir/smaps.txt" 2>/dev/null || true
  for t in /proc/"$pid"/task/*; do cat "$t/comm"; done 2>/dev/null | sed 's/[-0-9]*$//' | sort | uniq -c | sort -rn >"$dir/threads.txt"
  local jcmd; jcmd="$(jcmd_for "$JAVA17")"
  "$jcmd" "$pid" VM.native_memory summary >"$dir/nmt.txt" 2>&1 || true
  "$jcmd" "$pid" GC.heap_info >"$dir/heap.txt" 2>&1 || true
  stop_pid "$pid"; forget_pid "$pid"
  SMAPS_FILE="$dir/smaps.txt"; NMT_FILE="$dir/nmt.txt"; HEAP_FILE="$dir/heap.txt"; CLASSES_FILE="$dir/classload.txt"; NMT_THREADS_FILE="$dir/threads.txt"
}

# ---------------------------------------------------------------- run
i=0
for v in "${SELECTED[@]}"; do
  measure "$v" "$i"
  i=$((i + 1))
done
$NMT && nmt_pass

OP_RSS=$(rss_kb "$OPERATOR_PID"); OP_PSS=$(pss_kb "$OPERATOR_PID"); OP_THREADS=$(threads "$OPERATOR_PID")

# ---------------------------------------------------------------- report
report() {
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores, kernel $(uname -r); warm-up ${WARMUP} s, window ${WINDOW} s;"
  echo "agent auth: $AUTH; JDK 17: $("$JAVA17" -version 2>&1 | head -1)$([[ -x "$JAVA25" ]] && echo "; JDK 25: $("$JAVA25" -version 2>&1 | head -1)")."
  echo "DEFAULT_JAVA_OPTS (\`default\` row): \`$DEFAULT_OPTS\`${DEFAULT_ENV:+, environment from the DaemonSet template: \`$DEFAULT_ENV\`}"
  [[ "$MODE" == variants ]] && echo "\`before\`: the options when the issue was opened: \`$BEFORE_OPTS\`"
  echo
  echo "| variant | JDK | RSS MiB | anon / file MiB | RSS max MiB | PSS MiB | CPU ms/s (JIT) | ms/poll | threads | classes | status writes/min | apiserver PATCH/min | note |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for r in "${ROWS[@]}"; do
    IFS='|' read -r -a f <<<"$r"
    if ((${#f[@]} <= 2)); then echo "| ${f[0]} | | | | | | | | | | | | ${f[1]:-} |"; continue; fi
    echo "| ${f[0]} | ${f[1]} | ${f[2]} | ${f[3]} | ${f[4]} | ${f[5]} | ${f[6]} | ${f[7]} | ${f[8]} | ${f[9]} | ${f[10]} | ${f[11]} | ${f[12]:-} |"
  done
  echo
  echo "Operator (for reference, \`$OPERATOR_JAVA_OPTS\`, Quarkus + java-operator-sdk): RSS $(mib "$OP_RSS") MiB, PSS $(mib "$OP_PSS") MiB, $OP_THREADS threads."
  if [[ -n "$NMT_FILE" && -s "$NMT_FILE" ]]; then
    echo
    echo "NMT breakdown of \`default\` (a separate run with -XX:NativeMemoryTracking=summary; RSS of that run $(mib "$NMT_RSS") MiB):"
    echo
    echo "| category | committed MiB |"
    echo "|---|---|"
    awk '/^-/ && /committed=/ {
        line = $0; sub(/^- */, "", line); cat = line; sub(/ *\(.*/, "", cat)
        c = line; sub(/.*committed=/, "", c); sub(/KB.*/, "", c)
        if (c + 0 >= 64) printf "| %s | %.1f |\n", cat, c / 1024 }
      /^Total:/ { c = $0; sub(/.*committed=/, "", c); sub(/KB.*/, "", c); total = c }
      END { printf "| **total committed (NMT)** | **%.1f** |\n", total / 1024 }' "$NMT_FILE"
    local nmt_total
    nmt_total=$(awk '/^Total:/ { c = $0; sub(/.*committed=/, "", c); sub(/KB.*/, "", c); print c }' "$NMT_FILE")
    echo "| RSS minus NMT committed (libjvm and other mapped files, malloc overhead; net of committed pages never touched) | $(awk -v r="$NMT_RSS" -v t="$nmt_total" 'BEGIN{printf "%.1f", (r - t) / 1024}') |"
    if [[ -s "$SMAPS_FILE" ]]; then
      echo
      echo "Where the RSS of that run lies (/proc/<pid>/smaps, by mapping):"
      echo
      echo "| mapping | RSS MiB |"
      echo "|---|---|"
      awk '/^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anonymous: Java heap, metaspace, code cache, malloc, stacks]"
             if (name ~ /\.jsa$/) name = "CDS archive (" name ")"
             else if (name ~ /libjvm\.so$/) name = "libjvm.so"
             else if (name ~ /\.so/) name = "other shared libraries (libc, libjava, libnet, ...)"
             else if (name ~ /^\// && name !~ /\.jsa$/) name = "other files (" name ")"
             next }
           /^Rss:/ { rss[name] += $2 }
           END { for (n in rss) if (rss[n] >= 256) printf "| %s | %.1f |\n", n, rss[n] / 1024 }' "$SMAPS_FILE" | sort -t'|' -k3 -rn
    fi
    echo
    echo "Heap at the NMT snapshot: $(awk '/used/ && /total/ { t = $0; sub(/.*total /, "", t); sub(/K.*/, "", t); u = $0; sub(/.*used /, "", u); sub(/K.*/, "", u); tot += t; used += u } END { printf "%.1f MiB used of %.1f MiB committed", used / 1024, tot / 1024 }' "$HEAP_FILE")."
    echo
    echo "Threads of \`default\` ($(awk '{s += $1} END {print s}' "$NMT_THREADS_FILE"), NMT run): $(awk '{printf "%s%s x%d", (NR > 1 ? ", " : ""), substr($0, index($0, $2)), $1}' "$NMT_THREADS_FILE")."
    echo
    echo "Classes loaded by \`default\`, by origin (-Xlog:class+load, $(grep -c 'class,load' "$CLASSES_FILE") in all):"
    echo
    echo "| origin | classes |"
    echo "|---|---|"
    awk '/\[class,load\]/ {
        n = $2
        if (n ~ /^io\.fabric8\.kubernetes\.api\.model\./) g = "fabric8 model (io.fabric8.kubernetes.api.model)"
        else if (n ~ /^io\.fabric8\./) g = "fabric8 client (other io.fabric8)"
        else if (n ~ /^com\.fasterxml\.jackson\./) g = "Jackson"
        else if (n ~ /^org\.snakeyaml\./) g = "SnakeYAML"
        else if (n ~ /^io\.prometheus\./) g = "Prometheus client"
        else if (n ~ /^(io\.quarkus|org\.jboss|io\.smallrye|io\.vertx|io\.netty)\./) g = "Quarkus runner, JBoss logging, SmallRye"
        else if (n ~ /^dev\.conntrack\./) g = "conntrack (this project)"
        else if (n ~ /^(sun\.security|com\.sun\.crypto|javax\.net|javax\.crypto|java\.security|javax\.security)\./) g = "JDK TLS and crypto"
        else if (n ~ /^(jdk\.internal\.net\.http|java\.net\.http)\./) g = "JDK HTTP client"
        else if (n ~ /^(java|javax|jdk|sun|com\.sun|org\.jcp|org\.w3c|org\.xml)\./) g = "JDK, other"
        else if (n ~ /^org\.slf4j\./) g = "SLF4J"
        else g = "other"
        count[g]++ }
      END { for (g in count) printf "| %s | %d |\n", g, count[g] }' "$CLASSES_FILE" | sort -t'|' -k3 -rn
  fi
}

REPORT="$OUT/report.md"
report >"$REPORT"
echo
cat "$REPORT"
echo
for r in "${ROWS[@]}"; do [[ "$r" == *"|failed"* || "$r" == *"|exited"* ]] && log "a variant failed: ${r//|/: }"; done

# ---------------------------------------------------------------- bench/RESULTS.md
if $WRITE_RESULTS; then
  RESULTS="$ROOT/bench/RESULTS.md"
  SECTION="## Agent footprint (issue: node agent)"
  key="$MODE${LABEL:+-$LABEL}"
  begin="<!-- BEGIN agent-footprint:$key -->"
  end="<!-- END agent-footprint:$key -->"
  title="### $( [[ "$MODE" == variants ]] && echo "JVM variants, side by side" || echo "Default configuration")${LABEL:+ ($LABEL)}: \`$COMMAND_LINE\`"
  block="$OUT/block.md"
  { echo "$begin"; echo "$title"; echo; cat "$REPORT"; echo "$end"; } >"$block"
  [[ -f "$RESULTS" ]] || printf '# Benchmark results\n\nWritten by the scripts in bench/ (see bench/README.md); each section is rewritten by its command.\n' >"$RESULTS"
  grep -qxF "$SECTION" "$RESULTS" || printf '\n%s\n' "$SECTION" >>"$RESULTS"
  if grep -qxF "$begin" "$RESULTS"; then
    awk -v b="$begin" -v e="$end" -v f="$block" '
      $0 == b { while ((getline l < f) > 0) print l; skip = 1; next }
      $0 == e { skip = 0; next }
      !skip { print }' "$RESULTS" >"$RESULTS.tmp"
  else
    # New block: right after the section heading's following blocks, i.e. at the end of the section.
    awk -v s="$SECTION" -v f="$block" '
      function dump() { while ((getline l < f) > 0) print l; done = 1 }
      $0 == s { insec = 1; print; next }
      insec && /^## / && !done { dump(); print ""; insec = 0 }
      { print }
      END { if (!done) { print ""; dump() } }' "$RESULTS" >"$RESULTS.tmp"
  fi
  mv "$RESULTS.tmp" "$RESULTS"
  log "wrote the section to bench/RESULTS.md"
fi
