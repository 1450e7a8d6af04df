package dev.conntrack.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.AutoRaiseStatus;
import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.operator.AgentDaemonSetFactory;
import dev.conntrack.testing.GlobalSysctls;
import dev.conntrack.testing.RoleProcess;
import dev.conntrack.testing.Sysctls;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Auto-raise on the real kernel (docs/auto-raise.md): the NAT lab (hack/natlab.sh), a policy with
 * {@code max: 1000} and autoscale, the agent as the DaemonSet runs it, and a short connection storm
 * through the router's DNAT. The agent must stay ahead of it: no packet dropped by the kernel, every
 * request served, max raised within the ceiling. Then a memory budget too small for the storm: the
 * raise stops at the budget and Pressure says MemoryBudgetReached.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AutoRaiseNatE2ETest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String NODE = "autoraise-" + RUN;
    private static final String POLICY = "autoraise-" + RUN;
    private static final String MAX = "nf_conntrack_max";
    private static final String BUCKETS = "nf_conntrack_buckets";
    private static final int CEILING = 262144;

    private static GlobalSysctls host;
    private static NatLabRig rig;
    private static NatLab lab;
    private static KubernetesClient client;
    private static RoleProcess agent;

    @BeforeAll
    static void start() throws Exception {
        host = new GlobalSysctls(MAX, BUCKETS);
        rig = NatLabRig.start(RUN, "autoraise", Map.of("CONNTRACK_METRICS_PORT", "0", "MALLOC_ARENA_MAX", "2"),
                AgentDaemonSetFactory.DEFAULT_JAVA_OPTS.split(" "));
        lab = rig.lab();
        client = rig.client();
        agent = rig.agent();
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (rig != null) {
                rig.close();
            }
        } finally {
            if (host != null) {
                host.close();
            }
        }
    }

    @Test
    @Order(1)
    void aStormFromMax1000IsServedWithoutAKernelDrop() {
        lab.flushRouterTable();
        policy(autoscale(CEILING, "256Mi"));
        awaitStormHeadroom();
        long dropsBefore = lab.routerDrops();

        NatLab.LoadResult result = lab.load(5000, 20000, 30, 60);

        assertThat(lab.routerDrops() - dropsBefore).as("kernel drops in the router's table\n" + agent.logTail(20)).isZero();
        assertThat(result.completeRequests()).as(result.output()).isEqualTo(20000);
        assertThat(result.failedRequests()).isZero();
        long max = Long.parseLong(Sysctls.read(MAX));
        assertThat(max).as("raised during the storm, never past the ceiling").isGreaterThan(6251).isLessThanOrEqualTo(CEILING);
        await().atMost(WAIT).untilAsserted(() -> {
            AutoRaiseStatus raised = status().getAutoRaise();
            assertThat(raised).isNotNull();
            assertThat(raised.getMax()).isEqualTo(max);
            assertThat(raised.getRaises()).isGreaterThanOrEqualTo(2);
            assertThat(raised.getMessage()).startsWith("raised max ");
            assertThat(eventReasons()).contains("ConntrackAutoRaised");
        });
    }

    @Test
    @Order(2)
    void aMemoryBudgetStopsTheRaiseAndPressureSaysSo() {
        // The hash table alone costs buckets x 16 bytes; leave room for about 3 MiB of entries,
        // below what the storm needs (the first test's raise went further).
        long buckets = Long.parseLong(Sysctls.read(BUCKETS));
        long budget = buckets * 16 + 3L * 1024 * 1024;
        client.resources(ConntrackPolicy.class).withName(POLICY).delete();
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(client.resources(ConntrackPolicy.class).withName(POLICY).get()).isNull();
            assertThat(Sysctls.read(MAX)).as("the raised max is restored with the policy").isEqualTo(host.original(MAX));
        });
        lab.flushRouterTable();
        policy(autoscale(CEILING, Long.toString(budget)));
        awaitStormHeadroom();

        lab.load(5000, 20000, 5, 20);

        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackNodeStateStatus status = status();
            Condition pressure = Conditions.find(status.getConditions(), "Pressure");
            assertThat(pressure).isNotNull();
            assertThat(pressure.getStatus()).as(pressure.getMessage()).isEqualTo("True");
            assertThat(pressure.getReason()).as(pressure.getMessage()).isEqualTo("MemoryBudgetReached");
            assertThat(status.getAutoRaise().getLimitedBy()).isEqualTo("MemoryBudget");
            assertThat(status.getUsage().getEstimatedMemoryBytes()).as("table memory within the budget").isLessThanOrEqualTo(budget);
        });
        long max = Long.parseLong(Sysctls.read(MAX));
        assertThat(max).as("held below what the storm needed").isGreaterThanOrEqualTo(6251).isLessThan(3L * 1024 * 1024 / 200);
    }

    /**
     * docs/auto-raise.md: "max: 1000 with autoscale on is raised to 6,251 at once, and is left there while idle":
     * room for twice what a storm fills in 10 ms (2 x 2,500) below the 80% watermark, for an empty
     * table; each entry already in the busiest table adds 1.25 (the lab's table is flushed first;
     * the machine's own namespace keeps the suite's loopback connections, up to a few hundred, plus
     * up to 200 that come and go).
     */
    private static void awaitStormHeadroom() {
        long own = Long.parseLong(Sysctls.read("nf_conntrack_count"));
        long upper = 6251 + (long) Math.ceil(1.25 * (own + 200));
        await().atMost(WAIT).untilAsserted(() -> assertThat(Long.parseLong(Sysctls.read(MAX))).as(agent.logTail(20))
                .isBetween(6251L, upper));
        String settled = Sysctls.read(MAX);
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(Sysctls.read(MAX)).as("left there while idle").isEqualTo(settled));
    }

    private static void policy(AutoscaleSpec autoscale) {
        ConntrackPolicy policy = new ConntrackPolicy();
        policy.getMetadata().setName(POLICY);
        policy.getSpec().setNodeSelector(new NodeSelector(Map.of("run", RUN), null));
        ConntrackSettings settings = new ConntrackSettings();
        settings.setMax(1000);
        settings.setAutoscale(autoscale);
        policy.getSpec().setConntrack(settings);
        client.resource(policy).create();
    }

    private static AutoscaleSpec autoscale(int ceiling, String memoryBudget) {
        AutoscaleSpec a = new AutoscaleSpec();
        a.setEnabled(true);
        a.setCeiling(ceiling);
        a.setMemoryBudget(memoryBudget);
        return a;
    }

    private static ConntrackNodeStateStatus status() {
        ConntrackNodeState state = client.resources(ConntrackNodeState.class).withName(NODE).get();
        return state == null || state.getStatus() == null ? new ConntrackNodeStateStatus() : state.getStatus();
    }

    private static List<String> eventReasons() {
        return client.v1().events().inNamespace("default").list().getItems().stream()
                .filter(e -> NODE.equals(e.getInvolvedObject().getName()))
                .map(Event::getReason)
                .toList();
    }
}
