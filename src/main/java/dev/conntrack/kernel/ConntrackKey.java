package dev.conntrack.kernel;

import dev.conntrack.api.ConntrackSettings;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The allow-list: the only kernel parameters the agent can ever write. One constant per
 * {@link ConntrackSettings} field that maps to the kernel; there is deliberately no way to build
 * a write target from a free-form name. maxPerCore and min are absent on purpose: the operator
 * resolves them into max before a node ever sees them.
 *
 * <p>Declaration order is the apply order: the table size and buckets first, so that a node under
 * pressure gets room before timeouts change.
 */
public enum ConntrackKey {
    MAX("max", "nf_conntrack_max", Kind.INTEGER, ConntrackSettings::getMax),
    /** Written through the module parameter (the only writable place), read back from the sysctl. */
    BUCKETS("buckets", "nf_conntrack_buckets", Kind.INTEGER, ConntrackSettings::getBuckets),
    TCP_ESTABLISHED("tcpEstablished", "nf_conntrack_tcp_timeout_established", Kind.DURATION, ConntrackSettings::getTcpEstablished),
    TCP_TIME_WAIT("tcpTimeWait", "nf_conntrack_tcp_timeout_time_wait", Kind.DURATION, ConntrackSettings::getTcpTimeWait),
    TCP_CLOSE_WAIT("tcpCloseWait", "nf_conntrack_tcp_timeout_close_wait", Kind.DURATION, ConntrackSettings::getTcpCloseWait),
    TCP_SYN_SENT("tcpSynSent", "nf_conntrack_tcp_timeout_syn_sent", Kind.DURATION, ConntrackSettings::getTcpSynSent),
    TCP_SYN_RECV("tcpSynRecv", "nf_conntrack_tcp_timeout_syn_recv", Kind.DURATION, ConntrackSettings::getTcpSynRecv),
    TCP_FIN_WAIT("tcpFinWait", "nf_conntrack_tcp_timeout_fin_wait", Kind.DURATION, ConntrackSettings::getTcpFinWait),
    UDP("udp", "nf_conntrack_udp_timeout", Kind.DURATION, ConntrackSettings::getUdp),
    UDP_STREAM("udpStream", "nf_conntrack_udp_timeout_stream", Kind.DURATION, ConntrackSettings::getUdpStream),
    GENERIC("generic", "nf_conntrack_generic_timeout", Kind.DURATION, ConntrackSettings::getGeneric),
    TCP_BE_LIBERAL("tcpBeLiberal", "nf_conntrack_tcp_be_liberal", Kind.BOOLEAN, ConntrackSettings::getTcpBeLiberal),
    TCP_LOOSE("tcpLoose", "nf_conntrack_tcp_loose", Kind.BOOLEAN, ConntrackSettings::getTcpLoose);

    /** How a settings value turns into the text the kernel takes. */
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
    private final Function<ConntrackSettings, Object> getter;

    ConntrackKey(String fieldName, String sysctlName, Kind kind, Function<ConntrackSettings, Object> getter) {
        this.fieldName = fieldName;
        this.sysctlName = sysctlName;
        this.kind = kind;
        this.getter = getter;
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

    /**
     * The kernel text for this field of SETTINGS, or empty when the field is not set.
     *
     * @throws IllegalArgumentException when the field holds something the kernel cannot take
     *     (malformed duration, or one that rounds to 0 seconds)
     */
    public Optional<String> kernelValue(ConntrackSettings settings) {
        Object value = settings == null ? null : getter.apply(settings);
        if (value == null) {
            return Optional.empty();
        }
        switch (kind) {
            case INTEGER:
                return Optional.of(Integer.toString((Integer) value));
            case BOOLEAN:
                return Optional.of(((Boolean) value) ? "1" : "0");
            case DURATION:
                long seconds;
                try {
                    seconds = Durations.toKernelSeconds(Durations.parse((String) value));
                } catch (IllegalArgumentException | ArithmeticException e) {
                    throw new IllegalArgumentException(fieldName + ": " + e.getMessage(), e);
                }
                if (seconds < 1) {
                    // 0 would mean "expire immediately" for some timeouts: never write it by accident.
                    throw new IllegalArgumentException(fieldName + ": \"" + value + "\" rounds to 0 seconds; the minimum is 1s");
                }
                return Optional.of(Long.toString(seconds));
            default:
                throw new IllegalStateException("unknown kind " + kind);
        }
    }

    /**
     * Every set field of SETTINGS as kernel text, in apply order.
     *
     * @throws IllegalArgumentException on the first field the kernel cannot take; callers that must
     *     go on with the other keys use {@link #kernelValue} per key instead
     */
    public static Map<ConntrackKey, String> desired(ConntrackSettings settings) {
        Map<ConntrackKey, String> desired = new LinkedHashMap<>();
        for (ConntrackKey key : values()) {
            key.kernelValue(settings).ifPresent(v -> desired.put(key, v));
        }
        return Collections.unmodifiableMap(desired);
    }

    public static Optional<ConntrackKey> fromFieldName(String fieldName) {
        return Optional.ofNullable(BY_FIELD.get(fieldName));
    }
}
