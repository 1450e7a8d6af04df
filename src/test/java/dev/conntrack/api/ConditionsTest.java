package dev.conntrack.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConditionsTest {
    private static final Instant T1 = Instant.parse("2025-11-25T10:00:00.750Z");
    private static final Instant T2 = Instant.parse("2025-11-25T10:05:00Z");

    private static Condition c(String type, String status, String reason) {
        return new ConditionBuilder().withType(type).withStatus(status).withReason(reason).withMessage(reason + " msg")
                .withObservedGeneration(2L).build();
    }

    @Test
    void newConditionsGetTheCurrentTimeInRfc3339Seconds() {
        List<Condition> merged = Conditions.merge(List.of(), List.of(c("Applied", "True", "SettingsApplied")), T1);
        assertThat(merged).singleElement().extracting(Condition::getLastTransitionTime).isEqualTo("2025-11-25T10:00:00Z");
    }

    @Test
    void timeIsKeptUnlessTheStatusFlips() {
        List<Condition> first = Conditions.merge(null, List.of(
                c("Applied", "True", "SettingsApplied"), c("TableFull", "False", "NoDrops")), T1);

        List<Condition> second = Conditions.merge(first, List.of(
                c("Applied", "True", "SettingsApplied"), c("TableFull", "True", "DropsRising")), T2);

        assertThat(second.get(0).getLastTransitionTime()).isEqualTo("2025-11-25T10:00:00Z");
        assertThat(second.get(1).getLastTransitionTime()).isEqualTo("2025-11-25T10:05:00Z");
        assertThat(Conditions.same(first, second)).isFalse();
    }

    @Test
    void nothingChangedIsTheSameSoTheWriteCanBeSkipped() {
        List<Condition> fresh = List.of(c("Applied", "True", "SettingsApplied"), c("Pressure", "False", "UsageNormal"));
        List<Condition> first = Conditions.merge(List.of(), fresh, T1);
        assertThat(Conditions.same(first, Conditions.merge(first, fresh, T2))).isTrue();
    }

    @Test
    void sameSeesEveryField() {
        Condition base = c("Applied", "True", "SettingsApplied");
        assertThat(Conditions.same(List.of(base), List.of(new ConditionBuilder(base).withMessage("other").build()))).isFalse();
        assertThat(Conditions.same(List.of(base), List.of(new ConditionBuilder(base).withReason("Other").build()))).isFalse();
        assertThat(Conditions.same(List.of(base), List.of(new ConditionBuilder(base).withObservedGeneration(3L).build()))).isFalse();
        assertThat(Conditions.same(List.of(base), List.of(base, c("Degraded", "False", "AsExpected")))).isFalse();
        assertThat(Conditions.same(null, List.of())).isTrue();
    }

    @Test
    void inputsAreNotModifiedAndLookupsWork() {
        Condition previous = new ConditionBuilder(c("Applied", "True", "SettingsApplied")).withLastTransitionTime("2025-01-01T00:00:00Z").build();
        Condition next = c("Applied", "False", "WriteRefused");
        List<Condition> merged = Conditions.merge(List.of(previous), List.of(next), T2);
        assertThat(next.getLastTransitionTime()).isNull();
        assertThat(previous.getLastTransitionTime()).isEqualTo("2025-01-01T00:00:00Z");
        assertThat(Conditions.isTrue(merged, "Applied")).isFalse();
        assertThat(Conditions.find(merged, "Applied").getLastTransitionTime()).isEqualTo("2025-11-25T10:05:00Z");
        assertThat(Conditions.find(merged, "Missing")).isNull();
    }

    @Test
    void anUnchangedConditionIsThePreviousObjectAndAChangedMessageKeepsTheTime() {
        List<Condition> first = Conditions.merge(null, List.of(
                c("Applied", "True", "SettingsApplied"), c("Pressure", "False", "UsageNormal")), T1);
        Condition reworded = new ConditionBuilder(c("Pressure", "False", "UsageNormal")).withMessage("below 90%").build();

        List<Condition> second = Conditions.merge(first, List.of(c("Applied", "True", "SettingsApplied"), reworded), T2);

        assertThat(second.get(0)).isSameAs(first.get(0));
        assertThat(second.get(1)).isNotSameAs(first.get(1));
        assertThat(second.get(1).getMessage()).isEqualTo("below 90%");
        assertThat(second.get(1).getLastTransitionTime()).as("status did not flip").isEqualTo("2025-11-25T10:00:00Z");
    }

    @Test
    void createLeavesTheTransitionTimeToMerge() {
        Condition created = Conditions.create("TableFull", "Unknown", "DropsUnavailable", "no counters", 4L);
        assertThat(created).isEqualTo(new ConditionBuilder().withType("TableFull").withStatus("Unknown")
                .withReason("DropsUnavailable").withMessage("no counters").withObservedGeneration(4L).build());
        assertThat(created.getLastTransitionTime()).isNull();
    }
}
