package dev.conntrack.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.testing.KstatusReader.Status;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KstatusReaderTest {

    @Test
    void withoutStatusKstatusSaysCurrentButTheReadyConventionWaits() {
        Map<String, Object> fresh = policy(1, "");
        assertThat(KstatusReader.kstatus(fresh).status()).isEqualTo(Status.Current);
        assertThat(KstatusReader.read(fresh).status()).isEqualTo(Status.InProgress);
        assertThat(KstatusReader.read(fresh).message()).isEqualTo("the operator has not observed generation 1 yet");
    }

    @Test
    void anUnobservedGenerationIsInProgressForBoth() {
        Map<String, Object> p = policy(2, """
                status:
                  observedGeneration: 1
                  conditions:
                  - {type: Ready, status: "True", reason: AllNodesApplied, observedGeneration: 1, message: ok}
                """);
        assertThat(KstatusReader.kstatus(p).status()).isEqualTo(Status.InProgress);
        assertThat(KstatusReader.kstatus(p).message()).isEqualTo("generation is 2, but latest observed generation is 1");
        assertThat(KstatusReader.read(p).status()).isEqualTo(Status.InProgress);
    }

    @Test
    void reconcilingAndStalledAreKstatusAbnormalTrueConditions() {
        assertThat(KstatusReader.read(policy(1, """
                status:
                  observedGeneration: 1
                  conditions:
                  - {type: Reconciling, status: "True", reason: Working, message: busy}
                  - {type: Ready, status: "True", reason: AllNodesApplied, observedGeneration: 1, message: ok}
                """))).isEqualTo(new KstatusReader.Result(Status.InProgress, "busy"));
        assertThat(KstatusReader.kstatus(policy(1, """
                status:
                  conditions:
                  - {type: Stalled, status: "True", reason: Stuck, message: gave up}
                """))).isEqualTo(new KstatusReader.Result(Status.Failed, "gave up"));
    }

    @Test
    void readyTrueForTheCurrentGenerationIsCurrentEvenWhileDropping() {
        Map<String, Object> p = policy(3, """
                status:
                  observedGeneration: 3
                  conditions:
                  - {type: Ready, status: "True", reason: AllNodesApplied, observedGeneration: 3, message: All 2 selected nodes applied generation 3}
                  - {type: Progressing, status: "False", reason: Complete, observedGeneration: 3}
                  - {type: Degraded, status: "True", reason: NodesDropping, observedGeneration: 3}
                """);
        assertThat(KstatusReader.read(p)).isEqualTo(new KstatusReader.Result(Status.Current, "All 2 selected nodes applied generation 3"));
    }

    @Test
    void aReadyConditionOfAnOlderGenerationIsNotTrusted() {
        assertThat(KstatusReader.read(policy(2, """
                status:
                  observedGeneration: 2
                  conditions:
                  - {type: Ready, status: "True", reason: AllNodesApplied, observedGeneration: 1}
                """)).status()).isEqualTo(Status.InProgress);
    }

    @Test
    void pendingNodesAreInProgressAndFailedNodesAreFailed() {
        assertThat(KstatusReader.read(policy(1, """
                status:
                  observedGeneration: 1
                  conditions:
                  - {type: Ready, status: "False", reason: NodesPending, observedGeneration: 1, message: 1 of 1 nodes have not applied generation 1 yet}
                  - {type: Progressing, status: "True", reason: ApplyingSettings, observedGeneration: 1, message: 1 of 1 nodes are applying generation 1}
                """))).isEqualTo(new KstatusReader.Result(Status.InProgress, "1 of 1 nodes are applying generation 1"));
        assertThat(KstatusReader.read(policy(1, """
                status:
                  observedGeneration: 1
                  conditions:
                  - {type: Ready, status: "False", reason: NodesFailed, observedGeneration: 1, message: "1 of 3 nodes failed: a"}
                  - {type: Progressing, status: "True", reason: ApplyingSettings, observedGeneration: 1}
                """))).isEqualTo(new KstatusReader.Result(Status.Failed, "1 of 3 nodes failed: a"));
    }

    @Test
    void deletionIsTerminating() {
        Map<String, Object> p = Serialization.unmarshal("""
                metadata: {name: p, generation: 1, deletionTimestamp: "2026-01-01T00:00:00Z"}
                """, Map.class);
        assertThat(KstatusReader.read(p).status()).isEqualTo(Status.Terminating);
    }

    private static Map<String, Object> policy(long generation, String statusYaml) {
        return Serialization.unmarshal("metadata: {name: p, generation: " + generation + "}\n" + statusYaml, Map.class);
    }
}
