#!/usr/bin/env python3
"""Renders bench/fleet.sh's tab-separated results as one table, prints it, and replaces the
"Fleet scale" section of bench/RESULTS.md (between its markers) with it.

usage: fleet_table.py results.tsv RESULTS.md "<operator JVM options>" <idle seconds>
"""
import datetime
import platform
import os
import re
import sys

BEGIN = "<!-- fleet-scale:begin -->"
END = "<!-- fleet-scale:end -->"


def rows(path):
    out = []
    with open(path) as f:
        for line in f:
            fields = dict(kv.split("=", 1) for kv in line.rstrip("\n").split("\t") if "=" in kv)
            out.append(fields)
    return out


def by(results, n, phase):
    for r in results:
        if r.get("nodes") == n and r.get("phase") == phase:
            return r
    return None


def target_lines(results, sizes):
    """The targets for the largest size, met or missed, from the figures above."""
    n = sizes[-1] if sizes else None
    off = by(results, n, "rollout off (100%)")
    alone = by(results, n, "specs only, agents paused")
    idle_row = by(results, n, "idle")
    op = by(results, n, "operator")
    size = by(results, n, "size")
    out = [f"Targets at 5,000 nodes, checked at {n} nodes:", "", "| Target | Measured | |", "|---|---|---|"]

    def row(target, value, ok):
        out.append(f"| {target} | {value} | {'met' if ok else 'missed'} |")

    if off:
        row("edit reaches every node spec within 30 s, batching off", f"{off['spec_max']} s", float(off["spec_max"]) <= 30)
    if op:
        row("operator RSS ≤ 512 MiB", f"{op['peak_rss_mib']} MiB peak", float(op["peak_rss_mib"]) <= 512)
    if idle_row:
        row("idle agent writes ≤ 1 per node per minute", f"{float(idle_row['agent_status_writes_per_node_min']):.2f}",
            float(idle_row["agent_status_writes_per_node_min"]) <= 1.0 + 1e-9)
    if size:
        row("policy status < 16 KiB", f"{size['status_json_bytes']} bytes (whole object {size['policy_json_bytes']})",
            int(size["status_json_bytes"]) < 16 * 1024)
    if alone:
        writes = float(alone["operator_rps"]) * float(alone["seconds"])
        if writes > 0:
            out.append("")
            out.append(f"Where the time goes: with the agents paused, the API server used {alone['apiserver_cpu_seconds']} CPU s "
                       f"for about {writes:.0f} operator requests ({1000 * float(alone['apiserver_cpu_seconds']) / writes:.1f} ms "
                       f"each) and the operator {alone['operator_cpu_seconds']} s "
                       f"({1000 * float(alone['operator_cpu_seconds']) / writes:.1f} ms per request), in {alone['seconds']} s "
                       f"on a machine with {os.cpu_count()} cores.")
    return "\n".join(out)


