package dev.conntrack.kernel;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The allow-list: the only kernel parameters the agent can ever write, each named by the settings
 * field it carries (ConntrackSettings in the API; the agent turns those fields into kernel text);
 * there is deliberately no way to build a write target from a free-form name. maxPerCore and min
 * are absent on purpose: the operator resolves them into max before a node ever sees them.
 *
 * <p>Declaration order is the apply order: the table size and buckets first, so that a node under
 * pressure gets room before timeouts change.
 */
public enum ConntrackKey {
    MAX("max", "nf_conntrack_max", Kind.INTEGER),
    /** Written through the module parameter (the only writable place), read back from the sysctl. */
    BUCKETS("buckets", "nf_conntrack_buckets", Kind.INTEGER),
    TCP_ESTABLISHED("tcpEstablished", "nf_conntrack_tcp_timeout_established", Kind.DURATION),
    TCP_TIME_WAIT("tcpTimeWait", "nf_conntrack_tcp_timeout_time_wait", Kind.DURATION),
    TCP_CLOSE_WAIT("tcpCloseWait", "nf_conntrack_tcp_timeout_close_wait", Kind.DURATION),
    TCP_SYN_SENT("tcpSynSent", "nf_conntrack_tcp_timeout_syn_sent", Kind.DURATION),
    TCP_SYN_RECV("tcpSynRecv", "nf_conntrack_tcp_timeout_syn_recv", Kind.DURATION),
    TCP_FIN_WAIT("tcpFinWait", "nf_conntrack_tcp_timeout_fin_wait", Kind.DURATION),
    UDP("udp", "nf_conntrack_udp_timeout", Kind.DURATION),
    UDP_STREAM("udpStream", "nf_conntrack_udp_timeout_stream", Kind.DURATION),
    GENERIC("generic", "nf_conntrack_generic_timeout", Kind.DURATION),
    TCP_BE_LIBERAL("tcpBeLiberal", "nf_conntrack_tcp_be_liberal", Kind.BOOLEAN),
    TCP_LOOSE("tcpLoose", "nf_conntrack_tcp_loose", Kind.BOOLEAN);

    /** What the kernel takes: an integer, whole seconds (from a duration), or 0/1 (from a boolean). */
    public enum Kind { INTEGER, DURATION, BOOLEAN }

    private static final Map<String, ConntrackKey> BY_FIELD;

    static {
        Map<String, ConntrackKey> byField = new LinkedHashMap<>();
        for (ConntrackKey key : values()) {
            byField.put(key.fieldName, key);
        }
        BY_FIELD = Collections.unmodifiableMap(byField);
    }

    private final String fieldName;
    private final String sysctlName;
    private final Kind kind;

    ConntrackKey(String fieldName, String sysctlName, Kind kind) {
        this.fieldName = fieldName;
        this.sysctlName = sysctlName;
        this.kind = kind;
    }

    /** The ConntrackSettings field name; also the key in status maps (current, originals, pending). */
    public String fieldName() {
        return fieldName;
    }

    /** The sysctl the live value is read from (under /proc/sys/net/netfilter). */
    public String sysctlName() {
        return sysctlName;
    }

    public Kind kind() {
        return kind;
    }

    public Path readPath(HostPaths paths) {
        return paths.netfilterSysctl(sysctlName);
    }

    /**
     * Where a new value goes. Buckets: the sysctl is read-only, the module parameter is the knob
     * (and it is global: only the initial network namespace can change it).
     */
    public Path writePath(HostPaths paths) {
        return this == BUCKETS ? paths.hashsize() : paths.netfilterSysctl(sysctlName);
    }

    /**
     * True when the kernel may store a different value from the one written. nf_conntrack rounds
     * hashsize up to a whole page of bucket heads: a multiple of PAGE_SIZE / 8, i.e. 512 on 4 KiB
     * pages, 2048 on 16 KiB, 8192 on 64 KiB.
     */
    public boolean kernelMayAdjust() {
        return this == BUCKETS;
    }

    private static final long[] BUCKET_GRANULES = {512, 2048, 8192};

    /**
     * Whether the kernel holding LIVE means it has DESIRED: equal text, or for buckets the
     * kernel's page rounding of DESIRED. Used both to verify a write and to avoid rewriting a value
     * the kernel already rounded.
     */
    public boolean liveMatches(String desired, String live) {
        if (desired.equals(live)) {
            return true;
        }
        if (!kernelMayAdjust()) {
            return false;
        }
        try {
            long d = Long.parseLong(desired);
            long l = Long.parseLong(live);
            for (long granule : BUCKET_GRANULES) {
                if (l == ((d + granule - 1) / granule) * granule) {
                    return true;
                }
            }
            return false;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    public static Optional<ConntrackKey> fromFieldName(String fieldName) {
        return Optional.ofNullable(BY_FIELD.get(fieldName));
    }
}
