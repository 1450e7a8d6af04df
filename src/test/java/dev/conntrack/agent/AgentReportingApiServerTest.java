package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.Mode;
import dev.conntrack.api.MonitoringSpec;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.FakeHost;
import dev.conntrack.testing.FakeNodeRig;
import dev.conntrack.testing.RoleProcess;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The agent process over a fake host tree (CONNTRACK_HOST_ROOT) against the real API server, with
 * the operator running: table pressure and a table-full event fed from the captured kernel files
 * become conditions, Events, policy roll-up and metrics; quiet polls cause no status writes.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentReportingApiServerTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static String run;
    private static String node;
    private static String policyName;

    private static FakeNodeRig rig;
    private static KubernetesClient client;
    private static FakeHost host;
    private static RoleProcess agent;

    @BeforeAll
    static void start() {
        rig = new FakeNodeRig("fake");
        client = rig.client;
        host = rig.host;
        agent = rig.agent;
        node = rig.node;
        policyName = rig.node;
        run = rig.run;
        ConntrackPolicy policy = new ConntrackPolicy();
        policy.getMetadata().setName(policyName);
        policy.getSpec().setNodeSelector(new NodeSelector(Map.of("run", run), null));
        ConntrackSettings settings = new ConntrackSettings();
        settings.setMax(262144);
        settings.setTcpTimeWait("30s");
        policy.getSpec().setConntrack(settings);
        MonitoringSpec monitoring = new MonitoringSpec();
        monitoring.setUsageWarningPercent(80);
        policy.getSpec().setMonitoring(monitoring);
        client.resource(policy).create();
    }

    @AfterAll
    static void stop() {
        client.resources(ConntrackPolicy.class).withName(policyName).delete();
        rig.close();
    }

    @Test
    @Order(1)
    void appliesToTheHostTreeAndReportsTheOriginal() {
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(host.rawLive(ConntrackKey.TCP_TIME_WAIT).trim()).as(agent.logTail(20)).isEqualTo("30");
            ConntrackNodeStateStatus status = status();
            assertThat(status).isNotNull();
            assertThat(Conditions.isTrue(status.getConditions(), "Applied")).isTrue();
            assertThat(status.getOriginals()).containsExactly(Map.entry("tcpTimeWait", "120"));
            assertThat(status.getUsage().getEstimatedMemoryBytes()).isEqualTo(262144L * 256 + 65536L * 16);
            assertThat(status.getCounters().getDrop()).isEqualTo(0x3a78L + 0x1dec5L);
        });
    }

    @Test
    @Order(2)
    void quietPollsWriteNoStatus() {
        double before = metric("conntrack_agent_status_writes_total");
        rig.awaitPolls(5);
        // With nothing changing and a 60 s heartbeat, none of the five polls wrote.
        assertThat(metric("conntrack_agent_status_writes_total")).isEqualTo(before);
    }

    @Test
    @Order(3)
    void usageAboveTheWarningIsPressureAndTheTableIsExplained() {
        FakeHost.write(host.paths().conntrackTable(), FakeHost.fixture("proc-net-nf_conntrack.table-full.txt"));
        FakeHost.write(host.paths().conntrackCount(), "230000\n");

        await().atMost(WAIT).untilAsserted(() -> {
            Condition pressure = Conditions.find(status().getConditions(), "Pressure");
            assertThat(pressure.getStatus()).isEqualTo("True");
            assertThat(pressure.getReason()).isEqualTo("UsageAboveWarning");
            assertThat(eventReasons()).contains("ConntrackPressure");
        });
        // One listing on pressure: the captured table is TIME_WAIT from one client.
        await().atMost(WAIT).untilAsserted(() -> {
            var explanation = status().getExplanation();
            assertThat(explanation).isNotNull();
            assertThat(explanation.getEntries()).isEqualTo(1000L);
            assertThat(explanation.getNamespace()).isEqualTo("initial");
            assertThat(explanation.getByTcpState()).containsKey("TIME_WAIT");
            assertThat(explanation.getTopSources()).first().asString().startsWith("10.200.1.2=");
            // tcpTimeWait is already 30s here, so the advice is about the one client that fills the table.
            assertThat(explanation.getRecommendations()).anySatisfy(r -> assertThat(r).contains("One source address holds 100%"));
            assertThat(eventReasons()).contains("ConntrackPressureExplained");
        });
        await().atMost(WAIT).untilAsserted(() ->
                assertThat(client.resources(ConntrackPolicy.class).withName(policyName).get().getStatus().getNodes().getUnderPressure())
                        .isEqualTo(1));
    }

    @Test
    @Order(4)
    void risingDropsAreTableFullWithinAboutOnePollAndDegradeThePolicy() {
        long written = System.nanoTime();
        FakeHost.write(host.paths().conntrackStats(), FakeHost.fixture("proc-net-stat-nf_conntrack.table-full.txt"));

        await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).untilAsserted(() ->
                assertThat(Conditions.isTrue(status().getConditions(), "TableFull")).isTrue());
        long reportedMillis = (System.nanoTime() - written) / 1_000_000;
        System.out.println("table-full reported in the node state " + reportedMillis + " ms after the counters rose");
        // One poll (1 s) plus one status write; generous bound, the benchmark measures the real figure.
        assertThat(reportedMillis).isLessThan(5000);

        ConntrackNodeStateStatus status = status();
        assertThat(status.getCounters().getDrop()).isEqualTo(0x3c70L + 0x1fa19L);
        assertThat(status.getCounters().getDropsPerSecond()).isPositive();
        assertThat(status.getLastTableFullTime()).isNotNull();
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(eventReasons()).contains("ConntrackTableFull");
            ConntrackPolicy policy = client.resources(ConntrackPolicy.class).withName(policyName).get();
            Condition degraded = Conditions.find(policy.getStatus().getConditions(), "Degraded");
            assertThat(degraded.getStatus()).isEqualTo("True");
            assertThat(degraded.getReason()).isEqualTo("NodesDropping");
            assertThat(policy.getStatus().getNodes().getDropping()).isEqualTo(1);
            assertThat(policy.getStatus().getWorstNodes()).extracting("name").containsExactly(node);
        });
        // The counters stop rising: the next poll clears TableFull.
        await().atMost(WAIT).untilAsserted(() ->
                assertThat(Conditions.isTrue(status().getConditions(), "TableFull")).isFalse());
    }

    @Test
    @Order(5)
    void observeOnlyReportsWhatWouldChangeAndWritesNothing() {
        ConntrackPolicy policy = client.resources(ConntrackPolicy.class).withName(policyName).get();
        policy.getSpec().setMode(Mode.ObserveOnly);
        policy.getSpec().getConntrack().setTcpTimeWait("45s");
        client.resource(policy).update();

        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackNodeStateStatus status = status();
            assertThat(status.getPending()).containsEntry("tcpTimeWait", "45");
            assertThat(Conditions.find(status.getConditions(), "Applied").getReason()).isEqualTo("ObserveOnly");
        });
        assertThat(host.rawLive(ConntrackKey.TCP_TIME_WAIT).trim()).isEqualTo("30");
        assertThat(agent.isAlive()).isTrue();
    }

    private static ConntrackNodeStateStatus status() {
        return rig.status();
    }

    private static List<String> eventReasons() {
        return rig.eventReasons();
    }

    private static double metric(String name) {
        return rig.metric(name);
    }
}
