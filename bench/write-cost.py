#!/usr/bin/env python3
"""API server CPU per write of a ConntrackNodeState, by kind of write.

    bench/write-cost.py --sample state.json [--count 2000] [--threads 8] [--kinds spec,status,event]

Needs a running cluster (hack/cluster.sh up, or the fleet benchmark's) with the CRDs applied:
KUBECONFIG with a client certificate (as hack/cluster.sh writes it), the API server's and etcd's
pids from --apiserver-pid / --etcd-pid (default: the pid files of CONNTRACK_CLUSTER_DIR).

It creates --count node states named write-cost-NNNNN from the sample (spec and status as given),
then for each kind of write sends --count writes from --threads threads and prints the API server's
and etcd's CPU time per write (utime + stime of /proc/<pid>/stat) and the wall time:

  spec    the operator's JSON patch of the whole spec (a changed conntrack.max each time)
  status  the agent's JSON patch of /status (a changed heartbeatTime and current value)
  event   the agent's Event create (one per node, as for ConntrackApplied)

This is what bench/fleet.sh pays per node and per policy edit, without the operator and the
simulated agents on the same cores. The node states are deleted at the end.
"""
import argparse
import base64
import copy
import http.client
import json
import os
import ssl
import sys
import tempfile
import threading
import time

GROUP_PATH = "/apis/conntrack.dev/v1alpha1/conntracknodestates"
TICK = os.sysconf("SC_CLK_TCK")


def kubeconfig(path):
    """server, CA file, client cert and key files from a kubeconfig written by hack/cluster.sh (PyYAML-free)."""
    text = open(path).read()
    values = {}
    for line in text.splitlines():
        line = line.strip()
        for key in ("server:", "certificate-authority-data:", "client-certificate-data:", "client-key-data:"):
            if line.startswith(key):
                values[key[:-1]] = line[len(key):].strip()
    tmp = tempfile.mkdtemp(prefix="write-cost-")
    files = {}
    for key in ("certificate-authority-data", "client-certificate-data", "client-key-data"):
        files[key] = os.path.join(tmp, key)
        with open(files[key], "wb") as f:
            f.write(base64.b64decode(values[key]))
    return values["server"], files


class Api:
    def __init__(self, server, files):
        host_port = server.split("://", 1)[1]
        self.host, port = host_port.split(":")
        self.port = int(port)
        self.ctx = ssl.create_default_context(cafile=files["certificate-authority-data"])
        self.ctx.load_cert_chain(files["client-certificate-data"], files["client-key-data"])
        self.local = threading.local()

    def conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=60)
            self.local.conn = c
        return c

    def call(self, method, path, body=None, content_type="application/json"):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        for attempt in range(3):
            c = self.conn()
            try:
                c.request(method, path, body=data, headers=headers)
                r = c.getresponse()
                payload = r.read()
                if r.status >= 300 and r.status != 404 and r.status != 409:
                    raise RuntimeError(f"{method} {path}: {r.status} {payload[:300]!r}")
                return r.status, payload
            except (http.client.HTTPException, OSError):
                self.local.conn = None
                if attempt == 2:
                    raise
        return None


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def run_parallel(threads, items, task):
    lock = threading.Lock()
    queue = list(items)
    errors = []

    def worker():
        while True:
            with lock:
                if not queue or errors:
                    return
                item = queue.pop()
            try:
                task(item)
            except Exception as e:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(e)

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", required=True, help="a ConntrackNodeState as JSON (kubectl get ctns X -o json)")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--kinds", default="spec,status,event")
    cluster_dir = os.environ.get("CONNTRACK_CLUSTER_DIR", os.path.join(os.path.dirname(__file__), "..", ".cluster"))
    ap.add_argument("--apiserver-pid", type=int)
    ap.add_argument("--etcd-pid", type=int)
    ap.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", os.path.join(cluster_dir, "kubeconfig")))
    args = ap.parse_args()
    apiserver_pid = args.apiserver_pid or int(open(os.path.join(cluster_dir, "apiserver.pid")).read())
    etcd_pid = args.etcd_pid or int(open(os.path.join(cluster_dir, "etcd.pid")).read())

    api = Api(*kubeconfig(args.kubeconfig))
    sample = json.load(open(args.sample))
    names = [f"write-cost-{i:05d}" for i in range(args.count)]

    def create(name):
        obj = {"apiVersion": "conntrack.dev/v1alpha1", "kind": "ConntrackNodeState",
               "metadata": {"name": name, "labels": sample["metadata"].get("labels", {})},
               "spec": copy.deepcopy(sample.get("spec", {}))}
        api.call("POST", GROUP_PATH, obj)
        if sample.get("status"):
            api.call("PATCH", f"{GROUP_PATH}/{name}/status",
                     [{"op": "add", "path": "/status", "value": sample["status"]}], "application/json-patch+json")

    t0 = time.time()
    run_parallel(args.threads, names, create)
    size = len(api.call("GET", f"{GROUP_PATH}/{names[0]}")[1])
    print(f"objects: {args.count} created in {time.time() - t0:.1f} s; one object is {size} bytes of JSON "
          f"as served (managedFields included)")

    counter = [0]
    counter_lock = threading.Lock()

    def next_value():
        with counter_lock:
            counter[0] += 1
            return counter[0]

    def write_spec(name):
        spec = copy.deepcopy(sample.get("spec", {}))
        spec.setdefault("conntrack", {})["max"] = 200000 + next_value()
        api.call("PATCH", f"{GROUP_PATH}/{name}", [{"op": "add", "path": "/spec", "value": spec}],
                 "application/json-patch+json")

    def write_status(name):
        n = next_value()
        ops = [{"op": "add", "path": "/status/heartbeatTime", "value": f"2026-12-05T00:{(n // 60) % 60:02d}:{n % 60:02d}Z"}]
        api.call("PATCH", f"{GROUP_PATH}/{name}/status", ops, "application/json-patch+json")

    def write_event(name):
        n = next_value()
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"name": f"{name}.write-cost.{n}", "namespace": "default"},
                 "involvedObject": {"apiVersion": "v1", "kind": "Node", "name": name, "uid": name},
                 "reason": "ConntrackApplied", "type": "Normal", "count": 1,
                 "message": "Applied conntrack settings: max=262144", "source": {"component": "conntrack-agent", "host": name},
                 "firstTimestamp": "2026-12-05T00:00:00Z", "lastTimestamp": "2026-12-05T00:00:00Z"}
        api.call("POST", "/api/v1/namespaces/default/events", event)

    writers = {"spec": write_spec, "status": write_status, "event": write_event}
    print(f"{'write':<8} {'count':>6} {'wall s':>7} {'writes/s':>9} {'apiserver ms/write':>19} {'etcd ms/write':>14}")
    for kind in args.kinds.split(","):
        a0, e0, t0 = cpu_seconds(apiserver_pid), cpu_seconds(etcd_pid), time.time()
        run_parallel(args.threads, names, writers[kind])
        a1, e1, t1 = cpu_seconds(apiserver_pid), cpu_seconds(etcd_pid), time.time()
        n = len(names)
        print(f"{kind:<8} {n:>6} {t1 - t0:>7.1f} {n / (t1 - t0):>9.0f} {1000 * (a1 - a0) / n:>19.2f} {1000 * (e1 - e0) / n:>14.2f}")
        sys.stdout.flush()

    run_parallel(args.threads, names, lambda name: api.call("DELETE", f"{GROUP_PATH}/{name}"))


if __name__ == "__main__":
    main()
