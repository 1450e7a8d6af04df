package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.MonitoringSpec;
import dev.conntrack.api.NotrackProtocol;
import dev.conntrack.api.NotrackRule;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Objects that slipped past the schema: what the agent refuses, naming the field. */
class SpecValidatorTest {

    private static ConntrackNodeStateSpec spec(ConntrackSettings settings, String pollInterval) {
        ConntrackNodeStateSpec spec = new ConntrackNodeStateSpec();
        spec.setConntrack(settings);
        if (pollInterval != null) {
            spec.setMonitoring(new MonitoringSpec());
            spec.getMonitoring().setPollInterval(pollInterval);
        }
        return spec;
    }

    @Test
    void aGoodSpecHasNoProblems() {
        ConntrackSettings s = new ConntrackSettings();
        s.setMax(1000);
        s.setBuckets(65536);
        s.setNotrack(List.of(new NotrackRule(NotrackProtocol.udp, 53, null, "169.254.20.10/32")));
        assertThat(SpecValidator.problems(spec(s, "100ms"))).isEmpty();
        assertThat(SpecValidator.problems(null)).isEmpty();
        assertThat(SpecValidator.problems(new ConntrackNodeStateSpec())).isEmpty();
    }

    @Test
    void aPollIntervalUnder100msOrUnreadableIsRefused() {
        assertThat(SpecValidator.problems(spec(null, "0s"))).containsExactly("monitoring.pollInterval: \"0s\" is outside 100ms..1m");
        assertThat(SpecValidator.problems(spec(null, "10ms"))).hasSize(1);
        assertThat(SpecValidator.problems(spec(null, "2m"))).hasSize(1);
        assertThat(SpecValidator.problems(spec(null, "soon"))).singleElement().asString().startsWith("monitoring.pollInterval: ");
    }

    @Test
    void bucketsCeilingAndMaxAreBounded() {
        ConntrackSettings s = new ConntrackSettings();
        s.setMax(0);
        s.setBuckets(1_000_000_000);
        AutoscaleSpec a = new AutoscaleSpec();
        a.setEnabled(true);
        a.setCeiling(-1);
        a.setStep(100.0);
        a.setMemoryBudget("lots");
        s.setAutoscale(a);
        assertThat(SpecValidator.problems(spec(s, null))).containsExactly(
                "conntrack.max: 0 is outside 1..2147483647",
                "conntrack.buckets: 1000000000 is outside 1..67108864",
                "conntrack.autoscale.ceiling: -1 is outside 1..2147483647",
                "conntrack.autoscale.step: 100.0 is outside 1.1..16",
                "conntrack.autoscale.memoryBudget: \"lots\" is not a quantity");
        AutoscaleSpec unbounded = new AutoscaleSpec();
        unbounded.setEnabled(true);
        s = new ConntrackSettings();
        s.setAutoscale(unbounded);
        assertThat(SpecValidator.problems(spec(s, null))).singleElement().asString().contains("without a ceiling or a memoryBudget");
    }

    @Test
    void aNotrackRuleWithoutAPortIsRefusedNotANullPointer() {
        ConntrackSettings s = new ConntrackSettings();
        NotrackRule noPort = new NotrackRule();
        noPort.setProtocol(NotrackProtocol.udp);
        s.setNotrack(List.of(noPort, new NotrackRule(NotrackProtocol.tcp, 3000, 2000, null)));
        assertThat(SpecValidator.problems(spec(s, null))).containsExactly(
                "conntrack.notrack[0]: needs a protocol (udp, tcp) and a port",
                "conntrack.notrack[1].endPort: 2000 is outside 3000..65535");
    }

    @Test
    void everyBoundIsInclusive() {
        ConntrackSettings s = new ConntrackSettings();
        s.setMax(1);
        s.setBuckets(ConntrackSettings.MAX_BUCKETS);
        AutoscaleSpec a = new AutoscaleSpec();
        a.setEnabled(true);
        a.setHighWatermarkPercent(10);
        a.setCeiling(1);
        a.setStep(1.1);
        s.setAutoscale(a);
        s.setNotrack(java.util.Collections.nCopies(ConntrackSettings.MAX_NOTRACK_RULES,
                new NotrackRule(NotrackProtocol.udp, 65535, 65535, null)));
        ConntrackNodeStateSpec low = spec(s, "100ms");
        low.getMonitoring().setUsageWarningPercent(1);
        assertThat(SpecValidator.problems(low)).isEmpty();

        ConntrackSettings high = new ConntrackSettings();
        AutoscaleSpec b = new AutoscaleSpec();
        b.setHighWatermarkPercent(99);
        b.setStep(16.0);
        b.setMemoryBudget("1");
        high.setAutoscale(b);
        high.setNotrack(List.of(new NotrackRule(NotrackProtocol.tcp, 1, null, null)));
        ConntrackNodeStateSpec top = spec(high, "1m");
        top.getMonitoring().setUsageWarningPercent(100);
        assertThat(SpecValidator.problems(top)).isEmpty();
    }

    @Test
    void justOutsideEveryBoundIsRefused() {
        ConntrackSettings s = new ConntrackSettings();
        s.setBuckets(ConntrackSettings.MAX_BUCKETS + 1);
        AutoscaleSpec a = new AutoscaleSpec();
        a.setHighWatermarkPercent(9);
        a.setStep(1.09);
        a.setMemoryBudget("0");
        s.setAutoscale(a);
        s.setNotrack(java.util.Collections.nCopies(ConntrackSettings.MAX_NOTRACK_RULES + 1,
                new NotrackRule(NotrackProtocol.udp, 65536, null, null)));
        ConntrackNodeStateSpec spec = spec(s, "61s");
        spec.getMonitoring().setUsageWarningPercent(101);
        List<String> problems = SpecValidator.problems(spec);
        assertThat(problems).contains(
                "monitoring.usageWarningPercent: 101 is outside 1..100",
                "monitoring.pollInterval: \"61s\" is outside 100ms..1m",
                "conntrack.buckets: " + (ConntrackSettings.MAX_BUCKETS + 1) + " is outside 1.." + ConntrackSettings.MAX_BUCKETS,
                "conntrack.autoscale.highWatermarkPercent: 9 is outside 10..99",
                "conntrack.autoscale.step: 1.09 is outside 1.1..16",
                "conntrack.autoscale.memoryBudget: \"0\" is not positive",
                "conntrack.notrack: " + (ConntrackSettings.MAX_NOTRACK_RULES + 1) + " rules, at most " + ConntrackSettings.MAX_NOTRACK_RULES,
                "conntrack.notrack[0].port: 65536 is outside 1..65535");

        AutoscaleSpec above = new AutoscaleSpec();
        above.setHighWatermarkPercent(100);
        above.setStep(16.01);
        ConntrackSettings t = new ConntrackSettings();
        t.setAutoscale(above);
        t.setNotrack(List.of(new NotrackRule(NotrackProtocol.tcp, 0, null, null)));
        ConntrackNodeStateSpec top = spec(t, null);
        top.setMonitoring(new MonitoringSpec());
        top.getMonitoring().setUsageWarningPercent(0);
        assertThat(SpecValidator.problems(top)).containsExactly(
                "monitoring.usageWarningPercent: 0 is outside 1..100",
                "conntrack.autoscale.highWatermarkPercent: 100 is outside 10..99",
                "conntrack.autoscale.step: 16.01 is outside 1.1..16",
                "conntrack.notrack[0].port: 0 is outside 1..65535");
    }
}
