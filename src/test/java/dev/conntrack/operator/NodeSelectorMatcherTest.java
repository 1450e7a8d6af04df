package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NodeSelectorMatcherTest {

    private static final Map<String, String> WORKER = Map.of(
            "node-role.kubernetes.io/worker", "",
            "topology.kubernetes.io/zone", "eu-1a",
            "pool", "ingress");

    @Test
    void nullOrEmptySelectorSelectsEveryNode() {
        assertThat(NodeSelectorMatcher.matches((LabelSelector) null, WORKER)).isTrue();
        assertThat(NodeSelectorMatcher.matches(new LabelSelector(), WORKER)).isTrue();
        assertThat(NodeSelectorMatcher.matches(new LabelSelector(), Map.of())).isTrue();
        assertThat(NodeSelectorMatcher.matches(new LabelSelector(), (Map<String, String>) null)).isTrue();
    }

    @Test
    void matchLabelsNeedsEveryPairEqual() {
        LabelSelector ingress = new LabelSelectorBuilder().addToMatchLabels("pool", "ingress").build();
        LabelSelector both = new LabelSelectorBuilder()
                .addToMatchLabels("pool", "ingress")
                .addToMatchLabels("topology.kubernetes.io/zone", "eu-1b").build();

        assertThat(NodeSelectorMatcher.matches(ingress, WORKER)).isTrue();
        assertThat(NodeSelectorMatcher.matches(both, WORKER)).isFalse();
        assertThat(NodeSelectorMatcher.matches(ingress, Map.of())).isFalse();
    }

    @Test
    void inNeedsThePresentKeyWithOneOfTheValues() {
        assertThat(NodeSelectorMatcher.matches(expr("pool", "In", "ingress", "egress"), WORKER)).isTrue();
        assertThat(NodeSelectorMatcher.matches(expr("pool", "In", "batch"), WORKER)).isFalse();
        assertThat(NodeSelectorMatcher.matches(expr("gpu", "In", "true"), WORKER)).isFalse();
    }

    @Test
    void notInMatchesWhenTheKeyIsAbsent() {
        assertThat(NodeSelectorMatcher.matches(expr("pool", "NotIn", "batch"), WORKER)).isTrue();
        assertThat(NodeSelectorMatcher.matches(expr("pool", "NotIn", "ingress"), WORKER)).isFalse();
        assertThat(NodeSelectorMatcher.matches(expr("gpu", "NotIn", "true"), WORKER)).isTrue();
    }

    @Test
    void existsAndDoesNotExistLookAtTheKeyOnly() {
        // An empty label value (node-role labels) still exists.
        assertThat(NodeSelectorMatcher.matches(expr("node-role.kubernetes.io/worker", "Exists"), WORKER)).isTrue();
        assertThat(NodeSelectorMatcher.matches(expr("gpu", "Exists"), WORKER)).isFalse();
        assertThat(NodeSelectorMatcher.matches(expr("gpu", "DoesNotExist"), WORKER)).isTrue();
        assertThat(NodeSelectorMatcher.matches(expr("pool", "DoesNotExist"), WORKER)).isFalse();
    }

    @Test
    void matchLabelsAndExpressionsMustAllHold() {
        LabelSelector selector = new LabelSelectorBuilder()
                .addToMatchLabels("pool", "ingress")
                .addNewMatchExpression().withKey("topology.kubernetes.io/zone").withOperator("In").withValues("eu-1a").endMatchExpression()
                .addNewMatchExpression().withKey("gpu").withOperator("DoesNotExist").endMatchExpression()
                .build();
        assertThat(NodeSelectorMatcher.matches(selector, WORKER)).isTrue();

        LabelSelector oneFails = new LabelSelectorBuilder(selector)
                .addNewMatchExpression().withKey("pool").withOperator("NotIn").withValues("ingress").endMatchExpression()
                .build();
        assertThat(NodeSelectorMatcher.matches(oneFails, WORKER)).isFalse();
    }

    @Test
    void malformedSelectorsSelectNothingAndSayWhy() {
        LabelSelector unknownOperator = expr("pool", "Gt", "1");
        LabelSelector inWithoutValues = expr("pool", "In");
        LabelSelector notInWithoutValues = expr("gpu", "NotIn");
        LabelSelector existsWithValues = expr("pool", "Exists", "ingress");
        LabelSelector noKey = expr(null, "Exists");
        LabelSelector lowercaseOperator = expr("pool", "in", "ingress");

        for (LabelSelector bad : new LabelSelector[] {unknownOperator, inWithoutValues, notInWithoutValues,
                existsWithValues, noKey, lowercaseOperator}) {
            assertThat(NodeSelectorMatcher.matches(bad, WORKER)).as("%s", bad).isFalse();
            assertThat(NodeSelectorMatcher.invalidReason(bad)).as("%s", bad).isPresent();
        }
        assertThat(NodeSelectorMatcher.invalidReason(unknownOperator)).hasValueSatisfying(r -> assertThat(r).contains("Gt"));
        assertThat(NodeSelectorMatcher.invalidReason(expr("pool", "In", "ingress"))).isEmpty();
        assertThat(NodeSelectorMatcher.invalidReason(null)).isEmpty();
    }

    @Test
    void readsTheNodesLabels() {
        Node labelled = new NodeBuilder().withNewMetadata().withName("n1").withLabels(WORKER).endMetadata().build();
        Node bare = new NodeBuilder().withNewMetadata().withName("n2").endMetadata().build();
        LabelSelector ingress = new LabelSelectorBuilder().addToMatchLabels("pool", "ingress").build();

        assertThat(NodeSelectorMatcher.matches(ingress, labelled)).isTrue();
        assertThat(NodeSelectorMatcher.matches(ingress, bare)).isFalse();
        assertThat(NodeSelectorMatcher.matches(expr("pool", "NotIn", "ingress"), bare)).isTrue();
    }

    private static LabelSelector expr(String key, String operator, String... values) {
        return new LabelSelectorBuilder()
                .addNewMatchExpression().withKey(key).withOperator(operator).withValues(values).endMatchExpression()
                .build();
    }
}
