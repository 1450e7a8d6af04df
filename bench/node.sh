#!/usr/bin/env bash
# The real-node benchmark (root; run it under the host lock when others share the machine):
#   bench/node.sh [--requests N] [--idle SECONDS] [--no-nat]
#
# On the real one-node cluster of hack/cluster.sh up --node, with the image built from the
# Dockerfile (hack/image.sh) and the chart installed by helm, it prints:
#   1. the image: uncompressed size, build time;
#   2. time from nothing to the agent pod Running: cold (a new node: certificates, containerd,
#      control plane, kubelet, image import, helm install) and warm (node up, image loaded:
#      helm install only);
#   3. the operator and agent pods' memory and CPU from their cgroups after --idle seconds
#      (memory: usage minus inactive file pages, the kubelet's working set; CPU: cpuacct over
#      the same window), against the agent's 64 MiB target and the chart's requests;
#   4. the NAT case through kube-proxy (natlab service mode: nginx pods behind a ClusterIP, ab -c
#      5000 -n N from a client namespace): a well-sized table, max 1000 with an autoscale policy
#      in force before the load, and nf_conntrack_max 1000 without a policy (complete, failed,
#      req/s, ratio to the well-sized run, kernel drops); after the collapse, how the agent's
#      status writes went while the table was full and how soon they came back once it drained.
# Everything it starts is stopped and the host restored on exit (hack/natlab.sh down,
# hack/cluster.sh down --node). Logs in bench/out/node-*/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
REQUESTS=100000
IDLE=120
NAT=true
while (($#)); do
  case "$1" in
    --requests) REQUESTS="$2"; shift 2 ;;
    --idle) IDLE="$2"; shift 2 ;;
    --no-nat) NAT=false; shift ;;
    *) sed -n '2,20p' "$0" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "bench/node.sh needs root (a kubelet, containerd, kube-proxy)" >&2; exit 1; }
OUT="$ROOT/bench/out/node-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
NS=conntrack-system
KUBECONFIG="$ROOT/.cluster-node/kubeconfig"
export KUBECONFIG
HELM="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/bin/helm"
NF=/proc/sys/net/netfilter
ORIGINAL_MAX="$(cat $NF/nf_conntrack_max)"

