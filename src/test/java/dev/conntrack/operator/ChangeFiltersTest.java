package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackPolicyStatus;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ChangeFiltersTest {

    @Test
    void anAgentsStatusWriteDoesNotReachTheNodeReconciler() {
        ConntrackNodeState before = state(3L);
        ConntrackNodeState heartbeat = copy(before);
        heartbeat.setStatus(new ConntrackNodeStateStatus());
        heartbeat.getStatus().setHeartbeatTime("2026-03-01T10:01:00Z");
        heartbeat.getMetadata().setResourceVersion("2");

        assertThat(ChangeFilters.specOrDeletionChanged(heartbeat, before)).isFalse();

        ConntrackNodeState edited = copy(before);
        edited.getMetadata().setGeneration(4L);
        assertThat(ChangeFilters.specOrDeletionChanged(edited, before)).isTrue();
        ConntrackNodeState deleting = copy(before);
        deleting.getMetadata().setDeletionTimestamp("2026-03-01T10:01:00Z");
        assertThat(ChangeFilters.specOrDeletionChanged(deleting, before)).isTrue();
    }

    @Test
    void aHeartbeatThatCarriesNothingNewCausesNoRollUp() {
        ConntrackNodeState before = state(3L);
        before.setStatus(new ConntrackNodeStateStatus());
        before.getStatus().setObservedGeneration(3L);
        before.getStatus().setHeartbeatTime("2026-03-01T10:00:00Z");
        ConntrackNodeState heartbeat = copy(before);
        heartbeat.getStatus().setHeartbeatTime("2026-03-01T10:01:00Z");
        assertThat(ChangeFilters.moreThanHeartbeatChanged(heartbeat, before)).isFalse();

        ConntrackNodeState applied = copy(heartbeat);
        applied.getStatus().setConditions(List.of(dev.conntrack.api.Conditions.of("Applied", true, "SettingsApplied", "", 3L)));
        assertThat(ChangeFilters.moreThanHeartbeatChanged(applied, before)).isTrue();
        ConntrackNodeState usage = copy(heartbeat);
        usage.getStatus().setUsage(new dev.conntrack.api.TableUsage());
        usage.getStatus().getUsage().setUsagePercent(91.0);
        assertThat(ChangeFilters.moreThanHeartbeatChanged(usage, before)).isTrue();
        ConntrackNodeState respecced = copy(heartbeat);
        respecced.getMetadata().setGeneration(4L);
        assertThat(ChangeFilters.moreThanHeartbeatChanged(respecced, before)).isTrue();
    }

    @Test
    void thePolicyReconcilerSkipsItsOwnStatusWritesButNotTheResumeAnnotation() {
        ChangeFilters.PolicyUpdates filter = new ChangeFilters.PolicyUpdates();
        ConntrackPolicy before = PolicyStatusAggregatorTest.policy("p", 2);

        ConntrackPolicy statusWritten = copy(before);
        statusWritten.setStatus(new ConntrackPolicyStatus());
        statusWritten.getMetadata().setResourceVersion("9");
        assertThat(filter.accept(statusWritten, before)).isFalse();

        ConntrackPolicy resumed = copy(before);
        resumed.getMetadata().setAnnotations(Map.of(RolloutPlanner.RESUME_ANNOTATION, "1"));
        assertThat(filter.accept(resumed, before)).isTrue();
        ConntrackPolicy otherAnnotation = copy(before);
        otherAnnotation.getMetadata().setAnnotations(Map.of("note", "x"));
        assertThat(filter.accept(otherAnnotation, before)).isFalse();

        ConntrackPolicy edited = copy(before);
        edited.getMetadata().setGeneration(3L);
        assertThat(filter.accept(edited, before)).isTrue();
        ConntrackPolicy finalized = copy(before);
        finalized.getMetadata().setFinalizers(List.of(OperatorLabels.FINALIZER));
        assertThat(filter.accept(finalized, before)).isTrue();
    }

    private static ConntrackNodeState state(long generation) {
        ConntrackNodeState s = new ConntrackNodeState();
        s.getMetadata().setName("n");
        s.getMetadata().setGeneration(generation);
        s.getMetadata().setResourceVersion("1");
        return s;
    }

    @SuppressWarnings("unchecked")
    private static <T> T copy(T object) {
        return (T) Serialization.clone(object);
    }
}