def main():
    tsv, results_md, java_opts, idle = sys.argv[1:5]
    results = rows(tsv)
    sizes = sorted({r["nodes"] for r in results}, key=int)
    lines = [
        "| Nodes | Phase | Edit → every spec p50 / p99 / max (s) | Edit → every Applied p50 / p99 / max (s) "
        "| Max in flight (limit) | Operator CPU | Operator RSS max (MiB) | Operator req/s | Agents req/s "
        "| Agent status writes / node / min |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for n in sizes:
        failed = by(results, n, "failed")
        if failed:
            lines.append(f"| {n} | did not finish | see {failed.get('see', '')} | | | | | | | |")
        idle_row = by(results, n, "idle")
        if idle_row:
            lines.append(
                f"| {n} | idle ({float(idle_row['seconds']):.0f} s) | – | – | – "
                f"| {idle_row['operator_cpu_percent']} % | {idle_row['operator_rss_mib']} "
                f"| {float(idle_row['operator_rps']):.2f} | {float(idle_row['agent_rps']):.2f} "
                f"| {float(idle_row['agent_status_writes_per_node_min']):.2f} |")
        for phase, label in (("rollout off (100%)", "edit, batching off"), ("rollout 10% batches", "edit, 10% batches")):
            r = by(results, n, phase)
            if not r:
                continue
            lines.append(
                f"| {n} | {label} ({float(r['seconds']):.0f} s) "
                f"| {r['spec_p50']} / {r['spec_p99']} / {r['spec_max']} "
                f"| {r['applied_p50']} / {r['applied_p99']} / {r['applied_max']} "
                f"| {r['max_in_flight']} ({r['max_unavailable']}) "
                f"| {r['operator_cpu_seconds']} s ({r['operator_cpu_percent']} %) | {r['operator_rss_mib']} "
                f"| {r['operator_rps']} | {r['agent_rps']} | – |")
        alone = by(results, n, "specs only, agents paused")
        if alone:
            lines.append(
                f"| {n} | diagnostic: edit, batching off, agents paused ({float(alone['seconds']):.0f} s) "
                f"| {alone['spec_p50']} / {alone['spec_p99']} / {alone['spec_max']} | – | – "
                f"| {alone['operator_cpu_seconds']} s ({alone['operator_cpu_percent']} %) | – "
                f"| {alone['operator_rps']} | – | – |")
        cpu_notes = []
        for phase in ("idle", "rollout off (100%)", "specs only, agents paused", "rollout 10% batches"):
            r = by(results, n, phase)
            if r and "apiserver_cpu_seconds" in r:
                cpu_notes.append(f"{phase}: API server {r['apiserver_cpu_seconds']} s, etcd {r['etcd_cpu_seconds']} s, "
                                 f"simulator {r['simulator_cpu_seconds']} s")
        if cpu_notes:
            notes.append(f"- {n} nodes, CPU seconds used by the others in each phase: " + "; ".join(cpu_notes) + ".")
        size = by(results, n, "size")
        op = by(results, n, "operator")
        if size and op:
            notes.append(f"- {n} nodes: policy object {size['policy_json_bytes']} bytes of JSON "
                         f"(status {size['status_json_bytes']}); operator peak RSS (VmHWM) {op['peak_rss_mib']} MiB.")
    targets = target_lines(results, sizes)
    table = "\n".join(lines)
    print(table)
    print("\n".join(notes))

    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"
    host = f"{platform.node()}, {os.cpu_count()} CPUs, kernel {platform.release()}"
    section = f"""{BEGIN}
## Fleet scale

`bench/fleet.sh` ({datetime.date.today().isoformat()}, {host}). Per size a fresh embedded cluster
(`hack/cluster.sh`: etcd + kube-apiserver, no kubelet), the operator jar as a process with
`{java_opts}` (the chart's options), and `dev.conntrack.fleet.FleetSimulator` in one JVM: N Node
objects (8 CPUs each) and N simulated agents running the real `NodeAgent` code
(`pollOnce`/`reportOnce`: applier, conditions, status reporter, event recorder) over per-node fake
kernel trees. All of it shares the machine's cores with the API server and etcd.

Phases: a policy created with batching off and applied everywhere; {idle} s idle; an edit
(`conntrack.max`, `tcpTimeWait`) with `rollout.maxUnavailable: 100%` ("batching off"); a
diagnostic edit with batching off while every simulated agent is paused (the API server serves the
operator alone; the agents then catch up, unmeasured); an edit (`conntrack.max`) that also sets
`maxUnavailable: 10%`. "Edit → every spec": from the update call
until the node's `ConntrackNodeState.spec` carries the policy's new generation, as the simulator's
watch sees it; "→ every Applied": until the agent's status reports Applied for that spec. "Max in
flight" is sampled every 250 ms from the same watch. CPU and RSS are read from `/proc/<pid>` of the
operator process every 500 ms. Requests per second come from the API server's own
`apiserver_request_total`, split by what they touch (the metric has no user label): agents =
`conntracknodestates/status` and `events`; operator = node state specs, policy status, nodes and
their lists/watches.

{table}

{chr(10).join(notes)}

{targets}

Deviations from a real fleet: all agents share one API client and one informer on all node states
(a real agent watches only its own node state; its watch is not in these figures); they poll at the
policy's interval but at most every 5 s (1,000 nodes) or 10 s (5,000 nodes), which is also the
resolution of their heartbeats; they run without the fast count watcher (auto-raise is off in
these policies, and 5,000 idle watcher threads waking every 200 ms in one JVM took the cores the API
server needs; a node runs its one watcher on its own cores); their metrics are not served; every client, operator included,
authenticates as the cluster admin, so API Priority and Fairness does not queue them (exempt). The
machine is not dedicated: other work may run on it during a run (the CPU figures above are those of
the benchmark's own processes); load average when the table was written: {load}.
{END}
"""
    text = open(results_md).read() if os.path.exists(results_md) else "# Benchmark results\n"
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END) + "\n?", section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(results_md, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
