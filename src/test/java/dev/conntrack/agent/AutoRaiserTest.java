package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.agent.core.SettingsApplier;
import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.FakeHost;
import dev.conntrack.kernel.OriginalsStore;
import dev.conntrack.kernel.SysctlFiles;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AutoRaiserTest {

    private static ConntrackSettings settings(boolean autoscale) {
        return settings(autoscale, 1000);
    }

    private static ConntrackSettings settings(boolean autoscale, int max) {
        ConntrackSettings s = new ConntrackSettings();
        s.setMax(max);
        if (autoscale) {
            AutoscaleSpec a = new AutoscaleSpec();
            a.setEnabled(true);
            a.setCeiling(262144);
            s.setAutoscale(a);
        }
        return s;
    }

    private static AutoRaiser raiser(Path dir) {
        FakeHost host = FakeHost.withConntrack(dir.resolve("host"));
        return new AutoRaiser(new SettingsApplier(new SysctlFiles(host.paths()), OriginalsStore.open(dir.resolve("originals"))),
                Clock.systemUTC());
    }

    @Test
    void aRaiseFoundInTheKernelIsAdoptedOnlyOnTheFirstPassAfterAStart(@TempDir Path dir) {
        AutoRaiser restarted = raiser(dir.resolve("a"));
        assertThat(restarted.effective(settings(true), true, 131072).getMax()).isEqualTo(131072);

        // Autoscale switched on later: the larger live max is the previous spec's, not a raise.
        AutoRaiser running = raiser(dir.resolve("b"));
        assertThat(running.effective(settings(false), true, 131072).getMax()).isEqualTo(1000);
        assertThat(running.effective(settings(true), true, 131072).getMax()).isEqualTo(1000);
        // No original recorded: the agent never changed max, nothing to adopt.
        assertThat(raiser(dir.resolve("c")).effective(settings(true), false, 131072).getMax()).isEqualTo(1000);
    }

    @Test
    void aRaiseIsWrittenRecordedAndKeptAgainstTheSmallerSpecMax(@TempDir Path dir) {
        FakeHost host = FakeHost.withConntrack(dir.resolve("host"));
        host.set(ConntrackKey.MAX, "100000");
        AutoRaiser raiser = new AutoRaiser(new SettingsApplier(new SysctlFiles(host.paths()),
                OriginalsStore.open(dir.resolve("originals"))), Clock.systemUTC());
        raiser.effective(settings(true, 100_000), false, 100_000);

        assertThat(raiser.raiseIfNeeded(85_000, 0, 100_000, 65536, false, 256, Mode.Enforce, DriftPolicy.Reapply)).isPresent();

        assertThat(host.rawLive(ConntrackKey.MAX).trim()).isEqualTo("200000");
        assertThat(raiser.effective(settings(true, 100_000), true, 200_000).getMax()).isEqualTo(200_000);
        assertThat(raiser.status().getRaises()).isEqualTo(1L);
        // Observe-only never writes.
        assertThat(raiser.raiseIfNeeded(190_000, 0, 200_000, 65536, false, 256, Mode.ObserveOnly, DriftPolicy.Reapply)).isEmpty();
        assertThat(host.rawLive(ConntrackKey.MAX).trim()).isEqualTo("200000");
        // Autoscale off: back to the spec.
        assertThat(raiser.effective(settings(false, 100_000), true, 200_000).getMax()).isEqualTo(100_000);
    }

    @Test
    void aStaleMaxFromAnotherThreadNeverLowersARaise(@TempDir Path dir) {
        FakeHost host = FakeHost.withConntrack(dir.resolve("host"));
        host.set(ConntrackKey.MAX, "1000");
        AutoRaiser raiser = new AutoRaiser(new SettingsApplier(new SysctlFiles(host.paths()),
                OriginalsStore.open(dir.resolve("originals"))), Clock.systemUTC());
        raiser.effective(settings(true), false, 1000);
        // The watcher sees a storm: one raise sized for a second of it.
        assertThat(raiser.raiseIfNeeded(600, 30_000, 1000, 65536, false, 256, Mode.Enforce, DriftPolicy.Reapply)).isPresent();
        long raised = Long.parseLong(host.rawLive(ConntrackKey.MAX).trim());
        assertThat(raised).isEqualTo(38_250);
        // A poll that read max before that raise reports drops with the old max: the plan starts from the raise.
        raiser.raiseIfNeeded(1000, 0, 1000, 65536, true, 256, Mode.Enforce, DriftPolicy.Reapply);
        assertThat(Long.parseLong(host.rawLive(ConntrackKey.MAX).trim())).isGreaterThanOrEqualTo(raised);
    }
}
