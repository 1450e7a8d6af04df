package dev.conntrack.operator;

import static dev.conntrack.operator.PolicyStatusAggregatorTest.applied;
import static dev.conntrack.operator.PolicyStatusAggregatorTest.note;
import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.ConntrackNodeState;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Policy "p"'s Conflict condition from the conflict notes the merger left on its nodes. */
class ConflictSummaryTest {

    private static ConntrackNodeState withNotes(String name, dev.conntrack.api.ConflictNote... notes) {
        ConntrackNodeState s = applied(name);
        s.getSpec().setConflicts(List.of(notes));
        return s;
    }

    @Test
    void noNoteNamingThePolicyIsNoConflict() {
        ConflictSummary summary = new ConflictSummary("p");
        summary.add(applied("a"));
        summary.add(withNotes("b", note("conntrack.max", "q", "r")));

        Condition c = summary.condition(3L);

        assertThat(c.getStatus()).isEqualTo("False");
        assertThat(c.getReason()).isEqualTo(PolicyStatusAggregator.REASON_NO_CONFLICT);
        assertThat(c.getObservedGeneration()).isEqualTo(3L);
    }

    @Test
    void namesEachFieldWithTheOtherPoliciesAndCountsNodesOnce() {
        ConflictSummary summary = new ConflictSummary("p");
        summary.add(withNotes("a", note("conntrack.max", "p", "q"), note("conntrack.buckets", "q", "p")));
        summary.add(withNotes("b", note("conntrack.max", "p", "r")));
        summary.add(withNotes("c", note("conntrack.max", "q", "r")));

        Condition c = summary.condition(1L);

        assertThat(c.getStatus()).isEqualTo("True");
        assertThat(c.getReason()).isEqualTo(PolicyStatusAggregator.REASON_EQUAL_PRIORITY_CONFLICT);
        assertThat(c.getMessage()).contains("2 nodes")
                .contains("conntrack.buckets (with q), conntrack.max (with q, r)")
                .endsWith("the alphabetically first policy wins");
    }

    @Test
    void atMostFiveFieldsAreNamedAndTheRestCounted() {
        List<dev.conntrack.api.ConflictNote> notes = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            notes.add(note("field-" + i, "p", "q"));
        }
        ConflictSummary summary = new ConflictSummary("p");
        summary.add(withNotes("a", notes.toArray(dev.conntrack.api.ConflictNote[]::new)));

        String message = summary.condition(1L).getMessage();

        assertThat(message).contains("field-4 (with q)").doesNotContain("field-5").contains("and 3 more");
        assertThat(message.length()).isLessThanOrEqualTo(PolicyStatusAggregator.MAX_MESSAGE_CHARS);
    }
}
