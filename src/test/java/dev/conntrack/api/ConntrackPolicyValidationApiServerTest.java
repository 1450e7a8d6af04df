package dev.conntrack.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The schema and its CEL rules on the real kube-apiserver: every bad policy is refused with a message naming the field. */
class ConntrackPolicyValidationApiServerTest {
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static KubernetesClient client;

    @BeforeAll
    static void connect() {
        client = TestApiServer.newClient();
    }

    @AfterAll
    static void close() {
        client.close();
    }

    static Stream<Arguments> badPolicies() {
        return Stream.of(
                Arguments.of("conntrack: {max: 1000, maxPerCore: 32768}",
                        "spec.conntrack", "conntrack.max and conntrack.maxPerCore are mutually exclusive"),
                Arguments.of("conntrack: {max: 1000, min: 10}",
                        "spec.conntrack", "conntrack.min only applies together with conntrack.maxPerCore"),
                Arguments.of("conntrack: {tcpTimeWait: soon}",
                        "spec.conntrack.tcpTimeWait", "conntrack.tcpTimeWait must be a duration"),
                Arguments.of("conntrack: {udp: 0s}",
                        "spec.conntrack.udp", "conntrack.udp must be a duration such as \"30s\" or \"24h\", between 1s and 596h"),
                Arguments.of("conntrack: {tcpEstablished: 1000h}",
                        "spec.conntrack.tcpEstablished", "between 1s and 596h"),
                Arguments.of("conntrack: {generic: \"-5s\"}",
                        "spec.conntrack.generic", "conntrack.generic must be a duration"),
                Arguments.of("conntrack: {buckets: 0}",
                        "spec.conntrack.buckets", "should be greater than or equal to 1"),
                Arguments.of("conntrack: {buckets: 100000000}",
                        "spec.conntrack.buckets", "should be less than or equal to 67108864"),
                Arguments.of("conntrack: {max: 0}",
                        "spec.conntrack.max", "should be greater than or equal to 1"),
                Arguments.of("conntrack: {maxPerCore: 0}",
                        "spec.conntrack.maxPerCore", "should be greater than or equal to 1"),
                Arguments.of("conntrack: {tcpBeLiberal: maybe}",
                        "spec.conntrack.tcpBeLiberal", "boolean"),
                Arguments.of("priority: 5000",
                        "spec.priority", "should be less than or equal to 1000"),
                Arguments.of("mode: Sometimes",
                        "spec.mode", "Unsupported value: \"Sometimes\""),
                Arguments.of("driftPolicy: Ignore",
                        "spec.driftPolicy", "Unsupported value: \"Ignore\""),
                Arguments.of("monitoring: {pollInterval: 10ms}",
                        "spec.monitoring.pollInterval", "monitoring.pollInterval must be a duration such as \"1s\" or \"500ms\", between 100ms and 1m"),
                Arguments.of("monitoring: {usageWarningPercent: 0}",
                        "spec.monitoring.usageWarningPercent", "should be greater than or equal to 1"),
                Arguments.of("nodeSelector: {matchExpressions: [{key: zone, operator: In}]}",
                        "spec.nodeSelector.matchExpressions[0]", "values must be non-empty for In and NotIn"),
                Arguments.of("nodeSelector: {matchExpressions: [{key: zone, operator: Exists, values: [a]}]}",
                        "spec.nodeSelector.matchExpressions[0]", "absent for Exists and DoesNotExist"),
                Arguments.of("nodeSelector: {matchExpressions: [{key: zone, operator: Like, values: [a]}]}",
                        "spec.nodeSelector.matchExpressions[0].operator", "Unsupported value: \"Like\""),
                Arguments.of("conntrack: {autoscale: {enabled: true}}",
                        "spec.conntrack.autoscale", "needs a ceiling or a memoryBudget when enabled"),
                Arguments.of("conntrack: {autoscale: {enabled: true, memoryBudget: lots}}",
                        "spec.conntrack.autoscale.memoryBudget", "must be a positive quantity such as \"256Mi\""),
                Arguments.of("conntrack: {max: 100000, autoscale: {enabled: true, ceiling: 5000}}",
                        "spec.conntrack", "conntrack.autoscale.ceiling must be at least conntrack.max"),
                Arguments.of("conntrack: {autoscale: {enabled: true, ceiling: 5000, step: 0.5}}",
                        "spec.conntrack.autoscale.step", "should be greater than or equal to 1.1"),
                Arguments.of("nodeSelector: {matchExpressions: [{key: \"bad key!\", operator: Exists}]}",
                        "spec.nodeSelector.matchExpressions[0].key", "should match"),
                Arguments.of("rollout: {maxUnavailable: 0}",
                        "spec.rollout.maxUnavailable", RolloutSpec.MAX_UNAVAILABLE_MESSAGE),
                Arguments.of("rollout: {maxUnavailable: \"0%\"}",
                        "spec.rollout.maxUnavailable", RolloutSpec.MAX_UNAVAILABLE_MESSAGE),
                Arguments.of("rollout: {maxUnavailable: \"150%\"}",
                        "spec.rollout.maxUnavailable", RolloutSpec.MAX_UNAVAILABLE_MESSAGE),
                Arguments.of("rollout: {maxUnavailable: ten}",
                        "spec.rollout.maxUnavailable", RolloutSpec.MAX_UNAVAILABLE_MESSAGE),
                Arguments.of("rollout: {pauseOnDegraded: sometimes}",
                        "spec.rollout.pauseOnDegraded", "boolean"),
                Arguments.of("conntrack: {notrack: [{protocol: icmp, port: 1}]}",
                        "spec.conntrack.notrack[0].protocol", "Unsupported value: \"icmp\""),
                Arguments.of("conntrack: {notrack: [{protocol: udp}]}",
                        "spec.conntrack.notrack[0].port", "Required value"),
                Arguments.of("conntrack: {notrack: [{protocol: udp, port: 0}]}",
                        "spec.conntrack.notrack[0].port", "should be greater than or equal to 1"),
                Arguments.of("conntrack: {notrack: [{protocol: tcp, port: 70000}]}",
                        "spec.conntrack.notrack[0].port", "should be less than or equal to 65535"),
                Arguments.of("conntrack: {notrack: [{protocol: udp, port: 30100, endPort: 30000}]}",
                        "spec.conntrack.notrack[0]", "conntrack.notrack[].endPort must be at least port"),
                Arguments.of("conntrack: {notrack: [{protocol: udp, port: 53, cidr: 10.0.0.1}]}",
                        "spec.conntrack.notrack[0].cidr", "conntrack.notrack[].cidr must be an IPv4 or IPv6 network"),
                Arguments.of("conntrack: {notrack: [{protocol: udp, port: 53, cidr: 10.0.0.1/8}]}",
                        "spec.conntrack.notrack[0].cidr", "with no host bits set"),
                Arguments.of("conntrack: {notrack: [{protocol: udp, port: 53, cidr: \"dns.example/32\"}]}",
                        "spec.conntrack.notrack[0].cidr", "conntrack.notrack[].cidr must be an IPv4 or IPv6 network"),
                Arguments.of("conntrack: {notrack: [" + "{protocol: udp, port: 53}, ".repeat(ConntrackSettings.MAX_NOTRACK_RULES) + "{protocol: udp, port: 54}]}",
                        "spec.conntrack.notrack", "must have at most " + ConntrackSettings.MAX_NOTRACK_RULES + " items"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badPolicies")
    void rejectsBadPolicyWithMessageNamingTheField(String specYaml, String field, String message) {
        GenericKubernetesResource policy = policy("bad-" + COUNTER.incrementAndGet(), specYaml);

        assertThatThrownBy(() -> client.resource(policy).create())
                .isInstanceOf(KubernetesClientException.class)
                .satisfies(e -> {
                    KubernetesClientException kce = (KubernetesClientException) e;
                    assertThat(kce.getCode()).isEqualTo(422);
                    assertThat(kce.getMessage()).contains(field).contains(message);
                });
    }

    @Test
    void goodPolicyRoundTripsWithDefaults() {
        String name = "good-" + COUNTER.incrementAndGet();
        client.resource(policy(name, """
                nodeSelector:
                  matchLabels: {node-role.kubernetes.io/ingress: ""}
                  matchExpressions: [{key: topology.kubernetes.io/zone, operator: In, values: [a, b]}]
                conntrack:
                  maxPerCore: 32768
                  min: 131072
                  buckets: 65536
                  tcpEstablished: 24h
                  tcpTimeWait: 30s
                  tcpCloseWait: 1h
                  udp: 30s
                  udpStream: 2m
                  tcpBeLiberal: true
                  notrack:
                    - {protocol: udp, port: 53, cidr: 169.254.20.10/32}
                    - {protocol: tcp, port: 30000, endPort: 30100, cidr: "fd00::/64"}
                    - {protocol: udp, port: 123}
                monitoring: {usageWarningPercent: 90}
                """)).create();

        ConntrackPolicy read = client.resources(ConntrackPolicy.class).withName(name).get();
        ConntrackPolicySpec spec = read.getSpec();
        assertThat(spec.getPriority()).isZero();
        assertThat(spec.getMode()).isEqualTo(Mode.Enforce);
        assertThat(spec.getDriftPolicy()).isEqualTo(DriftPolicy.Reapply);
        assertThat(spec.getMonitoring().getUsageWarningPercent()).isEqualTo(90);
        // Not defaulted in the schema: unset monitoring fields are merged from lower-priority policies.
        assertThat(spec.getMonitoring().getPollInterval()).isNull();
        assertThat(spec.getConntrack().getMaxPerCore()).isEqualTo(32768);
        assertThat(spec.getConntrack().getMin()).isEqualTo(131072);
        assertThat(spec.getConntrack().getTcpTimeWait()).isEqualTo("30s");
        assertThat(spec.getConntrack().getTcpBeLiberal()).isTrue();
        assertThat(spec.getConntrack().getNotrack()).containsExactly(
                new NotrackRule(NotrackProtocol.udp, 53, null, "169.254.20.10/32"),
                new NotrackRule(NotrackProtocol.tcp, 30000, 30100, "fd00::/64"),
                new NotrackRule(NotrackProtocol.udp, 123, null, null));
        assertThat(spec.getNodeSelector().getMatchExpressions().get(0).getOperator()).isEqualTo(NodeSelectorOperator.In);
        assertThat(read.getMetadata().getGeneration()).isEqualTo(1L);
        // No rollout block: nothing is defaulted (the operator reads absent as 10% and pause on).
        assertThat(spec.getRollout()).isNull();

        client.resource(read).delete();
    }

    @Test
    void rolloutAcceptsANumberOrAPercentAndDefaultsWhatIsLeftOut() {
        String name = "rollout-" + COUNTER.incrementAndGet();
        client.resource(policy(name, "rollout: {}")).create();
        RolloutSpec defaulted = client.resources(ConntrackPolicy.class).withName(name).get().getSpec().getRollout();
        assertThat(defaulted.getMaxUnavailable().getStrVal()).isEqualTo("10%");
        assertThat(defaulted.getPauseOnDegraded()).isTrue();
        client.resources(ConntrackPolicy.class).withName(name).delete();

        Map<String, Object> accepted = Map.of("1", 1, "250", 250, "\"1%\"", "1%", "\"100%\"", "100%");
        for (Map.Entry<String, Object> value : accepted.entrySet()) {
            String each = "rollout-" + COUNTER.incrementAndGet();
            client.resource(policy(each, "rollout: {maxUnavailable: " + value.getKey() + ", pauseOnDegraded: false}")).create();
            RolloutSpec read = client.resources(ConntrackPolicy.class).withName(each).get().getSpec().getRollout();
            Object stored = read.getMaxUnavailable().getIntVal() != null ? read.getMaxUnavailable().getIntVal() : read.getMaxUnavailable().getStrVal();
            assertThat(stored).as(value.getKey()).isEqualTo(value.getValue());
            assertThat(read.getPauseOnDegraded()).isFalse();
            client.resources(ConntrackPolicy.class).withName(each).delete();
        }
    }

    @Test
    void unknownFieldsCannotSmuggleSysctlsIn() {
        String name = "smuggle-" + COUNTER.incrementAndGet();
        client.resource(policy(name, """
                conntrack:
                  max: 262144
                  nf_conntrack_helper: 1
                sysctls: {net.ipv4.ip_forward: "0"}
                """)).create();

        GenericKubernetesResource stored = client.genericKubernetesResources("conntrack.dev/v1alpha1", "ConntrackPolicy")
                .withName(name).get();
        @SuppressWarnings("unchecked")
        Map<String, Object> spec = (Map<String, Object>) stored.getAdditionalProperties().get("spec");
        assertThat(spec).containsOnlyKeys("conntrack", "priority", "mode", "driftPolicy");
        @SuppressWarnings("unchecked")
        Map<String, Object> conntrack = (Map<String, Object>) spec.get("conntrack");
        assertThat(conntrack).containsOnlyKeys("max");

        client.resource(stored).delete();
    }

    private static GenericKubernetesResource policy(String name, String specYaml) {
        String yaml = "apiVersion: conntrack.dev/v1alpha1\nkind: ConntrackPolicy\nmetadata:\n  name: " + name
                + "\nspec:\n" + specYaml.lines().map(l -> "  " + l).reduce("", (a, b) -> a + b + "\n");
        return Serialization.unmarshal(yaml, GenericKubernetesResource.class);
    }
}
