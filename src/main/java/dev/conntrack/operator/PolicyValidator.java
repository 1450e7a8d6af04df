package dev.conntrack.operator;

import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackPolicySpec;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.MonitoringSpec;
import dev.conntrack.api.NotrackRule;
import dev.conntrack.api.RolloutSpec;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Quantity;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.math.BigDecimal;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import jakarta.inject.Singleton;

/**
 * A policy's values checked against the CRD's rules, for objects that slipped past the schema
 * (created under an older CRD, or while validation was off): merged into node specs, such values
 * would make every spec write of the nodes the policy selects fail, freezing those nodes for every
 * policy. The numeric bounds and sizes are read from the same annotations the CRD is generated from;
 * the CEL rules (durations, cross-field rules, CIDRs, quantities) are restated here. The result is
 * kept per policy version (uid and generation), so the node reconciler can ask for every node.
 */
@Singleton
public class PolicyValidator {
    private record Checked(String uid, Long generation, List<String> problems) {
    }

    private final ConcurrentHashMap<String, Checked> checked = new ConcurrentHashMap<>();
    private static final BigDecimal ONE_SECOND = BigDecimal.valueOf(1_000_000_000L);
    private static final BigDecimal MAX_TIMEOUT = BigDecimal.valueOf(596L * 3600).multiply(ONE_SECOND);
    private static final BigDecimal MIN_POLL = BigDecimal.valueOf(100_000_000L);
    private static final BigDecimal MAX_POLL = BigDecimal.valueOf(60L).multiply(ONE_SECOND);
    private static final Pattern PERCENT = Pattern.compile("^(100|[1-9][0-9]?)%$");
    private static final List<String> TIMEOUTS = List.of("tcpEstablished", "tcpTimeWait", "tcpCloseWait", "tcpSynSent",
            "tcpSynRecv", "tcpFinWait", "udp", "udpStream", "generic");

    /** The problems of this version of the policy, checked once per version. */
    public List<String> problems(ConntrackPolicy policy) {
        String uid = policy.getMetadata() == null ? null : policy.getMetadata().getUid();
        Long generation = policy.getMetadata() == null ? null : policy.getMetadata().getGeneration();
        Checked c = checked.compute(PolicyMerger.name(policy), (name, old) ->
                old != null && Objects.equals(old.uid(), uid) && Objects.equals(old.generation(), generation)
                        ? old : new Checked(uid, generation, List.copyOf(problems(policy.getSpec()))));
        return c.problems();
    }

    public boolean valid(ConntrackPolicy policy) {
        return problems(policy).isEmpty();
    }

    /** What is wrong, each naming the field ("conntrack.max must be at least 1, is 0"); empty when nothing is. */
    static List<String> problems(ConntrackPolicySpec spec) {
        List<String> problems = new ArrayList<>();
        if (spec == null) {
            return problems;
        }
        bounds("", spec, problems);
        ConntrackSettings ct = spec.getConntrack();
        if (ct != null) {
            conntrack(ct, problems);
        }
        MonitoringSpec monitoring = spec.getMonitoring();
        if (monitoring != null && monitoring.getPollInterval() != null) {
            duration("monitoring.pollInterval", monitoring.getPollInterval(), MIN_POLL, MAX_POLL, "100ms and 1m", problems);
        }
        RolloutSpec rollout = spec.getRollout();
        IntOrString budget = rollout == null ? null : rollout.getMaxUnavailable();
        if (budget != null && (budget.getIntVal() != null ? budget.getIntVal() < 1
                : budget.getStrVal() == null || !PERCENT.matcher(budget.getStrVal()).matches())) {
            problems.add(RolloutSpec.MAX_UNAVAILABLE_MESSAGE);
        }
        return problems;
    }

    private static void conntrack(ConntrackSettings ct, List<String> problems) {
        if (ct.getMax() != null && ct.getMaxPerCore() != null) {
            problems.add("conntrack.max and conntrack.maxPerCore are mutually exclusive");
        }
        if (ct.getMin() != null && ct.getMaxPerCore() == null) {
            problems.add("conntrack.min only goes with conntrack.maxPerCore");
        }
        for (String timeout : TIMEOUTS) {
            Object value = read(ct, timeout);
            if (value instanceof String text) {
                duration("conntrack." + timeout, text, ONE_SECOND, MAX_TIMEOUT, "1s and 596h", problems);
            }
        }
        AutoscaleSpec autoscale = ct.getAutoscale();
        if (autoscale != null) {
            if (Boolean.TRUE.equals(autoscale.getEnabled()) && autoscale.getCeiling() == null && autoscale.getMemoryBudget() == null) {
                problems.add("conntrack.autoscale needs a ceiling or a memoryBudget when enabled");
            }
            if (autoscale.getCeiling() != null && ct.getMax() != null && autoscale.getCeiling() < ct.getMax()) {
                problems.add("conntrack.autoscale.ceiling must be at least conntrack.max, is " + autoscale.getCeiling());
            }
            if (autoscale.getMemoryBudget() != null && !positiveQuantity(autoscale.getMemoryBudget())) {
                problems.add("conntrack.autoscale.memoryBudget must be a positive quantity such as \"256Mi\", is \""
                        + autoscale.getMemoryBudget() + "\"");
            }
        }
        List<NotrackRule> rules = ct.getNotrack() == null ? List.of() : ct.getNotrack();
        for (int i = 0; i < rules.size(); i++) {
            NotrackRule rule = rules.get(i);
            if (rule != null && rule.getPort() != null && rule.getEndPort() != null && rule.getEndPort() < rule.getPort()) {
                problems.add("conntrack.notrack[" + i + "].endPort must be at least port");
            }
            if (rule != null && rule.getCidr() != null && !network(rule.getCidr())) {
                problems.add("conntrack.notrack[" + i + "].cidr must be a network such as 10.96.0.0/12 with no host bits set, is \""
                        + rule.getCidr() + "\"");
            }
        }
    }

