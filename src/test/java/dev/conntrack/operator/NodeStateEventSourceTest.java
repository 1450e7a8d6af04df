package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.ConntrackNodeState;
import io.fabric8.kubernetes.api.model.Node;
import io.javaoperatorsdk.operator.processing.event.Event;
import io.javaoperatorsdk.operator.processing.event.EventHandler;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NodeStateEventSourceTest {

    private final List<ResourceID> handled = new ArrayList<>();
    private final EventHandler handler = new EventHandler() {
        @Override
        public void handleEvent(Event event) {
            handled.add(event.getRelatedCustomResourceID());
        }
    };

    @Test
    void changesReachTheControllerAsTheMapperSaysOnlyWhileRunning() {
        NodeStateCache cache = new NodeStateCache(null) {
            @Override
            public synchronized void start() {
                // No API server here: the test delivers the changes itself.
            }
        };
        NodeStateEventSource<Node> source = new NodeStateEventSource<>("nodestates", cache,
                (old, state, deleted) -> old == null || deleted ? Set.of(new ResourceID(state.getMetadata().getName())) : Set.of());
        source.setEventHandler(handler);

        source.changed(null, state("before-start"), false);
        assertThat(handled).as("not started yet").isEmpty();

        source.start();
        source.changed(null, state("a"), false);
        source.changed(state("b"), state("b"), false);
        source.changed(null, state("c"), true);
        assertThat(handled).containsExactly(new ResourceID("a"), new ResourceID("c"));

        source.stop();
        source.changed(null, state("d"), false);
        assertThat(handled).hasSize(2);
    }

    @Test
    void theCacheHandsEveryChangeToEveryListenerEvenWhenOneFails() {
        NodeStateCache cache = new NodeStateCache(null);
        List<String> seen = new ArrayList<>();
        cache.addListener((old, state, deleted) -> {
            throw new IllegalStateException("a broken reader");
        });
        cache.addListener((old, state, deleted) -> seen.add(state.getMetadata().getName() + (deleted ? " deleted" : "")));

        cache.dispatcher().onAdd(state("a"));
        cache.dispatcher().onUpdate(state("a"), state("a"));
        cache.dispatcher().onDelete(state("a"), false);

        assertThat(seen).containsExactly("a", "a", "a deleted");
    }

    private static ConntrackNodeState state(String name) {
        ConntrackNodeState s = new ConntrackNodeState();
        s.getMetadata().setName(name);
        return s;
    }
}
