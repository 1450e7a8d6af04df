package dev.conntrack.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.DriftPolicy;
import dev.conntrack.testing.Sysctls;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * kube-proxy as the real conflict: the node's kube-proxy runs with its conntrack flags at 0 (it
 * leaves the sysctls alone); restarted with its default flags it writes nf_conntrack_max itself at
 * start-up (max(--conntrack-min 131072, 32768 per core)). The agent reports that as an external
 * override naming the value it found, puts the policy's value back under driftPolicy Reapply, and
 * only reports it under Report.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KubeProxyOverrideNodeTest {
    /** kube-proxy's own defaults, written out: after the zeros cluster.sh passes, so they win. */
    private static final String[] KUBE_PROXY_DEFAULTS = {"--conntrack-max-per-core=32768", "--conntrack-min=131072",
        "--conntrack-tcp-timeout-established=24h", "--conntrack-tcp-timeout-close-wait=1h"};
    private static final String POLICY_MAX = "200000";
    private static final String KUBE_PROXY_MAX = Long.toString(Math.max(131072, 32768L * Runtime.getRuntime().availableProcessors()));
    private static NodeFixture f;

    @BeforeAll
    static void install() {
        f = NodeFixture.installed();
        f.apply(policy("Reapply"));
        await().atMost(NodeFixture.WAIT).untilAsserted(() -> {
            assertThat(Sysctls.read("nf_conntrack_max")).isEqualTo(POLICY_MAX);
            assertThat(f.condition("Applied").getStatus()).isEqualTo("True");
        });
    }

    @AfterAll
    static void tearDown() {
        try {
            if (f != null) {
                f.node.restart("kube-proxy");
            }
        } finally {
            if (f != null) {
                f.close();
            }
        }
    }

    @Test
    @Order(1)
    void underReapplyTheAgentPutsThePolicysValueBackAndNamesWhatItFound() {
        f.node.restart("kube-proxy", KUBE_PROXY_DEFAULTS);
        String found = "max: set to " + KUBE_PROXY_MAX + " outside the agent (we wrote " + POLICY_MAX + ")";
        // The Applied message names the override only in the pass that re-applied; the Event stays.
        await().atMost(NodeFixture.WAIT).untilAsserted(() -> {
            assertThat(events("ConntrackExternalOverride")).anySatisfy(m -> assertThat(m).contains(found));
            assertThat(Sysctls.read("nf_conntrack_max")).isEqualTo(POLICY_MAX);
            assertThat(f.condition("Applied").getStatus()).isEqualTo("True");
        });
    }

    @Test
    @Order(2)
    void underReportTheAgentLeavesKubeProxysValueAndSaysSo() {
        f.apply(policy("Report"));
        // The agent has taken the new spec in (the operator rewrote it with driftPolicy Report).
        await().atMost(NodeFixture.WAIT).until(() -> {
            ConntrackNodeState state = f.state();
            return state.getSpec().getDriftPolicy() == DriftPolicy.Report
                    && state.getMetadata().getGeneration().equals(state.getStatus().getObservedGeneration());
        });
        f.node.restart("kube-proxy", KUBE_PROXY_DEFAULTS);
        await().atMost(NodeFixture.WAIT).untilAsserted(() -> {
            Condition applied = f.condition("Applied");
            assertThat(applied.getStatus()).isEqualTo("False");
            assertThat(applied.getReason()).isEqualTo("ExternalOverride");
            assertThat(applied.getMessage()).contains("max: set to " + KUBE_PROXY_MAX + " outside the agent (we wrote " + POLICY_MAX
                    + "), left as found");
        });
        assertThat(Sysctls.read("nf_conntrack_max")).isEqualTo(KUBE_PROXY_MAX);
    }

    private static String policy(String drift) {
        return """
                apiVersion: conntrack.dev/v1alpha1
                kind: ConntrackPolicy
                metadata: {name: kube-proxy-conflict}
                spec:
                  driftPolicy: %s
                  conntrack: {max: %s}
                  monitoring: {pollInterval: 1s}
                """.formatted(drift, POLICY_MAX);
    }

    private static List<String> events(String reason) {
        return f.client.v1().events().inNamespace("default").withField("involvedObject.name", f.nodeName).list().getItems().stream()
                .filter(e -> reason.equals(e.getReason())).map(Event::getMessage).toList();
    }
}
