package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.AutoRaiseStatus;
import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.FakeHost;
import dev.conntrack.testing.FakeNodeRig;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Auto-raise with the agent process over a fake kernel tree: usage crossing the watermark raises
 * max at once (without waiting for the operator), never past the ceiling, which is then reported
 * as Pressure/CeilingReached; deleting the policy restores the original max.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentAutoRaiseApiServerTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static FakeNodeRig rig;

    @BeforeAll
    static void start() {
        rig = new FakeNodeRig("autoraise");
        ConntrackPolicy policy = new ConntrackPolicy();
        policy.getMetadata().setName(rig.node);
        policy.getSpec().setNodeSelector(new NodeSelector(Map.of("run", rig.run), null));
        ConntrackSettings settings = new ConntrackSettings();
        settings.setMax(100_000);
        AutoscaleSpec autoscale = new AutoscaleSpec();
        autoscale.setEnabled(true);
        autoscale.setCeiling(400_000);
        autoscale.setMemoryBudget("256Mi");
        settings.setAutoscale(autoscale);
        policy.getSpec().setConntrack(settings);
        rig.client.resource(policy).create();
    }

    @AfterAll
    static void stop() {
        rig.client.resources(ConntrackPolicy.class).withName(rig.node).delete();
        rig.close();
    }

    @Test
    @Order(1)
    void theSpecMaxIsAppliedFirst() {
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(live()).as(rig.agent.logTail(20)).isEqualTo("100000");
            assertThat(rig.status()).isNotNull();
            assertThat(rig.status().getOriginals()).containsEntry("max", "262144");
        });
    }

    @Test
    @Order(2)
    void usageAtTheWatermarkRaisesMaxAtOnceAndIsReported() {
        // The poll that applied the spec's max armed the count watcher from the sample it took before
        // (max 262144); a whole poll later it watches for the watermark of max 100000.
        rig.awaitPolls(2);
        long written = System.nanoTime();
        // 85,000 entries appear between two reads of the count watcher: a storm of millions of
        // entries per second, so the raise is sized for a second of it, which the ceiling caps.
        FakeHost.write(rig.host.paths().conntrackCount(), "85000\n");

        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> live().equals("400000"));
        System.out.println("auto-raise took " + (System.nanoTime() - written) / 1_000_000 + " ms from usage crossing the watermark");
        await().atMost(WAIT).untilAsserted(() -> {
            AutoRaiseStatus raise = rig.status().getAutoRaise();
            assertThat(raise).isNotNull();
            assertThat(raise.getMax()).isEqualTo(400_000L);
            assertThat(raise.getRaises()).isEqualTo(1L);
            assertThat(raise.getMessage()).contains("100000 -> 400000").contains("sized for 1 s of growth")
                    .contains("held at the ceiling");
            assertThat(rig.eventReasons()).contains("ConntrackAutoRaised");
        });
        // The agent keeps its raise: the spec still says 100000 and the next polls do not undo it
        // (nor undo and raise again, which the raise counter would show).
        rig.awaitPolls(2);
        assertThat(live()).isEqualTo("400000");
        assertThat(rig.metric("conntrack_auto_raises_total")).isEqualTo(1.0);
    }

    @Test
    @Order(3)
    void theCeilingStopsRaisesAndIsPressure() {
        FakeHost.write(rig.host.paths().conntrackCount(), "390000\n");

        await().atMost(WAIT).untilAsserted(() -> {
            Condition pressure = Conditions.find(rig.status().getConditions(), "Pressure");
            assertThat(pressure.getStatus()).isEqualTo("True");
            assertThat(pressure.getReason()).isEqualTo("CeilingReached");
            assertThat(rig.status().getAutoRaise().getLimitedBy()).isEqualTo("Ceiling");
        });
        assertThat(live()).isEqualTo("400000");
    }

    @Test
    @Order(4)
    void deletingThePolicyRestoresTheOriginalMax() {
        FakeHost.write(rig.host.paths().conntrackCount(), "10\n");
        rig.client.resources(ConntrackPolicy.class).withName(rig.node).delete();
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(live()).isEqualTo("262144");
            assertThat(rig.status().getOriginals()).isNullOrEmpty();
        });
    }

    private static String live() {
        return rig.host.rawLive(ConntrackKey.MAX).trim();
    }
}
