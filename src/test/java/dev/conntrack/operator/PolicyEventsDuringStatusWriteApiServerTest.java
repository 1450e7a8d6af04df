package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackPolicyStatus;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.BaseConfigurationService;
import io.javaoperatorsdk.operator.api.config.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.config.ControllerConfigurationOverrider;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A deletion or a spec edit that reaches the API server while the policy reconciler's status patch
 * is in flight must still reach the reconciler. It ends up in the patch's response; with the
 * operator SDK's comparable resource versions on, that response becomes the cached copy and the
 * change's own (older) event is dropped, so nothing ran until the reconciler's next re-check, up
 * to a minute later: a deleted policy kept its finalizer that long (a full CI run caught it).
 *
 * <p>The race is made certain here: the reconciler, configured exactly as the production
 * {@link ConntrackPolicyReconciler} is (its annotations: filters, item store, finalizer, rate
 * limit, resource versions), does the other party's write itself just before it returns its
 * status patch. Runs the operator SDK in this JVM against the real kube-apiserver.
 */
class PolicyEventsDuringStatusWriteApiServerTest {
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    /** Far beyond PROMPT: only the change's own event can bring the next run that soon. */
    private static final long RECHECK_MILLIS = 120_000;
    private static final Duration PROMPT = Duration.ofSeconds(20);
    private static final int TRIES = 8;

    private static KubernetesClient client;
    private static Operator operator;
    private static final RacingReconciler reconciler = new RacingReconciler();

    @BeforeAll
    static void start() {
        client = TestApiServer.newClient();
        operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
        ControllerConfiguration<ConntrackPolicy> production =
                new BaseConfigurationService().getConfigurationFor(new ConntrackPolicyReconciler());
        // Only this test's policies: the operators of other tests must not see this finalizer.
        operator.register(reconciler, ControllerConfigurationOverrider.override(production)
                .withName("racing-" + RUN).withLabelSelector("race=" + RUN).build());
        operator.start();
    }

    @AfterAll
    static void stop() {
        if (operator != null) {
            operator.stop();
        }
        client.close();
    }

    @Test
    void aDeletionDuringTheStatusPatchRunsTheCleanupAtOnce() {
        List<String> names = names("race-delete");
        names.forEach(PolicyEventsDuringStatusWriteApiServerTest::create);

        await().atMost(PROMPT).untilAsserted(() -> assertThat(reconciler.cleanedUp).containsAll(names));
        await().atMost(PROMPT).untilAsserted(() -> assertThat(names)
                .allSatisfy(name -> assertThat(client.resources(ConntrackPolicy.class).withName(name).get()).isNull()));
    }

    @Test
    void aSpecEditDuringTheStatusPatchIsReconciledAtOnce() {
        List<String> names = names("race-edit");
        names.forEach(PolicyEventsDuringStatusWriteApiServerTest::create);

        await().atMost(PROMPT).untilAsserted(() -> assertThat(reconciler.editsReconciled).containsAll(names));
        names.forEach(name -> client.resources(ConntrackPolicy.class).withName(name).delete());
    }

    /** Each policy is one try at the race; the old behaviour lost a try in one of two to four. */
    private static List<String> names(String prefix) {
        return IntStream.range(0, TRIES).mapToObj(i -> prefix + "-" + i + "-" + RUN).toList();
    }

    private static void create(String name) {
        ConntrackPolicy policy = new ConntrackPolicy();
        policy.getMetadata().setName(name);
        policy.getMetadata().setLabels(Map.of("race", RUN));
        policy.getSpec().setNodeSelector(new NodeSelector(Map.of("race", RUN), null));
        ConntrackSettings ct = new ConntrackSettings();
        ct.setTcpCloseWait("1h");
        policy.getSpec().setConntrack(ct);
        client.resource(policy).create();
    }

    /**
     * Does another party's write inside its first reconcile of each policy (a deletion or a spec
     * edit, by the policy's name), then patches the status.
     */
    static final class RacingReconciler implements Reconciler<ConntrackPolicy>, Cleaner<ConntrackPolicy> {
        final Set<String> cleanedUp = ConcurrentHashMap.newKeySet();
        final Set<String> editsReconciled = ConcurrentHashMap.newKeySet();

        @Override
        public UpdateControl<ConntrackPolicy> reconcile(ConntrackPolicy policy, Context<ConntrackPolicy> context) {
            String name = policy.getMetadata().getName();
            long generation = policy.getMetadata().getGeneration();
            if (policy.getStatus() != null && policy.getStatus().getObservedGeneration() != null
                    && policy.getStatus().getObservedGeneration() == generation) {
                return UpdateControl.<ConntrackPolicy>noUpdate().rescheduleAfter(RECHECK_MILLIS);
            }
            if (name.startsWith("race-edit-")) {
                if (generation == 1) {
                    client.resources(ConntrackPolicy.class).withName(name).edit(p -> {
                        p.getSpec().getConntrack().setTcpCloseWait("2h");
                        return p;
                    });
                } else {
                    editsReconciled.add(name);
                }
            } else if (name.startsWith("race-delete-") && generation == 1) {
                client.resources(ConntrackPolicy.class).withName(name).delete();
            }
            ConntrackPolicy patch = new ConntrackPolicy();
            patch.setMetadata(new ObjectMetaBuilder().withName(name).build());
            patch.setSpec(null);
            ConntrackPolicyStatus status = new ConntrackPolicyStatus();
            status.setObservedGeneration(generation);
            patch.setStatus(status);
            return UpdateControl.patchStatus(patch).rescheduleAfter(RECHECK_MILLIS);
        }

        @Override
        public DeleteControl cleanup(ConntrackPolicy policy, Context<ConntrackPolicy> context) {
            cleanedUp.add(policy.getMetadata().getName());
            return DeleteControl.defaultDelete();
        }
    }
}
