package dev.conntrack.operator;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Objects;

/**
 * Update filters for informers. An agent rewrites its node state's status at least once a minute;
 * at 5,000 nodes that is over 80 updates a second, none of which changes what the node reconciler
 * merges: only spec changes (a new metadata.generation) and deletions get through.
 */
final class ChangeFilters {

    private ChangeFilters() {
    }

    /** For the node reconciler's policy and node state informers: the spec changed or deletion began. */
    static boolean specOrDeletionChanged(HasMetadata newResource, HasMetadata oldResource) {
        return generationChanged(newResource, oldResource) || deletionChanged(newResource, oldResource);
    }

    static boolean generationChanged(HasMetadata newResource, HasMetadata oldResource) {
        return !Objects.equals(newResource.getMetadata().getGeneration(), oldResource.getMetadata().getGeneration());
    }

    static boolean deletionChanged(HasMetadata newResource, HasMetadata oldResource) {
        return !Objects.equals(newResource.getMetadata().getDeletionTimestamp(), oldResource.getMetadata().getDeletionTimestamp());
    }
}
