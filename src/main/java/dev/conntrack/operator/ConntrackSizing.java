package dev.conntrack.operator;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Map;
import java.util.OptionalInt;

/**
 * kube-proxy's conntrack sizing ({@code max = max(maxPerCore x cores, min)}) for one node.
 * Cores come from the Node's {@code status.capacity["cpu"]}, the same number kube-proxy gets from
 * the machine: capacity, not allocatable, because the kernel table serves every process on the host.
 * Nothing is guessed: without a readable capacity the result is empty and the caller reports it.
 */
public final class ConntrackSizing {

    private ConntrackSizing() {
    }

    /** Whole cores of the node, fractional capacity rounded up ("3500m" is 4); empty when unknown or not positive. */
    public static OptionalInt cores(Node node) {
        if (node == null || node.getStatus() == null) {
            return OptionalInt.empty();
        }
        Map<String, Quantity> capacity = node.getStatus().getCapacity();
        return cores(capacity == null ? null : capacity.get("cpu"));
    }

    public static OptionalInt cores(Quantity cpu) {
        if (cpu == null || cpu.getAmount() == null) {
            return OptionalInt.empty();
        }
        BigDecimal amount;
        try {
            amount = cpu.getNumericalAmount();
        } catch (RuntimeException malformed) {
            // A capacity we cannot parse is as unknown as a missing one.
            return OptionalInt.empty();
        }
        if (amount.signum() <= 0) {
            return OptionalInt.empty();
        }
        BigDecimal whole = amount.setScale(0, RoundingMode.CEILING);
        return whole.compareTo(BigDecimal.valueOf(Integer.MAX_VALUE)) > 0
                ? OptionalInt.of(Integer.MAX_VALUE) : OptionalInt.of(whole.intValueExact());
    }

    /** The table size for this node, or empty when its CPU count is unknown. */
    public static OptionalInt max(Node node, int maxPerCore, Integer min) {
        OptionalInt cores = cores(node);
        return cores.isPresent() ? OptionalInt.of(max(maxPerCore, min, cores.getAsInt())) : OptionalInt.empty();
    }

    /**
     * {@code max(maxPerCore x cores, min)}, capped at {@link Integer#MAX_VALUE} because
     * nf_conntrack_max is a C int (16Mi per core on a 256-core node would overflow it).
     */
    public static int max(int maxPerCore, Integer min, int cores) {
        long perCore = (long) maxPerCore * cores;
        long sized = min == null ? perCore : Math.max(perCore, min);
        return (int) Math.min(sized, Integer.MAX_VALUE);
    }
}
