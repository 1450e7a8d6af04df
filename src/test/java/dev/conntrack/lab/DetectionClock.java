package dev.conntrack.lab;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.NodeConditionTypes;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * Measures detection latency as a user sees it: from the moment the router namespace's kernel drop
 * counter first rises (sampled every millisecond) to the moment the signal arrives on a watch
 * (the caller completes {@link #reported()} from its watch handler with System.nanoTime()).
 */
public final class DetectionClock {
    private final CompletableFuture<Long> firstDrop = new CompletableFuture<>();
    private final CompletableFuture<Long> reported = new CompletableFuture<>();

    public record Result(boolean detected, long millis) {
    }

    private DetectionClock() {
    }

    /** Starts sampling the drop counter; the watch handler completes {@link #reported()}. */
    public static DetectionClock start(NatLab lab) {
        DetectionClock clock = new DetectionClock();
        long baseline = lab.routerDrops();
        Thread drops = new Thread(() -> {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline && !clock.firstDrop.isDone()) {
                if (lab.routerDrops() > baseline) {
                    clock.firstDrop.complete(System.nanoTime());
                }
                sleep(1);
            }
        }, "first-drop");
        drops.setDaemon(true);
        drops.start();
        return clock;
    }

    /** Complete with System.nanoTime() when the signal arrives on the watch; later completions are ignored. */
    public CompletableFuture<Long> reported() {
        return reported;
    }

    /** Whether the first drop has been seen: a signal that arrives earlier belongs to an older episode. */
    public boolean dropSeen() {
        return firstDrop.isDone();
    }

    /**
     * A watch of node state NODE that completes {@link #reported()} when TableFull=True arrives on
     * it after the first drop. Close it after {@link #await}.
     */
    public Watch onTableFull(KubernetesClient client, String node) {
        return client.resources(ConntrackNodeState.class).withName(node).watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, ConntrackNodeState state) {
                long now = System.nanoTime();
                if (dropSeen() && state.getStatus() != null
                        && Conditions.isTrue(state.getStatus().getConditions(), NodeConditionTypes.TABLE_FULL)) {
                    reported.complete(now);
                }
            }

            @Override
            public void onClose(WatcherException cause) {
            }
        });
    }

    /** A watch of policy NAME that completes {@link #reported()} when a version satisfying SIGNAL arrives after the first drop. */
    public Watch onPolicy(KubernetesClient client, String name, Predicate<ConntrackPolicy> signal) {
        return client.resources(ConntrackPolicy.class).withName(name).watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, ConntrackPolicy policy) {
                long now = System.nanoTime();
                if (dropSeen() && action != Action.DELETED && signal.test(policy)) {
                    reported.complete(now);
                }
            }

            @Override
            public void onClose(WatcherException cause) {
            }
        });
    }

    /** A watch of Events in "default" that completes {@link #reported()} when one with REASON about NODE arrives (new or count bumped). */
    public Watch onEvent(KubernetesClient client, String node, String reason) {
        return client.v1().events().inNamespace("default").watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, Event event) {
                long now = System.nanoTime();
                if (dropSeen() && action != Action.DELETED && reason.equals(event.getReason())
                        && node.equals(event.getInvolvedObject().getName())) {
                    reported.complete(now);
                }
            }

            @Override
            public void onClose(WatcherException cause) {
            }
        });
    }

    public Result await(Duration timeout) {
        try {
            long reportedAt = reported.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return new Result(true, (reportedAt - firstDrop.get()) / 1_000_000);
        } catch (TimeoutException e) {
            return new Result(false, -1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(false, -1);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
