package dev.conntrack.operator;

import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * Keeps the one agent DaemonSet in the operator's namespace as the factory builds it: applied at
 * start-up with server-side apply, and applied again whenever someone changes or deletes it.
 * It is not a reconciler because there is no primary resource: it must exist whatever the policies.
 */
public class AgentDaemonSetManager implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(AgentDaemonSetManager.class);
    private static final long RETRY_SECONDS = 10;

    private final KubernetesClient client;
    private final DaemonSet desired;
    private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "agent-daemonset");
        t.setDaemon(true);
        return t;
    });
    private final AtomicBoolean applyQueued = new AtomicBoolean();
    private SharedIndexInformer<DaemonSet> informer;

    public AgentDaemonSetManager(KubernetesClient client, DaemonSet desired) {
        this.client = client;
        this.desired = desired;
    }

    public void start() {
        queueApply(0);
        informer = client.apps().daemonSets().inNamespace(desired.getMetadata().getNamespace())
                .withName(desired.getMetadata().getName())
                .runnableInformer(0);
        // Keep watching through API server outages or a namespace that appears later.
        informer.exceptionHandler((started, error) -> true);
        informer.addEventHandler(new ResourceEventHandler<>() {
                    @Override
                    public void onAdd(DaemonSet ds) {
                    }

                    @Override
                    public void onUpdate(DaemonSet old, DaemonSet now) {
                        if (old.getMetadata().getGeneration() == null
                                || !old.getMetadata().getGeneration().equals(now.getMetadata().getGeneration())) {
                            queueApply(0);
                        }
                    }

                    @Override
                    public void onDelete(DaemonSet ds, boolean unknownFinalState) {
                        queueApply(0);
                    }
                });
        informer.start();
    }

    /** Applies the desired DaemonSet now; returns false (and retries later) when the API server refuses. */
    boolean apply() {
        try {
            client.resource(desired).fieldManager(NodeReconciler.FIELD_MANAGER).forceConflicts().serverSideApply();
            return true;
        } catch (KubernetesClientException e) {
            LOG.errorf("Cannot apply agent DaemonSet %s/%s (%s); retrying in %ds", desired.getMetadata().getNamespace(),
                    desired.getMetadata().getName(), e.getMessage(), RETRY_SECONDS);
            return false;
        }
    }

    private void queueApply(long delaySeconds) {
        if (applyQueued.compareAndSet(false, true)) {
            retries.schedule(() -> {
                applyQueued.set(false);
                if (!apply()) {
                    queueApply(RETRY_SECONDS);
                }
            }, delaySeconds, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() {
        if (informer != null) {
            informer.close();
        }
        retries.shutdownNow();
    }
}