log() { echo "[bench/node] $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }

cleanup() {
  set +e
  hack/natlab.sh down >/dev/null 2>&1
  hack/cluster.sh down --node > "$OUT/down.log" 2>&1
  echo "$ORIGINAL_MAX" > $NF/nf_conntrack_max
}
trap cleanup EXIT

hack/install-deps.sh --node
BINDIR="$(hack/build-test-binaries.sh --node | tail -n 1)"
k() { "$BINDIR/kubectl" "$@"; }
if [[ ! -f target/quarkus-app/quarkus-run.jar || -n "$(find src pom.xml -newer target/quarkus-app/quarkus-run.jar -type f | head -n 1)" ]]; then
  ./mvnw -B -q package -DskipTests
fi

# 1. The image.
t=$(now)
hack/image.sh build > "$OUT/image.log" 2>&1
image_build=$(since "$t")
image_size=$(hack/image.sh size)

# 2. Cold and warm.
phase() { # phase NAME: seconds since t of the first time the named condition holds
  local deadline=$((SECONDS + 300))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { log "timed out waiting for: $*"; exit 1; }
    sleep 0.2
  done
  since "$t"
}
pod_running() { [[ "$(k -n $NS get pods -l "app.kubernetes.io/name=$1" -o jsonpath='{.items[*].status.phase}')" == Running ]]; }
node_ready() { [[ "$(k get nodes -o jsonpath='{.items[0].status.conditions[?(@.type=="Ready")].status}')" == True ]]; }
install() {
  k create namespace $NS --dry-run=client -o yaml | k apply -f - >/dev/null
  k label namespace $NS --overwrite pod-security.kubernetes.io/enforce=privileged >/dev/null
  "$HELM" install conntrack-operator helm/conntrack-operator -n $NS --set image.repository=conntrack-operator \
    --set image.tag=0.1.0 --set image.pullPolicy=Never > "$OUT/helm.log" 2>&1
}

hack/cluster.sh down --node > "$OUT/down-before.log" 2>&1 || true
t=$(now)
hack/cluster.sh up --node > "$OUT/up.log" 2>&1
cold_node=$(since "$t")
hack/cluster.sh import --node target/images/conntrack-operator.tar >> "$OUT/up.log" 2>&1
install
cold_operator=$(phase pod_running conntrack-operator)
cold_agent=$(phase pod_running conntrack-agent)

KUBECTL="$BINDIR/kubectl" HELM="$HELM" hack/uninstall.sh -n $NS -t 120 > "$OUT/uninstall.log" 2>&1
for _ in $(seq 1 100); do [[ -z "$(k -n $NS get pods -o name)" ]] && break; sleep 0.3; done
t=$(now)
install
warm_operator=$(phase pod_running conntrack-operator)
warm_agent=$(phase pod_running conntrack-agent)

# 3. Memory and CPU by cgroup (cgroup v1 here; the kubelet's cgroupfs layout).
container_cgroup() { # container_cgroup CONTROLLER LABEL -> the container's cgroup directory
  local uid id
  uid="$(k -n $NS get pods -l "app.kubernetes.io/name=$2" -o jsonpath='{.items[0].metadata.uid}')"
  id="$(k -n $NS get pods -l "app.kubernetes.io/name=$2" -o jsonpath='{.items[0].status.containerStatuses[0].containerID}')"
  find "/sys/fs/cgroup/$1/kubepods" -maxdepth 3 -type d -path "*pod$uid/${id#containerd://}" | head -n 1
}
working_set_mib() {
  local d="$1" usage inactive
  usage=$(cat "$d/memory.usage_in_bytes")
  inactive=$(awk '$1 == "total_inactive_file" {print $2}' "$d/memory.stat")
  awk -v u="$usage" -v i="$inactive" 'BEGIN {printf "%.1f", (u - i) / 1048576}'
}
rss_mib() { awk '$1 == "total_rss" {printf "%.1f", $2 / 1048576}' "$1/memory.stat"; }
log "pods running; measuring memory and CPU after ${IDLE}s idle"
k apply -f examples/policy.yaml >/dev/null
sleep "$IDLE"
declare -A mem rss cpu0 cpu
for role in conntrack-operator conntrack-agent; do
  cpu0[$role]=$(cat "$(container_cgroup cpuacct $role)/cpuacct.usage")
done
sleep 60
for role in conntrack-operator conntrack-agent; do
  d="$(container_cgroup memory $role)"
  mem[$role]=$(working_set_mib "$d")
  rss[$role]=$(rss_mib "$d")
  cpu[$role]=$(awk -v a="${cpu0[$role]}" -v b="$(cat "$(container_cgroup cpuacct $role)/cpuacct.usage")" 'BEGIN {printf "%.1f", (b - a) / 60e6}')
done

# 4. The NAT case through kube-proxy.
nat_rows=""
if $NAT; then
  [[ -f "${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/images/nginx.tar" ]] || hack/image.sh nginx "${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/images/nginx.tar" > "$OUT/nginx-image.log" 2>&1
  hack/cluster.sh import --node "${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/images/nginx.tar" >/dev/null 2>&1
  k delete ctp --all >/dev/null
  k apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: nat-lab}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: nginx, namespace: nat-lab}
