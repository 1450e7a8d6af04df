package dev.conntrack.operator;

import dev.conntrack.api.ConntrackNodeState;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.OperatorException;
import io.javaoperatorsdk.operator.processing.event.Event;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.AbstractEventSource;
import java.util.Set;

/**
 * Feeds one controller from the shared {@link NodeStateCache}: each change the watch sees is
 * mapped to the primary resources it concerns (none, for a change that reader does not care
 * about), in place of an informer of the controller's own on the same resource. Starting it
 * starts the shared watch if no other controller has, and waits for its initial list, so the
 * controller never reconciles against an empty cache.
 */
public class NodeStateEventSource<P extends HasMetadata> extends AbstractEventSource<Void, P>
        implements NodeStateCache.Listener {

    /** Which primaries a change concerns; {@code old} is null for an add. */
    @FunctionalInterface
    public interface Mapper {
        Set<ResourceID> concerned(ConntrackNodeState old, ConntrackNodeState current, boolean deleted);
    }

    private final NodeStateCache cache;
    private final Mapper mapper;

    public NodeStateEventSource(String name, NodeStateCache cache, Mapper mapper) {
        super(Void.class, name);
        this.cache = cache;
        this.mapper = mapper;
    }

    @Override
    public void start() throws OperatorException {
        super.start();
        cache.addListener(this);
        cache.start();
    }

    @Override
    public void stop() throws OperatorException {
        cache.removeListener(this);
        super.stop();
    }

    @Override
    public void changed(ConntrackNodeState old, ConntrackNodeState current, boolean deleted) {
        if (!isRunning()) {
            return;
        }
        for (ResourceID id : mapper.concerned(old, current, deleted)) {
            getEventHandler().handleEvent(new Event(id));
        }
    }

    @Override
    public Set<Void> getSecondaryResources(P primary) {
        return Set.of();
    }
}