    /** @Min, @Max, @Size and @Required of every field of the API objects under {@code value}. */
    private static void bounds(String path, Object value, List<String> problems) {
        for (Class<?> type = value.getClass(); type != null && type != Object.class; type = type.getSuperclass()) {
            for (Field field : type.getDeclaredFields()) {
                if (Modifier.isStatic(field.getModifiers())) {
                    continue;
                }
                String name = path.isEmpty() ? field.getName() : path + "." + field.getName();
                Object v = read(value, field);
                if (v == null) {
                    if (field.isAnnotationPresent(Required.class)) {
                        problems.add(name + " is required");
                    }
                    continue;
                }
                check(name, field, v, problems);
                if (v instanceof Collection<?> items) {
                    int i = 0;
                    for (Object item : items) {
                        if (isApiObject(item)) {
                            bounds(name + "[" + i + "]", item, problems);
                        }
                        i++;
                    }
                } else if (isApiObject(v)) {
                    bounds(name, v, problems);
                }
            }
        }
    }

    private static void check(String name, Field field, Object v, List<String> problems) {
        Min min = field.getAnnotation(Min.class);
        Max max = field.getAnnotation(Max.class);
        if (v instanceof Number n) {
            double d = n.doubleValue();
            if (min != null && d < min.value()) {
                problems.add(name + " must be at least " + plain(min.value()) + ", is " + n);
            }
            if (max != null && d > max.value()) {
                problems.add(name + " must be at most " + plain(max.value()) + ", is " + n);
            }
        }
        Size size = field.getAnnotation(Size.class);
        long length = v instanceof String s ? s.length() : v instanceof Collection<?> c ? c.size() : v instanceof Map<?, ?> m ? m.size() : -1;
        if (size != null && length >= 0 && (length < size.min() || length > size.max())) {
            problems.add(name + " must have " + (size.min() > 0 ? size.min() + " to " : "at most ") + size.max()
                    + (v instanceof String ? " characters" : " items") + ", has " + length);
        }
    }

    private static void duration(String name, String text, BigDecimal min, BigDecimal max, String range, List<String> problems) {
        BigDecimal nanos = GoDurations.nanos(text);
        if (nanos == null || nanos.compareTo(min) < 0 || nanos.compareTo(max) > 0) {
            problems.add(name + " must be a duration between " + range + " such as \"30s\", is \"" + text + "\"");
        }
    }

    private static boolean positiveQuantity(String text) {
        try {
            return Quantity.getAmountInBytes(new Quantity(text)).signum() > 0;
        } catch (IllegalArgumentException | ArithmeticException e) {
            return false;
        }
    }

    /** A literal IPv4 or IPv6 network with no host bits set; never a name lookup. */
    static boolean network(String cidr) {
        int slash = cidr.indexOf('/');
        if (slash < 0) {
            return false;
        }
        String address = cidr.substring(0, slash);
        boolean v4 = address.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}");
        // A colon makes it an IPv6 literal: InetAddress then never looks a name up.
        if (!v4 && !(address.contains(":") && address.matches("[0-9a-fA-F:.]+"))) {
            return false;
        }
        try {
            byte[] bytes = InetAddress.getByName(address).getAddress();
            int prefix = Integer.parseInt(cidr.substring(slash + 1));
            if ((v4 ? 4 : 16) != bytes.length || prefix < 0 || prefix > bytes.length * 8) {
                return false;
            }
            for (int bit = prefix; bit < bytes.length * 8; bit++) {
                if ((bytes[bit / 8] & (0x80 >> (bit % 8))) != 0) {
                    return false;
                }
            }
            return true;
        } catch (UnknownHostException | NumberFormatException e) {
            return false;
        }
    }

    private static boolean isApiObject(Object v) {
        return v != null && v.getClass().getPackageName().equals(ConntrackPolicySpec.class.getPackageName()) && !v.getClass().isEnum();
    }

    private static Object read(Object owner, String fieldName) {
        try {
            return read(owner, owner.getClass().getDeclaredField(fieldName));
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Object read(Object owner, Field field) {
        try {
            field.setAccessible(true);
            return field.get(owner);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String plain(double value) {
        return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
    }
}
