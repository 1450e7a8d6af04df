package dev.conntrack.operator;

import dev.conntrack.api.ConntrackPolicy;
import io.javaoperatorsdk.operator.processing.event.source.filter.OnUpdateFilter;
import java.util.Objects;

/**
 * Which policy updates re-run the policy reconciler: spec edits (generation), deletion, finalizer
 * changes, and the resume annotation. Not its own status writes. It replaces the operator SDK's
 * generation-aware filtering, which would also drop the annotation-only update that resumes a
 * paused rollout.
 */
public class PolicyUpdateFilter implements OnUpdateFilter<ConntrackPolicy> {

    @Override
    public boolean accept(ConntrackPolicy newPolicy, ConntrackPolicy oldPolicy) {
        return ChangeFilters.generationChanged(newPolicy, oldPolicy)
                || ChangeFilters.deletionChanged(newPolicy, oldPolicy)
                || !Objects.equals(newPolicy.getMetadata().getFinalizers(), oldPolicy.getMetadata().getFinalizers())
                || !Objects.equals(RolloutPlanner.resumeAnnotation(newPolicy), RolloutPlanner.resumeAnnotation(oldPolicy));
    }
}
