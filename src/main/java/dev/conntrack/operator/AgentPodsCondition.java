package dev.conntrack.operator;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackPolicyStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.DaemonSetStatus;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The policy condition {@value #TYPE}: False, naming the DaemonSet and its counts, while agent pods
 * that should run do not (an image that does not exist, a crash loop, a node that cannot start
 * them). Without it such a fault stays silent: node states keep the last status their old agents
 * wrote until the agents count as silent. The condition is only present while pods are missing,
 * so clusters where agents run fine (and the API server tiers, where no pods run) see no change.
 */
public final class AgentPodsCondition {
    public static final String TYPE = "AgentPodsReady";
    public static final String REASON = "AgentPodsNotReady";
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    private AgentPodsCondition() {
    }

    /** The condition for the DaemonSet as the watch last saw it; empty when every desired pod is ready. */
    static Optional<Condition> of(DaemonSet daemonSet, Long generation) {
        if (daemonSet == null || daemonSet.getStatus() == null) {
            return Optional.empty();
        }
        DaemonSetStatus s = daemonSet.getStatus();
        int desired = value(s.getDesiredNumberScheduled());
        int ready = value(s.getNumberReady());
        int unavailable = value(s.getNumberUnavailable());
        if (desired == 0 || (ready >= desired && unavailable == 0)) {
            return Optional.empty();
        }
        String ds = daemonSet.getMetadata().getNamespace() + "/" + daemonSet.getMetadata().getName();
        return Optional.of(Conditions.of(TYPE, false, REASON, ready + " of " + desired + " agent pods of DaemonSet " + ds
                + " are ready (" + unavailable + " unavailable): nodes without a running agent neither apply nor report."
                + " Look at kubectl -n " + daemonSet.getMetadata().getNamespace() + " get pods -l app.kubernetes.io/name="
                + daemonSet.getMetadata().getName() + " (an image that cannot be pulled, a crash loop)", generation));
    }

    /**
     * The status to write: {@code fresh} (the roll-up's new status, or empty when it did not change)
     * with this condition set or removed; empty when neither changed anything.
     */
    static Optional<ConntrackPolicyStatus> amend(ConntrackPolicyStatus previous, Optional<ConntrackPolicyStatus> fresh,
            Optional<Condition> condition, Instant now) {
        Condition before = previous == null ? null : Conditions.find(previous.getConditions(), TYPE);
        ConntrackPolicyStatus status;
        if (fresh.isPresent()) {
            status = fresh.get();
        } else {
            boolean unchanged = condition.isEmpty() ? before == null : before != null && sameExceptTime(before, condition.get());
            if (unchanged) {
                return Optional.empty();
            }
            status = SERIALIZATION.clone(previous == null ? new ConntrackPolicyStatus() : previous);
        }
        List<Condition> conditions = new ArrayList<>(status.getConditions() == null ? List.of() : status.getConditions());
        conditions.removeIf(c -> TYPE.equals(c.getType()));
        condition.ifPresent(c -> conditions.addAll(Conditions.merge(before == null ? List.of() : List.of(before), List.of(c), now)));
        status.setConditions(conditions);
        return Optional.of(status);
    }

    private static boolean sameExceptTime(Condition a, Condition b) {
        return Objects.equals(a.getStatus(), b.getStatus()) && Objects.equals(a.getReason(), b.getReason())
                && Objects.equals(a.getMessage(), b.getMessage()) && Objects.equals(a.getObservedGeneration(), b.getObservedGeneration());
    }

    private static int value(Integer i) {
        return i == null ? 0 : i;
    }
}
