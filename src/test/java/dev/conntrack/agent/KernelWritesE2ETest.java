package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.Mode;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.api.NotrackProtocol;
import dev.conntrack.api.NotrackRule;
import dev.conntrack.testing.NetnsLab;
import dev.conntrack.testing.GlobalSysctls;
import dev.conntrack.testing.RoleProcess;
import dev.conntrack.testing.Sysctls;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * When the agent may write to the real kernel, and that it leaves it alone otherwise, checked on
 * every managed setting (every timeout, max, buckets, be_liberal, loose) and on notrack:
 * <ol>
 *   <li>an agent started with {@code CONNTRACK_FORCE_OBSERVE_ONLY=true} (the quick start's mode)
 *       under an Enforce policy writes nothing;</li>
 *   <li>an ObserveOnly policy makes a normal agent write nothing;</li>
 *   <li>the same policy in Enforce is applied, and an agent stopped with SIGTERM leaves every value
 *       as the policy set it ("Nothing is restored when the agent merely stops").</li>
 * </ol>
 * The policy asks for a value different from the live one for every key. The agents run nft in a
 * network namespace of the test (CONNTRACK_NFT_COMMAND), never on the host's ruleset. Every
 * sysctl is restored at the end, also on failure (and by a shutdown hook).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KernelWritesE2ETest {
    /** docs/policy-guide.md: the agent polls every second (default pollInterval) and writes status on a change. */
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String NODE = "writes-" + RUN;
    private static final String POLICY = "writes-" + RUN;
    private static final String TABLE = "conntrack_operator";

    /** Every setting the agent manages, by the name the API and status.pending use, with its kernel file. */
    private static final Map<String, String> MANAGED = orderedMap(
            "max", "nf_conntrack_max",
            "buckets", "nf_conntrack_buckets",
            "tcpEstablished", "nf_conntrack_tcp_timeout_established",
            "tcpTimeWait", "nf_conntrack_tcp_timeout_time_wait",
            "tcpCloseWait", "nf_conntrack_tcp_timeout_close_wait",
            "tcpSynSent", "nf_conntrack_tcp_timeout_syn_sent",
            "tcpSynRecv", "nf_conntrack_tcp_timeout_syn_recv",
            "tcpFinWait", "nf_conntrack_tcp_timeout_fin_wait",
            "udp", "nf_conntrack_udp_timeout",
            "udpStream", "nf_conntrack_udp_timeout_stream",
            "generic", "nf_conntrack_generic_timeout",
            "tcpBeLiberal", "nf_conntrack_tcp_be_liberal",
            "tcpLoose", "nf_conntrack_tcp_loose");

    private static GlobalSysctls host;
    private static NetnsLab nftLab;
    private static KubernetesClient client;
    private static RoleProcess operator;
    private static Path dir;
    private static Map<String, String> before;
    private static Map<String, String> wanted;

    @BeforeAll
    static void start() throws Exception {
        // max and buckets are global: one changer of global conntrack settings at a time on this machine.
        host = new GlobalSysctls(MANAGED.values().toArray(String[]::new));
        before = kernel();
        wanted = differentFrom(before);
        nftLab = NetnsLab.create("ct-writes");
        client = TestApiServer.newClient();
        TestApiServer.registerNode(client, NODE, Map.of("run", RUN), "2");
        dir = Files.createTempDirectory("kernel-writes-e2e");
        operator = RoleProcess.operator(TestApiServer.kubeConfigFile(dir), "operator-writes");

        ConntrackPolicy policy = new ConntrackPolicy();
        policy.getMetadata().setName(POLICY);
        policy.getSpec().setNodeSelector(new NodeSelector(Map.of("run", RUN), null));
        policy.getSpec().setConntrack(settings(wanted));
        client.resource(policy).create();
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            TestApiServer.stopAndDelete(client, POLICY, NODE, operator);
            if (nftLab != null) {
                nftLab.close();
            }
        } finally {
            if (host != null) {
                host.close();
            }
        }
    }

    /** Each case starts from the kernel as it was: what one case wrote must not decide the next. */
    @AfterEach
    void putTheKernelBack() {
        host.restore();
    }

    @Test
    @Order(1)
    void anAgentForcedObserveOnlyWritesNothingUnderAnEnforcePolicy() throws Exception {
        try (RoleProcess agent = agent("agent-writes-forced", Map.of("CONNTRACK_FORCE_OBSERVE_ONLY", "true"))) {
            ConntrackNodeStateStatus reported = awaitPendingReport(agent, "AgentObserveOnly", "False");
            assertThat(reported.getNotrack().getState()).isEqualTo("Pending");
            awaitMorePolls(agent);

            assertThat(kernel()).as(agent.logTail(30)).isEqualTo(before);
            assertThat(nftTables()).doesNotContain(TABLE);
        }
    }

    @Test
    @Order(2)
    void anObserveOnlyPolicyMakesTheAgentWriteNothing() throws Exception {
        setMode(Mode.ObserveOnly);
        try (RoleProcess agent = agent("agent-writes-observe", Map.of())) {
            ConntrackNodeStateStatus reported = awaitPendingReport(agent, "ObserveOnly", "True");
            assertThat(reported.getNotrack().getState()).isEqualTo("Pending");
            awaitMorePolls(agent);

            assertThat(kernel()).as(agent.logTail(30)).isEqualTo(before);
            assertThat(nftTables()).doesNotContain(TABLE);
        }
    }

    @Test
    @Order(3)
    void anEnforcePolicyIsAppliedAndAStoppedAgentLeavesItInTheKernel() throws Exception {
        setMode(Mode.Enforce);
        RoleProcess agent = agent("agent-writes-enforce", Map.of());
        try {
            await().atMost(WAIT).untilAsserted(() -> {
                assertThat(kernel()).as(agent.logTail(30)).isEqualTo(wanted);
                ConntrackNodeStateStatus status = status();
                assertThat(Conditions.isTrue(status.getConditions(), "Applied")).isTrue();
                assertThat(status.getOriginals()).as("originals recorded before the first write").isEqualTo(before);
                assertThat(notrackRules()).isEqualTo(4);
            });
        } finally {
            agent.close();
        }
        assertThat(agent.isAlive()).isFalse();
        // SIGTERM ends the JVM through its shutdown hooks: 143 (128 + 15), never a kill after the grace period.
        assertThat(agent.exitValue()).as(agent.logTail(30)).isIn(0, 143);

        assertThat(kernel()).as("every value stays as the policy set it after the agent stopped").isEqualTo(wanted);
        assertThat(notrackRules()).as("the notrack table stays too").isEqualTo(4);
    }

    private static RoleProcess agent(String logName, Map<String, String> extra) {
        Map<String, String> env = new LinkedHashMap<>(extra);
        env.put("CONNTRACK_METRICS_PORT", "0");
        env.put("CONNTRACK_HEARTBEAT_SECONDS", "1");
        env.put("CONNTRACK_NFT_COMMAND", "ip netns exec " + nftLab.name() + " nft");
        return RoleProcess.agent(TestApiServer.kubeConfigFile(dir), logName, NODE, dir.resolve("state"), env,
                "-Xmx64m", "-XX:+UseSerialGC");
    }

    /** Waits for this agent's status with the policy's generation, Applied for REASON, and every key pending. */
    private static ConntrackNodeStateStatus awaitPendingReport(RoleProcess agent, String reason, String applied) {
        long generation = client.resources(ConntrackPolicy.class).withName(POLICY).get().getMetadata().getGeneration();
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(agent.isAlive()).as(agent.logTail(30)).isTrue();
            ConntrackNodeState state = client.resources(ConntrackNodeState.class).withName(NODE).get();
            assertThat(state).as("the operator created the node state").isNotNull();
            assertThat(state.getSpec().getPolicyGenerations()).containsEntry(POLICY, generation);
            ConntrackNodeStateStatus status = status();
            Condition condition = Conditions.find(status.getConditions(), "Applied");
            assertThat(condition).as("Applied in %s", status).isNotNull();
            assertThat(condition.getObservedGeneration()).isEqualTo(state.getMetadata().getGeneration());
            assertThat(condition.getReason()).as(condition.getMessage()).isEqualTo(reason);
            assertThat(condition.getStatus()).isEqualTo(applied);
            assertThat(status.getPending()).isEqualTo(wanted);
            assertThat(status.getNotrack()).isNotNull();
        });
        return status();
    }

    /** Waits until the agent wrote two more heartbeats (one a second here), so it polled again since it reported. */
    private static void awaitMorePolls(RoleProcess agent) {
        Instant reported = Instant.parse(status().getHeartbeatTime());
        await().atMost(WAIT).untilAsserted(() -> assertThat(Instant.parse(status().getHeartbeatTime()))
                .as(agent.logTail(30)).isAfterOrEqualTo(reported.plusSeconds(2)));
    }

    private static void setMode(Mode mode) {
        ConntrackPolicy policy = client.resources(ConntrackPolicy.class).withName(POLICY).get();
        policy.getSpec().setMode(mode);
        client.resource(policy).update();
    }

    private static ConntrackNodeStateStatus status() {
        ConntrackNodeState state = client.resources(ConntrackNodeState.class).withName(NODE).get();
        return state == null || state.getStatus() == null ? new ConntrackNodeStateStatus() : state.getStatus();
    }

    /** Every managed value as the kernel has it now. */
    private static Map<String, String> kernel() {
        Map<String, String> values = new LinkedHashMap<>();
        MANAGED.forEach((field, file) -> values.put(field, Sysctls.read(file)));
        return values;
    }

    /**
     * A value for every key that differs from the live one, and that is harmless if written: max
     * and buckets only grow, timeouts move by a few seconds, the booleans flip.
     */
    private static Map<String, String> differentFrom(Map<String, String> live) {
        Map<String, String> values = new LinkedHashMap<>();
        live.forEach((field, value) -> values.put(field, switch (field) {
            case "max", "buckets" -> Long.toString(Long.parseLong(value) + 4096);
            case "tcpBeLiberal", "tcpLoose" -> value.equals("0") ? "1" : "0";
            default -> Long.toString(Long.parseLong(value) + 7);
        }));
        return values;
    }

    private static ConntrackSettings settings(Map<String, String> values) {
        ConntrackSettings s = new ConntrackSettings();
        s.setMax(Integer.parseInt(values.get("max")));
        s.setBuckets(Integer.parseInt(values.get("buckets")));
        s.setTcpEstablished(values.get("tcpEstablished") + "s");
        s.setTcpTimeWait(values.get("tcpTimeWait") + "s");
        s.setTcpCloseWait(values.get("tcpCloseWait") + "s");
        s.setTcpSynSent(values.get("tcpSynSent") + "s");
        s.setTcpSynRecv(values.get("tcpSynRecv") + "s");
        s.setTcpFinWait(values.get("tcpFinWait") + "s");
        s.setUdp(values.get("udp") + "s");
        s.setUdpStream(values.get("udpStream") + "s");
        s.setGeneric(values.get("generic") + "s");
        s.setTcpBeLiberal(values.get("tcpBeLiberal").equals("1"));
        s.setTcpLoose(values.get("tcpLoose").equals("1"));
        s.setNotrack(List.of(new NotrackRule(NotrackProtocol.udp, 53, null, "127.0.0.0/8")));
        return s;
    }

    private static String nftTables() throws Exception {
        return nftLab.exec(30, "nft", "list", "tables").ok("nft list tables").stdout();
    }

    /** Notrack rules of the agent's table in the test's namespace, or -1 without the table. */
    private static int notrackRules() throws Exception {
        NetnsLab.Run run = nftLab.exec(30, "nft", "list", "table", "inet", TABLE);
        return run.exit() != 0 ? -1 : (int) run.stdout().lines().filter(l -> l.contains(" notrack")).count();
    }

    private static Map<String, String> orderedMap(String... pairs) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            map.put(pairs[i], pairs[i + 1]);
        }
        return map;
    }
}
