package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackPolicySpec;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.MonitoringSpec;
import dev.conntrack.api.NotrackProtocol;
import dev.conntrack.api.NotrackRule;
import dev.conntrack.api.RolloutSpec;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class PolicyValidatorTest {

    @Test
    void everyExamplePasses() throws IOException {
        List<Path> examples;
        try (Stream<Path> files = Files.list(Path.of("examples"))) {
            examples = files.filter(f -> f.toString().endsWith(".yaml")).toList();
        }
        assertThat(examples).isNotEmpty();
        for (Path file : examples) {
            ConntrackPolicy policy = Serialization.unmarshal(Files.readString(file), ConntrackPolicy.class);
            assertThat(PolicyValidator.problems(policy.getSpec())).as(file.toString()).isEmpty();
        }
    }

    @Test
    void valuesOutsideTheCrdsBoundsAreNamed() {
        assertThat(problems(ct -> ct.setMax(0))).containsExactly("conntrack.max must be at least 1, is 0");
        assertThat(problems(ct -> ct.setBuckets(ConntrackSettings.MAX_BUCKETS + 1)))
                .containsExactly("conntrack.buckets must be at most 67108864, is 67108865");
        assertThat(problems(ct -> ct.setTcpTimeWait("30"))).containsExactly(
                "conntrack.tcpTimeWait must be a duration between 1s and 596h such as \"30s\", is \"30\"");
        assertThat(problems(ct -> ct.setUdp("500ms"))).singleElement().asString().startsWith("conntrack.udp must be a duration");
        assertThat(problems(ct -> ct.setGeneric("597h"))).hasSize(1);
        ConntrackPolicySpec spec = new ConntrackPolicySpec();
        MonitoringSpec monitoring = new MonitoringSpec();
        monitoring.setPollInterval("0s");
        monitoring.setUsageWarningPercent(0);
        spec.setMonitoring(monitoring);
        spec.setPriority(2000);
        assertThat(PolicyValidator.problems(spec)).containsExactlyInAnyOrder(
                "priority must be at most 1000, is 2000",
                "monitoring.usageWarningPercent must be at least 1, is 0",
                "monitoring.pollInterval must be a duration between 100ms and 1m such as \"30s\", is \"0s\"");
    }

    @Test
    void theCrdsCrossFieldRulesAreRestated() {
        assertThat(problems(ct -> {
            ct.setMax(262144);
            ct.setMaxPerCore(65536);
        })).containsExactly("conntrack.max and conntrack.maxPerCore are mutually exclusive");
        assertThat(problems(ct -> ct.setMin(262144))).containsExactly("conntrack.min only goes with conntrack.maxPerCore");
        assertThat(problems(ct -> {
            ct.setMax(262144);
            ct.setAutoscale(autoscale(true, 131072, null));
        })).containsExactly("conntrack.autoscale.ceiling must be at least conntrack.max, is 131072");
        assertThat(problems(ct -> ct.setAutoscale(autoscale(true, null, null))))
                .containsExactly("conntrack.autoscale needs a ceiling or a memoryBudget when enabled");
        assertThat(problems(ct -> ct.setAutoscale(autoscale(true, null, "lots")))).singleElement().asString()
                .contains("memoryBudget must be a positive quantity");
        assertThat(problems(ct -> ct.setAutoscale(autoscale(true, null, "0")))).hasSize(1);
        assertThat(problems(ct -> ct.setNotrack(List.of(new NotrackRule(NotrackProtocol.udp, 53, 40, null)))))
                .containsExactly("conntrack.notrack[0].endPort must be at least port");
        assertThat(problems(ct -> ct.setNotrack(List.of(new NotrackRule(NotrackProtocol.udp, null, null, "10.0.0.0/8")))))
                .containsExactly("conntrack.notrack[0].port is required");
        assertThat(problems(ct -> ct.setNotrack(List.of(new NotrackRule(NotrackProtocol.udp, 53, null, "10.0.0.1/8")))))
                .singleElement().asString().contains("no host bits set");
        assertThat(problems(ct -> ct.setNotrack(List.of(new NotrackRule(NotrackProtocol.udp, 53, null, "example.org/8")))))
                .hasSize(1);
        List<NotrackRule> many = new ArrayList<>();
        for (int i = 0; i < ConntrackSettings.MAX_NOTRACK_RULES + 1; i++) {
            many.add(new NotrackRule(NotrackProtocol.tcp, 1000 + i, null, null));
        }
        assertThat(problems(ct -> ct.setNotrack(many))).containsExactly("conntrack.notrack must have at most 32 items, has 33");
        ConntrackPolicySpec spec = new ConntrackPolicySpec();
        RolloutSpec rollout = new RolloutSpec();
        rollout.setMaxUnavailable(new IntOrString("0%"));
        spec.setRollout(rollout);
        assertThat(PolicyValidator.problems(spec)).containsExactly(RolloutSpec.MAX_UNAVAILABLE_MESSAGE);
    }

    @Test
    void networksAreLiteralsWithNoHostBits() {
        assertThat(PolicyValidator.network("169.254.20.10/32")).isTrue();
        assertThat(PolicyValidator.network("10.96.0.0/12")).isTrue();
        assertThat(PolicyValidator.network("fd00::/64")).isTrue();
        assertThat(PolicyValidator.network("fd00::1/64")).isFalse();
        assertThat(PolicyValidator.network("10.96.0.0/33")).isFalse();
        assertThat(PolicyValidator.network("10.96.0.0")).isFalse();
        assertThat(PolicyValidator.network("dead/8")).as("never a name lookup").isFalse();
    }

    @Test
    void eachPolicyVersionIsCheckedOnce() {
        PolicyValidator validator = new PolicyValidator();
        ConntrackPolicy p = new ConntrackPolicy();
        p.getMetadata().setName("p");
        p.getMetadata().setUid("u1");
        p.getMetadata().setGeneration(1L);
        p.getSpec().setPriority(5000);
        assertThat(validator.valid(p)).isFalse();
        p.getSpec().setPriority(5); // changed in place, same version: the first answer stands
        assertThat(validator.valid(p)).isFalse();
        p.getMetadata().setGeneration(2L);
        assertThat(validator.valid(p)).isTrue();
    }

    private static List<String> problems(Consumer<ConntrackSettings> settings) {
        ConntrackPolicySpec spec = new ConntrackPolicySpec();
        ConntrackSettings ct = new ConntrackSettings();
        settings.accept(ct);
        spec.setConntrack(ct);
        return PolicyValidator.problems(spec);
    }

    private static AutoscaleSpec autoscale(boolean enabled, Integer ceiling, String budget) {
        AutoscaleSpec a = new AutoscaleSpec();
        a.setEnabled(enabled);
        a.setCeiling(ceiling);
        a.setMemoryBudget(budget);
        return a;
    }
}
