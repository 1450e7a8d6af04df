package dev.conntrack.operator;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.Dependent;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import jakarta.interceptor.Interceptor;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * Never two operators at once: leader election with a Lease in the operator's namespace, through the
 * operator SDK (which keeps every replica's informers warm and lets only the leader reconcile). What
 * this class adds around it:
 * <ul>
 * <li>work outside the reconcilers that only the leader may do (the agent DaemonSet) starts when it
 *     leads ({@link #whenLeading});</li>
 * <li>a leader that loses the Lease while running (partitioned, API server unreachable beyond the
 *     renew deadline) stops at once: the operator SDK would otherwise keep reconciling or exit only
 *     through a full shutdown, while another replica may already lead;</li>
 * <li>a leader that shuts down (SIGTERM: a rolling update, a drained node) hands the Lease over at
 *     once instead of letting the next one wait for it to expire.</li>
 * </ul>
 */
@Singleton
public class LeaderLease {
    private static final Logger LOG = Logger.getLogger(LeaderLease.class);

    private final OperatorConfig config;
    private final KubernetesClient client;
    /** Looked up at shutdown only: the operator is built from this class's election configuration. */
    private final Instance<Operator> operator;
    private final String identity;
    private final List<Runnable> onLeading = new CopyOnWriteArrayList<>();
    private volatile boolean leading;
    private volatile boolean shuttingDown;
    private volatile boolean ledOnce;
    private final AtomicBoolean handedOver = new AtomicBoolean();

    @Inject
    public LeaderLease(OperatorConfig config, KubernetesClient client, Instance<Operator> operator) {
        this.config = config;
        this.client = client;
        this.operator = operator;
        // The pod name when there is one, and a suffix of its own: two processes must never share an identity.
        String host = Objects.requireNonNullElse(System.getenv("HOSTNAME"), "conntrack-operator");
        byte[] suffix = new byte[3];
        ThreadLocalRandom.current().nextBytes(suffix);
        this.identity = host + "-" + HexFormat.of().formatHex(suffix);
    }

    public String identity() {
        return identity;
    }

    /** The operator SDK's leader election; none when it is switched off (the SDK then starts leading at once). */
    @Produces
    @Dependent
    LeaderElectionConfiguration leaderElection() {
        OperatorConfig.LeaderElection election = config.leaderElection();
        if (!election.enabled()) {
            return null;
        }
        // Not the SDK's exit on a lost Lease: stoppedLeading halts, or hands the Lease over on shutdown
        // (an exit from within the shutdown that stops the elector would wait on that very shutdown).
        return new LeaderElectionConfiguration(election.leaseName(), config.agent().namespace(),
                election.leaseDuration(), election.renewDeadline(), election.retryPeriod(), identity,
                new LeaderCallbacks(this::startedLeading, this::stoppedLeading,
                        leader -> LOG.infof("Leader of %s/%s: %s", config.agent().namespace(), election.leaseName(), leader)),
                false);
    }

    /** Runs the task once this replica leads (at once when it does, or when leader election is off). */
    public void whenLeading(Runnable task) {
        if (leading || !config.leaderElection().enabled()) {
            task.run();
        } else {
            onLeading.add(task);
        }
    }

    /**
     * On SIGTERM (a rolling update, a drain): stop reconciling and renewing, then hand the Lease over,
     * so that another replica leads at once instead of after the Lease expires. The operator SDK's
     * elector does not release it. Done first in the shutdown, while the client is open: the SDK's
     * stop closes it, and after Quarkus.waitForExit returns it may be closed already.
     */
    void onShutdown(@Observes @Priority(Interceptor.Priority.PLATFORM_BEFORE) ShutdownEvent event) {
        shuttingDown = true;
        if (operator.isResolvable()) {
            // When the elector's stop callback runs (stoppedLeading), it hands the Lease over
            // before the SDK closes the client.
            operator.get().stop();
        }
        if (ledOnce) {
            // In case that callback did not run; a replica that never led holds nothing.
            handOver();
        }
    }

    private void startedLeading() {
        LOG.infof("%s leads: reconciling", identity);
        leading = true;
        ledOnce = true;
        for (Runnable task : onLeading) {
            task.run();
        }
        onLeading.clear();
    }

    private void stoppedLeading() {
        leading = false;
        if (shuttingDown) {
            handOver();
            return;
        }
        // Another replica may lead already: not one more reconcile, not even a graceful shutdown.
        LOG.errorf("%s lost the leader election Lease: stopping at once", identity);
        Runtime.getRuntime().halt(1);
    }

    /**
     * Clears the Lease if this replica still holds it, so that another one takes it on its next try.
     * Called once the operator has stopped (no renewal can take it back).
     */
    public void handOver() {
        if (!config.leaderElection().enabled() || !handedOver.compareAndSet(false, true)) {
            return;
        }
        String namespace = config.agent().namespace();
        String name = config.leaderElection().leaseName();
        try {
            Lease lease = client.leases().inNamespace(namespace).withName(name).get();
            if (lease == null || lease.getSpec() == null || !identity.equals(lease.getSpec().getHolderIdentity())) {
                return;
            }
            // A patch carrying the resourceVersion read: it fails if another replica took the Lease meanwhile.
            client.leases().inNamespace(namespace).withName(name).patch(PatchContext.of(PatchType.JSON_MERGE),
                    "{\"metadata\":{\"resourceVersion\":\"" + lease.getMetadata().getResourceVersion()
                            + "\"},\"spec\":{\"holderIdentity\":null,\"leaseDurationSeconds\":1}}");
            LOG.infof("%s handed the Lease %s/%s over", identity, namespace, name);
        } catch (KubernetesClientException | IllegalStateException e) {
            // IllegalStateException: the client is closed already.
            // It expires by itself after its duration.
            LOG.warnf("could not hand the Lease %s/%s over (%s); it expires by itself", namespace, name, e.getMessage());
        }
    }
}
