package dev.conntrack.kernel;

import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Every kernel file the agent touches, resolved under one host root. In the DaemonSet the root is
 * "/" (hostNetwork + host /proc and /sys); tests point it at a temporary directory holding a fake
 * tree, so no reader or writer ever builds an absolute path of its own.
 */
public final class HostPaths {
    private static final Pattern SYSCTL_NAME = Pattern.compile("[a-z0-9_]+");

    private final Path root;

    public HostPaths(Path root) {
        this.root = Objects.requireNonNull(root, "root").toAbsolutePath().normalize();
    }

    /** The real host as seen by a privileged process in the host's mount namespace. */
    public static HostPaths host() {
        return new HostPaths(Path.of("/"));
    }

    public Path root() {
        return root;
    }

    /**
     * /proc/sys/net/netfilter/NAME. The name is checked so that this can never escape the
     * netfilter directory (no "..", no slashes), whatever a caller passes.
     */
    public Path netfilterSysctl(String name) {
        if (name == null || !SYSCTL_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("not a netfilter sysctl name: " + name);
        }
        return root.resolve("proc/sys/net/netfilter").resolve(name);
    }

    /** Buckets are written here (initial namespace only); the live value is read from nf_conntrack_buckets. */
    public Path hashsize() {
        return root.resolve("sys/module/nf_conntrack/parameters/hashsize");
    }

    public Path conntrackCount() {
        return netfilterSysctl("nf_conntrack_count");
    }

    public Path conntrackMax() {
        return netfilterSysctl("nf_conntrack_max");
    }

    public Path conntrackBuckets() {
        return netfilterSysctl("nf_conntrack_buckets");
    }

    /** Per-CPU counters of the namespace the reading process lives in (the host's, for a hostNetwork agent). */
    public Path conntrackStats() {
        return root.resolve("proc/net/stat/nf_conntrack");
    }

    /** Per-CPU counters of the network namespace PID lives in, read without entering it. */
    public Path conntrackStats(long pid) {
        if (pid <= 0) {
            throw new IllegalArgumentException("pid must be positive: " + pid);
        }
        return root.resolve("proc").resolve(Long.toString(pid)).resolve("net/stat/nf_conntrack");
    }

    /** The table listing of the reading process's namespace (absent when CONFIG_NF_CONNTRACK_PROCFS is off). */
    public Path conntrackTable() {
        return root.resolve("proc/net/nf_conntrack");
    }

    /** The table listing of the network namespace PID lives in, read without entering it. */
    public Path conntrackTable(long pid) {
        return pidDir(pid).resolve("net/nf_conntrack");
    }

    /** /proc: one directory per pid. */
    public Path proc() {
        return root.resolve("proc");
    }

    /** The nsfs link naming PID's network namespace ("net:[INODE]"). */
    public Path netNamespace(long pid) {
        return pidDir(pid).resolve("ns/net");
    }

    /** The reading process's own network namespace link (/proc/self/ns/net). */
    public Path ownNetNamespace() {
        return root.resolve("proc/self/ns/net");
    }

    /** PID's cgroup membership, one line per hierarchy. */
    public Path cgroup(long pid) {
        return pidDir(pid).resolve("cgroup");
    }

    /** PID's command name (comm), e.g. "kthreadd". */
    public Path comm(long pid) {
        return pidDir(pid).resolve("comm");
    }

    /** Pids of PID's children (CONFIG_PROC_CHILDREN), space separated. */
    public Path children(long pid) {
        return pidDir(pid).resolve("task").resolve(Long.toString(pid)).resolve("children");
    }

    public Path meminfo() {
        return root.resolve("proc/meminfo");
    }

    private Path pidDir(long pid) {
        if (pid <= 0) {
            throw new IllegalArgumentException("pid must be positive: " + pid);
        }
        return root.resolve("proc").resolve(Long.toString(pid));
    }

    public Path devKmsg() {
        return root.resolve("dev/kmsg");
    }

    public Path slabinfo() {
        return root.resolve("proc/slabinfo");
    }

    /** Conntrack objects allocated across every network namespace (SLUB): an upper bound of any one table. */
    public Path conntrackSlabObjects() {
        return root.resolve("sys/kernel/slab/nf_conntrack/objects");
    }

    /**
     * The kubelet's pod log directory: one folder per pod on the node, named
     * NAMESPACE_NAME_UID. The cheapest map from a pod UID to its name that needs no API call.
     */
    public Path podLogs() {
        return root.resolve("var/log/pods");
    }

    /** The kernel's id of this boot (a UUID, new at every boot). */
    public Path bootId() {
        return root.resolve("proc/sys/kernel/random/boot_id");
    }

    public Path uptime() {
        return root.resolve("proc/uptime");
    }

    @Override
    public String toString() {
        return "HostPaths[" + root + "]";
    }
}
