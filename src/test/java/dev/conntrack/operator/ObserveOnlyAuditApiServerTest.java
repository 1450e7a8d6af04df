package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.testing.FakeNodeRig;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import org.awaitility.core.ConditionTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The fleet audit as the chart README tells users to run it: one {@code kubectl apply} of
 * examples/observe-only-audit.yaml and examples/policy.yaml, in either order, against the operator
 * and an agent process over a fake kernel tree. Over many trials (and trials that restart the
 * operator while the two arrive), no spec of the node ever asks it to enforce the baseline, no
 * value of the baseline reaches the kernel files, the agent records no original, the audit counts
 * the node as one Enforce would change, and the baseline is not Ready but held by the audit.
 */
class ObserveOnlyAuditApiServerTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Duration STATUS_WAIT = Duration.ofSeconds(15);
    private static final int TRIALS_PER_ORDER = 6;
    private static final String AUDIT = "observe-only-audit";
    private static final String BASELINE = "baseline";
    private static final List<ConntrackKey> KEYS = List.of(ConntrackKey.TCP_ESTABLISHED, ConntrackKey.TCP_TIME_WAIT,
            ConntrackKey.TCP_CLOSE_WAIT);

    private static FakeNodeRig rig;
    private static final Map<ConntrackKey, String> originals = new EnumMap<>(ConntrackKey.class);

    @BeforeAll
    static void start() {
        rig = new FakeNodeRig("audit");
        for (ConntrackKey key : KEYS) {
            originals.put(key, rig.host.rawLive(key).trim());
        }
        await().atMost(WAIT).untilAsserted(() -> assertThat(rig.status()).as(rig.operator.logTail(20)).isNotNull());
    }

    @AfterAll
    static void stop() {
        if (rig != null) {
            deleteBoth();
            rig.close();
        }
    }

    @Test
    void applyingTheAuditWithAnEnforcePolicyInOneGoNeverWritesTheKernel() {
        Path audit = TestApiServer.projectDir().resolve("examples/observe-only-audit.yaml");
        Path baseline = TestApiServer.projectDir().resolve("examples/policy.yaml");
        List<String> outcomes = new ArrayList<>();
        List<String> violations = new ArrayList<>();
        for (int trial = 0; trial < 2 * TRIALS_PER_ORDER + 2; trial++) {
            boolean auditFirst = trial % 2 == 0;
            boolean restart = trial >= 2 * TRIALS_PER_ORDER;
            String label = "trial " + (trial + 1) + (auditFirst ? " (audit first" : " (baseline first")
                    + (restart ? ", operator restarted)" : ")");
            List<String> found = trial(label, auditFirst ? audit : baseline, auditFirst ? baseline : audit, restart);
            outcomes.add(label + ": " + (found.isEmpty() ? "kernel untouched" : String.join("; ", found)));
            violations.addAll(found);
        }
        assertThat(violations).as(String.join("\n", outcomes)).isEmpty();
    }

    /** One apply of both files, the checks, then both deleted and the node back where it started. */
    private List<String> trial(String label, Path first, Path second, boolean restartOperator) {
        List<String> violations = new CopyOnWriteArrayList<>();
        ConntrackNodeState before = rig.client.resources(ConntrackNodeState.class).withName(rig.node).get();
        Watch watch = rig.client.resources(ConntrackNodeState.class).withName(rig.node)
                .withResourceVersion(before.getMetadata().getResourceVersion())
                .watch(new SpecRecorder(label, violations));
        KernelSampler sampler = new KernelSampler(label, violations);
        sampler.start();
        try {
            if (restartOperator) {
                rig.restartOperator();
            }
            TestApiServer.kubectl(rig.kubeconfig, "apply", "-f", first.toString(), "-f", second.toString());

            await().atMost(WAIT).untilAsserted(() -> {
                ConntrackNodeState state = rig.client.resources(ConntrackNodeState.class).withName(rig.node).get();
                assertThat(state.getSpec().getPolicies()).as(label + ": node spec\n" + rig.operator.logTail(20))
                        .contains(AUDIT, BASELINE);
                assertThat(state.getStatus().getObservedGeneration()).as(label + ": agent reported the spec")
                        .isEqualTo(state.getMetadata().getGeneration());
                assertThat(state.getStatus().getPending()).as(label + ": what Enforce would write")
                        .containsEntry("tcpTimeWait", "30");
            });
            // The audit counts the node, and the baseline says it is held by the audit.
            await().atMost(STATUS_WAIT).untilAsserted(() -> {
                ConntrackPolicy auditPolicy = policy(AUDIT);
                assertThat(auditPolicy.getStatus()).as(label + ": audit status").isNotNull();
                assertThat(auditPolicy.getStatus().getAudit().getWouldChangeNodes()).as(label + ": audit").isPositive();
                ConntrackPolicy baselinePolicy = policy(BASELINE);
                assertThat(baselinePolicy.getStatus()).as(label + ": baseline status").isNotNull();
                Condition ready = Conditions.find(baselinePolicy.getStatus().getConditions(), "Ready");
                assertThat(ready.getStatus()).as(label + ": baseline Ready: " + ready.getMessage()).isEqualTo("False");
                assertThat(ready.getReason()).as(label + ": " + ready.getMessage()).isEqualTo("HeldByObserveOnly");
            });
            assertThat(rig.status().getOriginals()).as(label + ": originals recorded by the agent").isNull();
        } catch (AssertionError | ConditionTimeoutException e) {
            violations.add(firstLine(e.getMessage()));
        } finally {
            sampler.stopSampling();
            watch.close();
            deleteBoth();
            resetKernel();
        }
        return violations;
    }

    private static String firstLine(String message) {
        String text = String.valueOf(message).strip();
        int end = text.indexOf('\n');
        return end < 0 ? text : text.substring(0, end) + " ...";
    }

    private static ConntrackPolicy policy(String name) {
        return rig.client.resources(ConntrackPolicy.class).withName(name).get();
    }

    private static void deleteBoth() {
        rig.client.resources(ConntrackPolicy.class).withName(AUDIT).delete();
        rig.client.resources(ConntrackPolicy.class).withName(BASELINE).delete();
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(policy(AUDIT)).as("audit deleted\n" + rig.operator.logTail(20)).isNull();
            assertThat(policy(BASELINE)).as("baseline deleted").isNull();
        });
    }

    /** Whatever a failed trial wrote is put back (by the agent restoring, or by hand) before the next one. */
    private static void resetKernel() {
        try {
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                for (ConntrackKey key : KEYS) {
                    assertThat(rig.host.rawLive(key).trim()).isEqualTo(originals.get(key));
                }
            });
        } catch (AssertionError e) {
            originals.forEach(rig.host::set);
        }
    }

    /** Every version of the node's spec the API server stores, as a watch from before the apply sees it. */
    private static final class SpecRecorder implements Watcher<ConntrackNodeState> {
        private final String label;
        private final List<String> violations;

        SpecRecorder(String label, List<String> violations) {
            this.label = label;
            this.violations = violations;
        }

        @Override
        public void eventReceived(Action action, ConntrackNodeState state) {
            ConntrackNodeStateSpec spec = state.getSpec();
            if (spec == null || spec.getPolicies() == null || !spec.getPolicies().contains(BASELINE)) {
                return;
            }
            if (spec.getMode() != Mode.ObserveOnly && spec.getConntrack() != null) {
                violations.add(label + ": the node spec asked the agent to enforce " + spec.getPolicies()
                        + " (generation " + state.getMetadata().getGeneration() + ")");
            }
        }

        @Override
        public void onClose(WatcherException cause) {
        }
    }

    /** Reads the kernel files the baseline sets every millisecond: any change is a write. */
    private static final class KernelSampler extends Thread {
        private final String label;
        private final List<String> violations;
        private volatile boolean sampling = true;

        KernelSampler(String label, List<String> violations) {
            super("kernel-sampler");
            setDaemon(true);
            this.label = label;
            this.violations = violations;
        }

        @Override
        public void run() {
            while (sampling) {
                for (ConntrackKey key : KEYS) {
                    String live = rig.host.rawLive(key).trim();
                    // Empty: caught between the truncation and the write of a file in the fake tree.
                    if (!live.isEmpty() && !live.equals(originals.get(key))) {
                        violations.add(label + ": the agent wrote " + key.fieldName() + "=" + live
                                + " (was " + originals.get(key) + ")");
                        return;
                    }
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        void stopSampling() {
            sampling = false;
            try {
                join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
