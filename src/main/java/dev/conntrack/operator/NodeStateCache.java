package dev.conntrack.operator;

import dev.conntrack.api.ConntrackNodeState;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * The operator's one watch on ConntrackNodeStates, shared by the node reconciler and the roll-up.
 * Each of them (and a garbage collector of node states, since left to the cluster's) used to run an
 * informer of its own, so every agent status write and every spec write reached the operator three
 * times and was decoded three times: at 5,000 nodes that decoding was about a third of the
 * operator's CPU during a rollout
 * (bench/RESULTS.md). The store keeps what any reader needs ({@link PrunedItemStore#nodeStateShared}),
 * and each reader filters the changes it reacts to ({@link NodeStateEventSource}).
 */
@Singleton
public class NodeStateCache {
    private static final Logger LOG = Logger.getLogger(NodeStateCache.class);
    private static final Duration SYNC_TIMEOUT = Duration.ofMinutes(5);

    /** A change seen by the watch: {@code old} is null for an add, {@code current} for a delete is the last state known. */
    public interface Listener {
        void changed(ConntrackNodeState old, ConntrackNodeState current, boolean deleted);
    }

    private final CopyOnWriteArrayList<Listener> listeners = new CopyOnWriteArrayList<>();
    private final KubernetesClient client;
    private SharedIndexInformer<ConntrackNodeState> informer;

    @Inject
    public NodeStateCache(KubernetesClient client) {
        this.client = client;
    }

    /** Listeners added before {@link #start()} also see the initial list as adds. */
    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    public void removeListener(Listener listener) {
        listeners.remove(listener);
    }

    /** Starts the watch once, however many readers ask, and returns when the cache holds the initial list. */
    public synchronized void start() {
        if (informer == null) {
            SharedIndexInformer<ConntrackNodeState> created = client.resources(ConntrackNodeState.class).runnableInformer(0)
                    .itemStore(new PrunedItemStore<ConntrackNodeState>(PrunedItemStore::nodeStateShared));
            created.addEventHandler(dispatcher());
            informer = created;
            LOG.debug("starting the shared node state informer");
            try {
                created.start().toCompletableFuture().get(SYNC_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while listing ConntrackNodeStates", e);
            } catch (ExecutionException | TimeoutException e) {
                throw new IllegalStateException("could not list and watch ConntrackNodeStates", e);
            }
        }
    }

    public synchronized void stop() {
        if (informer != null) {
            informer.stop();
            informer = null;
        }
    }

    public synchronized boolean isRunning() {
        return informer != null && informer.isRunning();
    }

    /** The cached state of this node (shared with every reader: do not change it). */
    public Optional<ConntrackNodeState> get(String name) {
        SharedIndexInformer<ConntrackNodeState> i = informer;
        return i == null ? Optional.empty() : Optional.ofNullable(i.getStore().getByKey(name));
    }

    public Stream<ConntrackNodeState> stream() {
        SharedIndexInformer<ConntrackNodeState> i = informer;
        return i == null ? Stream.empty() : i.getStore().list().stream();
    }

    /** What the watch calls with each change (package-private for tests). */
    ResourceEventHandler<ConntrackNodeState> dispatcher() {
        return new Dispatcher();
    }

    private final class Dispatcher implements ResourceEventHandler<ConntrackNodeState> {
        @Override
        public void onAdd(ConntrackNodeState state) {
            dispatch(null, state, false);
        }

        @Override
        public void onUpdate(ConntrackNodeState old, ConntrackNodeState state) {
            dispatch(old, state, false);
        }

        @Override
        public void onDelete(ConntrackNodeState state, boolean deletedFinalStateUnknown) {
            dispatch(null, state, true);
        }

        private void dispatch(ConntrackNodeState old, ConntrackNodeState current, boolean deleted) {
            for (Listener listener : listeners) {
                try {
                    listener.changed(old, current, deleted);
                } catch (RuntimeException e) {
                    // One reader's failure must not keep the change from the others.
                    LOG.warnf(e, "node state listener failed on %s", current.getMetadata().getName());
                }
            }
        }
    }
}
