package dev.conntrack.agent.core;

import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.Durations;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * What a node's settings ask of the kernel, as kernel text per allow-listed key (in apply order:
 * max and buckets first), and the keys whose value the kernel cannot take, with why. This is where
 * the API's ConntrackSettings turn into kernel values; from here on only keys and text travel.
 * Immutable.
 *
 * @param values  set fields as the kernel text to write, in apply order
 * @param invalid set fields the kernel cannot take (a malformed duration, one that rounds to 0 s),
 *                with the reason; they stay in the spec (so they are not restored) but are not written
 */
public record DesiredValues(Map<ConntrackKey, String> values, Map<ConntrackKey, String> invalid) {
    public static final DesiredValues NONE = new DesiredValues(Map.of(), Map.of());

    public DesiredValues {
        values = Collections.unmodifiableMap(values.isEmpty() ? new EnumMap<>(ConntrackKey.class) : new EnumMap<>(values));
        invalid = Collections.unmodifiableMap(invalid.isEmpty() ? new EnumMap<>(ConntrackKey.class) : new EnumMap<>(invalid));
    }

    /** The kernel values of every set field of SETTINGS (null: nothing desired). */
    public static DesiredValues of(ConntrackSettings settings) {
        if (settings == null) {
            return NONE;
        }
        Map<ConntrackKey, String> values = new EnumMap<>(ConntrackKey.class);
        Map<ConntrackKey, String> invalid = new EnumMap<>(ConntrackKey.class);
        for (ConntrackKey key : ConntrackKey.values()) {
            Object value = field(settings, key);
            if (value == null) {
                continue;
            }
            try {
                values.put(key, kernelText(key, value));
            } catch (IllegalArgumentException e) {
                invalid.put(key, e.getMessage());
            }
        }
        return new DesiredValues(values, invalid);
    }

    /**
     * These values with max and buckets raised to at least the floor (auto-raise): a floor below
     * the spec's value changes nothing, a floor of 0 means none.
     */
    public DesiredValues withFloor(long max, long buckets) {
        Map<ConntrackKey, String> raised = new EnumMap<>(ConntrackKey.class);
        raised.putAll(values);
        boolean changed = raise(raised, ConntrackKey.MAX, max) | raise(raised, ConntrackKey.BUCKETS, buckets);
        return changed ? new DesiredValues(raised, invalid) : this;
    }

    /** The desired kernel value of KEY as a number, or 0 when it is not set (or not a number). */
    public long number(ConntrackKey key) {
        String v = values.get(key);
        try {
            return v == null ? 0 : Long.parseLong(v);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private boolean raise(Map<ConntrackKey, String> raised, ConntrackKey key, long floor) {
        if (floor <= 0 || floor <= number(key) || floor > Integer.MAX_VALUE) {
            return false;
        }
        raised.put(key, Long.toString(floor));
        return true;
    }

    /**
     * The kernel text of one field.
     *
     * @throws IllegalArgumentException when the kernel cannot take it (malformed duration, one
     *     that rounds to 0 seconds), naming the field
     */
    static String kernelText(ConntrackKey key, Object value) {
        switch (key.kind()) {
            case INTEGER:
                return Integer.toString((Integer) value);
            case BOOLEAN:
                return ((Boolean) value) ? "1" : "0";
            case DURATION:
                long seconds;
                try {
                    seconds = Durations.toKernelSeconds(Durations.parse((String) value));
                } catch (IllegalArgumentException | ArithmeticException e) {
                    throw new IllegalArgumentException(key.fieldName() + ": " + e.getMessage(), e);
                }
                if (seconds < 1) {
                    // 0 would mean "expire immediately" for some timeouts: never write it by accident.
                    throw new IllegalArgumentException(key.fieldName() + ": \"" + value + "\" rounds to 0 seconds; the minimum is 1s");
                }
                return Long.toString(seconds);
            default:
                throw new IllegalStateException("unknown kind " + key.kind());
        }
    }

    private static Object field(ConntrackSettings s, ConntrackKey key) {
        return switch (key) {
            case MAX -> s.getMax();
            case BUCKETS -> s.getBuckets();
            case TCP_ESTABLISHED -> s.getTcpEstablished();
            case TCP_TIME_WAIT -> s.getTcpTimeWait();
            case TCP_CLOSE_WAIT -> s.getTcpCloseWait();
            case TCP_SYN_SENT -> s.getTcpSynSent();
            case TCP_SYN_RECV -> s.getTcpSynRecv();
            case TCP_FIN_WAIT -> s.getTcpFinWait();
            case UDP -> s.getUdp();
            case UDP_STREAM -> s.getUdpStream();
            case GENERIC -> s.getGeneric();
            case TCP_BE_LIBERAL -> s.getTcpBeLiberal();
            case TCP_LOOSE -> s.getTcpLoose();
        };
    }
}
