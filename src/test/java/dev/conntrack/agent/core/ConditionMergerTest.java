package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConditionMergerTest {
    private static final Clock T1 = Clock.fixed(Instant.parse("2025-11-25T10:00:00.750Z"), ZoneOffset.UTC);
    private static final Clock T2 = Clock.fixed(Instant.parse("2025-11-25T10:05:00Z"), ZoneOffset.UTC);

    private static Condition c(String type, String status, String reason) {
        return new ConditionBuilder().withType(type).withStatus(status).withReason(reason).withMessage(reason + " msg")
                .withObservedGeneration(2L).build();
    }

    @Test
    void newConditionsGetTheCurrentTimeInRfc3339() {
        List<Condition> merged = new ConditionMerger(T1).merge(List.of(), List.of(c("Applied", "True", "SettingsApplied")));
        assertThat(merged).singleElement().extracting(Condition::getLastTransitionTime).isEqualTo("2025-11-25T10:00:00Z");
    }

    @Test
    void timeIsKeptUnlessTheStatusFlips() {
        List<Condition> first = new ConditionMerger(T1).merge(null, List.of(
                c("Applied", "True", "SettingsApplied"), c("TableFull", "False", "NoDrops")));

        // Reason/message changes without a status flip keep the time; a flip takes the new one.
        List<Condition> second = new ConditionMerger(T2).merge(first, List.of(
                c("Applied", "True", "SettingsApplied"), c("TableFull", "True", "DropsRising")));

        assertThat(second.get(0).getLastTransitionTime()).isEqualTo("2025-11-25T10:00:00Z");
        assertThat(second.get(1).getLastTransitionTime()).isEqualTo("2025-11-25T10:05:00Z");
        assertThat(ConditionMerger.equivalent(first, second)).isFalse();
    }

    @Test
    void nothingChangedIsEquivalentSoTheWriteCanBeSkipped() {
        List<Condition> first = new ConditionMerger(T1).merge(List.of(), List.of(
                c("Applied", "True", "SettingsApplied"), c("Pressure", "False", "UsageNormal")));
        List<Condition> again = new ConditionMerger(T2).merge(first, List.of(
                c("Pressure", "False", "UsageNormal"), c("Applied", "True", "SettingsApplied")));

        assertThat(ConditionMerger.equivalent(first, again)).isTrue();
    }

    @Test
    void equivalenceSeesEveryField() {
        Condition base = c("Applied", "True", "SettingsApplied");
        assertThat(ConditionMerger.equivalent(List.of(base), List.of(new ConditionBuilder(base).withMessage("other").build()))).isFalse();
        assertThat(ConditionMerger.equivalent(List.of(base), List.of(new ConditionBuilder(base).withReason("Other").build()))).isFalse();
        assertThat(ConditionMerger.equivalent(List.of(base), List.of(new ConditionBuilder(base).withObservedGeneration(3L).build()))).isFalse();
        assertThat(ConditionMerger.equivalent(List.of(base), List.of(base, c("Degraded", "False", "AsExpected")))).isFalse();
    }

    @Test
    void inputsAreNotModified() {
        Condition previous = new ConditionBuilder(c("Applied", "True", "SettingsApplied")).withLastTransitionTime("2025-01-01T00:00:00Z").build();
        Condition next = c("Applied", "False", "WriteRefused");
        new ConditionMerger(T2).merge(List.of(previous), List.of(next));
        assertThat(next.getLastTransitionTime()).isNull();
        assertThat(previous.getLastTransitionTime()).isEqualTo("2025-01-01T00:00:00Z");
    }
}
