#!/usr/bin/env bash
# The NAT table-full benchmark (issue: the NAT case as the project's proof). Needs root and a
# real kernel; builds the test cluster binaries when missing; runs dev.conntrack.lab.NatBenchMain
# (a program on the test class path, not a test) against a real kube-apiserver with the operator
# and agent as processes, the lab from hack/natlab.sh, and prints one table (also written to
# bench/RESULTS.md).
#   bench/nat.sh [-Dtrials=10] [-Drequests=100000] [-Drounds=3] [-Dphases=idle,detection,throughput,syn] [-DsynPackets=300000]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
hack/build-test-binaries.sh >/dev/null
# The SYN burst phase sends with hping3 (Debian package), inside the lab's namespaces only.
command -v hping3 >/dev/null || { apt-get install -y -q hping3 >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q hping3 >/dev/null; }; }
# The operator and agent run from target/quarkus-app; the benchmark from the test classes.
./mvnw -B -q package -DskipTests
./mvnw -B -q dependency:build-classpath -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=test >/dev/null
CLASSPATH_BENCH="target/test-classes:target/classes:$(cat target/classpath.txt)"
# Other kernel tests and labs change the global nf_conntrack_max too: one at a time.
exec flock /tmp/conntrack-kernel.lock java -Xmx512m -Dproject.basedir="$PWD" \
  -Djava.util.logging.manager=org.jboss.logmanager.LogManager "$@" -cp "$CLASSPATH_BENCH" dev.conntrack.lab.NatBenchMain