spec:
  replicas: 2
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers:
        - {name: nginx, image: "localhost/conntrack-nginx:1", imagePullPolicy: Never, ports: [{containerPort: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: nginx, namespace: nat-lab}
spec:
  selector: {app: nginx}
  ports: [{port: 8080, targetPort: 80}]
EOF
  k -n nat-lab rollout status deploy/nginx --timeout=120s >/dev/null
  vip="$(k -n nat-lab get svc nginx -o jsonpath='{.spec.clusterIP}')"
  hack/natlab.sh up --service "$vip:8080" --track 10.244.0.0/16 --services 10.96.0.0/16 > "$OUT/natlab.log" 2>&1
  drops() { # the drop column of /proc/net/stat/nf_conntrack (hex, one line per CPU), summed
    local header col=0 i sum=0 line
    read -r -a header < /proc/net/stat/nf_conntrack
    for i in "${!header[@]}"; do [[ "${header[i]}" == drop ]] && col=$i; done
    while read -r -a line; do sum=$((sum + 16#${line[col]})); done < <(tail -n +2 /proc/net/stat/nf_conntrack)
    echo "$sum"
  }
  # nat_run NAME S T: one ab run from a flushed table; prints a row
  nat_run() {
    hack/natlab.sh flush
    local d0 out complete failed rps
    d0=$(drops)
    out="$(hack/natlab.sh load -c 5000 -n "$REQUESTS" -s "$2" -t "$3")"
    echo "$out" > "$OUT/ab-$1.txt"
    complete=$(sed -n 's/^Complete requests: *//p' <<< "$out"); complete=${complete:-0}
    failed=$(sed -n 's/^Failed requests: *//p' <<< "$out"); failed=${failed:-0}
    rps=$(sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p' <<< "$out"); rps=${rps:-0}
    echo "$1|$complete|$failed|$rps|$(( $(drops) - d0 ))|$(cat $NF/nf_conntrack_max)"
  }
  node="$(k get nodes -o jsonpath='{.items[0].metadata.name}')"
  echo 262144 > $NF/nf_conntrack_max
  well=$(nat_run well-sized 30 120)
  # The fix as a user meets it: the policy is in force, then the traffic grows.
  hack/natlab.sh flush
  k apply -f hack/node/nat-autoscale-policy.yaml >/dev/null
  # The agent writes the policy's 1000 and at once raises it above what a storm fills in a moment.
  for _ in $(seq 1 240); do
    [[ "$(k get ctns "$node" -o jsonpath='{.status.autoRaise.message}')" == "raised max 1000 -> "* ]] && break
    sleep 0.5
  done
  first_raise="$(k get ctns "$node" -o jsonpath='{.status.autoRaise.message}')"
  max_before=$(cat $NF/nf_conntrack_max)
  fixed=$(nat_run "max 1000 + autoscale policy, in force before the load" 30 120)
  raised="$(k get ctns "$node" -o jsonpath='{.status.autoRaise.message}')"
  # The collapse: no policy (the agent puts the original max back), max 1000 by hand. The table
  # is then left to drain by itself (its TIME_WAIT entries expire), and the agent's status writes
  # are followed from its metrics on 127.0.0.1 (not tracked), second by second: when the agent
  # wrote during the collapse, and how soon after the table had room again.
  k delete ctp nat-node >/dev/null
  for _ in $(seq 1 240); do
    [[ -z "$(k get ctns "$node" -o jsonpath='{.spec.conntrack.max}')" \
      && "$(k get ctns "$node" -o jsonpath='{.status.observedGeneration}')" == "$(k get ctns "$node" -o jsonpath='{.metadata.generation}')" ]] && break
    sleep 0.5
  done
  echo 1000 > $NF/nf_conntrack_max
  writes_total() { curl -s -m 1 http://127.0.0.1:9402/metrics | awk '/^conntrack_agent_status_writes_total/ {print $2}'; }
  (
    end=$((SECONDS + 600))
    while ((SECONDS < end)); do
      echo "$(date +%s.%N) $(cat $NF/nf_conntrack_count) $(writes_total)"
      sleep 1
    done
  ) > "$OUT/collapse-writes.log" 2>&1 &
  follower=$!
  sleep 2
  collapse_started=$(now)
  collapse=$(nat_run "max 1000, no policy" 5 40)
  room_at=""
  for _ in $(seq 1 300); do
    (( $(cat $NF/nf_conntrack_count) < 950 )) && { room_at=$(now); break; }
    sleep 1
  done
  reported_at=""
  for _ in $(seq 1 240); do
    [[ -n "$(k get ctns "$node" -o jsonpath='{.status.lastTableFullTime}' 2>/dev/null)" ]] && { reported_at=$(now); break; }
    sleep 1
  done
  sleep 5
  kill "$follower" 2>/dev/null || true
  wait "$follower" 2>/dev/null || true
  # The agent's status writes, in seconds from the collapse's start (the counter as sampled each
  # second: two writes within a second show as one).
  writes_at="$(awk -v s="$collapse_started" '$3 == "" {next} prev != "" && $3 > prev && $1 >= s {printf "%s+%.0f", sep, $1 - s; sep = " "} {prev = $3}' "$OUT/collapse-writes.log")"
  drain_s=$([[ -n "$room_at" ]] && awk -v a="$collapse_started" -v b="$room_at" 'BEGIN {printf "%.0f", b - a}' || echo "-")
  report_s=$([[ -n "$room_at" && -n "$reported_at" ]] && awk -v a="$room_at" -v b="$reported_at" 'BEGIN {printf "%.1f", b - a}' || echo "-")
  events="$(k get events -n default --field-selector involvedObject.name="$node" -o jsonpath='{range .items[*]}{.reason}({.count}) {end}')"
  nat_rows="$(printf '%s\n%s\n%s' "$well" "$fixed" "$collapse")"
fi

echo
echo "## Real node ($(date -u +%Y-%m-%d), $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| what | figure |"
echo "|---|---|"
echo "| image conntrack-operator:0.1.0, uncompressed | $image_size |"
echo "| image build (hack/image.sh build, base cached) | ${image_build} s |"
echo "| cold: nothing -> node Ready (certificates, containerd, control plane, kubelet) | ${cold_node} s |"
echo "| cold: nothing -> operator pod Running / agent pod Running | ${cold_operator} s / ${cold_agent} s |"
echo "| warm (node up, image loaded): helm install -> operator Running / agent Running | ${warm_operator} s / ${warm_agent} s |"
echo "| agent pod memory, working set / RSS (cgroup), target 64 MiB | ${mem[conntrack-agent]} MiB / ${rss[conntrack-agent]} MiB |"
echo "| operator pod memory, working set / RSS (cgroup) | ${mem[conntrack-operator]} MiB / ${rss[conntrack-operator]} MiB |"
echo "| agent / operator CPU, idle (cpuacct over 60 s) | ${cpu[conntrack-agent]} m / ${cpu[conntrack-operator]} m |"
if $NAT; then
  echo
  echo "NAT through kube-proxy (nftables), ab -c 5000 -n $REQUESTS from a client namespace to a ClusterIP with 2 nginx pods:"
  echo
  echo "| run | complete | failed | req/s | vs well-sized | kernel drops | max after |"
  echo "|---|---|---|---|---|---|---|"
  well_rps=$(cut -d'|' -f4 <<< "$well")
  while IFS='|' read -r name complete failed rps d max; do
    echo "| $name | $complete | $failed | $rps | $(awk -v a="$rps" -v b="$well_rps" 'BEGIN {if (b > 0) printf "%.2f", a / b}') | $d | $max |"
  done <<< "$nat_rows"
  echo
  echo "autoRaise before the load: $first_raise"
  echo "max at the start of the load: $max_before; autoRaise after it: $raised"
  echo
  echo "After the collapse (no flush: the table drains as its TIME_WAIT entries expire): ab began at +0 s, the"
  echo "table had room (count < 95% of max) at +${drain_s} s; lastTableFullTime was readable ${report_s} s after that."
  echo "The agent's status writes (s from the start): ${writes_at:-none}. Node Events: ${events}"
fi
