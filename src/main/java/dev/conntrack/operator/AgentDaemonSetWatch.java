package dev.conntrack.operator;

import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

/**
 * The agent DaemonSet as last seen (one watch on that one object, started on first use), for the
 * policies' {@link AgentPodsCondition}. Nothing when the operator does not manage the DaemonSet.
 */
@Singleton
public class AgentDaemonSetWatch {
    @Inject
    KubernetesClient client;
    @Inject
    OperatorConfig config;

    private SharedIndexInformer<DaemonSet> informer;

    /** The DaemonSet, or null when it is not managed here, not there, or not seen yet. */
    public synchronized DaemonSet current() {
        if (!config.agent().manageDaemonSet()) {
            return null;
        }
        if (informer == null) {
            // The handler is set before the informer runs: the informer refuses one once running.
            SharedIndexInformer<DaemonSet> created = client.apps().daemonSets().inNamespace(config.agent().namespace())
                    .withName(AgentDaemonSetFactory.NAME).runnableInformer(0);
            created.exceptionHandler((started, error) -> true);
            created.run();
            informer = created;
        }
        return informer.getStore().list().stream().findFirst().orElse(null);
    }

    @PreDestroy
    synchronized void close() {
        if (informer != null) {
            informer.close();
        }
    }
}
