package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.FailureReason;
import dev.conntrack.kernel.FakeHost;
import dev.conntrack.kernel.KernelSettings;
import dev.conntrack.kernel.OriginalsStore;
import dev.conntrack.kernel.ReadResult;
import dev.conntrack.kernel.SysctlFiles;
import dev.conntrack.kernel.WriteResult;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Auto-raise as a floor that the one enforcer applies: planned by {@link AutoRaise}, written by {@link Enforcer}. */
class AutoRaiseTest {
    private static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");

    private static ConntrackSettings settings(boolean autoscale) {
        return settings(autoscale, 1000);
    }

    static ConntrackSettings settings(boolean autoscale, int max) {
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

    private static AutoRaise.Observation seen(long count, long max, double growth, boolean dropping) {
        return new AutoRaise.Observation(count, max, 65536, growth, dropping);
    }

    private static long floorMax(AutoRaise raise, ConntrackSettings s, boolean originalRecorded, long liveMax) {
        return raise.floor(s, DesiredValues.of(s), originalRecorded, seen(0, liveMax, 0, false), 256, Mode.Enforce)
                .number(ConntrackKey.MAX);
    }

    /** The poll's decide, enforce and settle, for one observation. */
    private static Optional<String> poll(AutoRaise raise, Enforcer enforcer, ConntrackSettings s, boolean originalRecorded,
            AutoRaise.Observation seen, Mode mode) {
        DesiredValues values = raise.floor(s, DesiredValues.of(s), originalRecorded, seen, 256, mode);
        Enforcer.Result done = enforcer.enforce(new Enforcer.Intent(true, values, mode, DriftPolicy.Reapply, null));
        return raise.settle(done.settings(), NOW);
    }

    private static FakeHost hostWithMax(Path dir, String max) {
        FakeHost host = FakeHost.withConntrack(dir.resolve("host"));
        host.set(ConntrackKey.MAX, max);
        return host;
    }

    private static Enforcer enforcer(FakeHost host, Path dir) {
        return new Enforcer(new SettingsApplier(new SysctlFiles(host.paths()), OriginalsStore.open(dir.resolve("originals"), null)),
                new NotrackEnforcer(null, System::nanoTime));
    }

    @Test
    void aRaiseFoundInTheKernelIsAdoptedOnlyOnTheFirstPassAfterAStart() {
        assertThat(floorMax(new AutoRaise(), settings(true), true, 131072)).isEqualTo(131072);

        // Autoscale switched on later: the larger live max is the previous spec's, not a raise.
        AutoRaise running = new AutoRaise();
        assertThat(floorMax(running, settings(false), true, 131072)).isEqualTo(1000);
        assertThat(floorMax(running, settings(true), true, 131072)).isEqualTo(1000);
        // No original recorded: the agent never changed max, nothing to adopt.
        assertThat(floorMax(new AutoRaise(), settings(true), false, 131072)).isEqualTo(1000);
    }

    @Test
    void aRaiseIsWrittenRecordedAndKeptAgainstTheSmallerSpecMax(@TempDir Path dir) {
        FakeHost host = hostWithMax(dir, "100000");
        Enforcer enforcer = enforcer(host, dir);
        AutoRaise raise = new AutoRaise();

        assertThat(poll(raise, enforcer, settings(true, 100_000), false, seen(85_000, 100_000, 0, false), Mode.Enforce)).isPresent();

        assertThat(host.rawLive(ConntrackKey.MAX).trim()).isEqualTo("200000");
        assertThat(floorMax(raise, settings(true, 100_000), true, 200_000)).isEqualTo(200_000);
        assertThat(raise.status().getRaises()).isEqualTo(1L);
        // Observe-only never writes.
        assertThat(poll(raise, enforcer, settings(true, 100_000), true, seen(190_000, 200_000, 0, false), Mode.ObserveOnly)).isEmpty();
        assertThat(host.rawLive(ConntrackKey.MAX).trim()).isEqualTo("200000");
        // Autoscale off: back to the spec.
        assertThat(floorMax(raise, settings(false, 100_000), true, 200_000)).isEqualTo(100_000);
    }

    @Test
    void aStaleMaxNeverLowersARaise(@TempDir Path dir) {
        FakeHost host = hostWithMax(dir, "1000");
        AutoRaise raise = new AutoRaise();
        Enforcer enforcer = enforcer(host, dir);
        // The watcher measured a storm: one raise sized for a second of it.
        assertThat(poll(raise, enforcer, settings(true), false, seen(600, 1000, 30_000, false), Mode.Enforce)).isPresent();
        long raised = Long.parseLong(host.rawLive(ConntrackKey.MAX).trim());
        assertThat(raised).isEqualTo(38_250);
        // A reading of max from before that raise, with drops: the plan starts from the raise.
        poll(raise, enforcer, settings(true), true, seen(1000, 1000, 0, true), Mode.Enforce);
        assertThat(Long.parseLong(host.rawLive(ConntrackKey.MAX).trim())).isGreaterThanOrEqualTo(raised);
    }

    @Test
    void aRaiseTheKernelRefusesIsNotCountedAndSaysWhy(@TempDir Path dir) {
        SysctlFiles files = new SysctlFiles(hostWithMax(dir, "100000").paths());
        KernelSettings readOnly = new KernelSettings() {
            @Override
            public ReadResult read(ConntrackKey key) {
                return files.read(key);
            }

            @Override
            public WriteResult write(ConntrackKey key, String value) {
                return WriteResult.failed(FailureReason.ReadOnlyFileSystem, "Read-only file system");
            }
        };
        Enforcer enforcer = new Enforcer(new SettingsApplier(readOnly, OriginalsStore.open(dir.resolve("originals"), null)),
                new NotrackEnforcer(null, System::nanoTime));
        AutoRaise raise = new AutoRaise();

        assertThat(poll(raise, enforcer, settings(true, 100_000), false, seen(85_000, 100_000, 0, false), Mode.Enforce)).isEmpty();

        assertThat(raise.status().getRaises()).isZero();
        assertThat(raise.status().getMessage()).startsWith("could not raise: max=200000");
    }

    @Test
    void theStatusSaysWhatWasRaisedWhenAndWhy() {
        AutoRaise raise = new AutoRaise();
        ConntrackSettings s = settings(true, 100_000);
        s.getAutoscale().setCeiling(1_000_000);
        DesiredValues values = raise.floor(s, DesiredValues.of(s), false, new AutoRaise.Observation(85_000, 100_000, 1024, 0, false),
                256, Mode.Enforce);
        assertThat(values.number(ConntrackKey.MAX)).isEqualTo(200_000);
        assertThat(values.number(ConntrackKey.BUCKETS)).isEqualTo(50_000);
        ApplyReport written = new ApplyReport(Mode.Enforce, List.of(
                new KeyResult(ConntrackKey.MAX, KeyOutcome.Applied, "200000", "100000", "200000", null, null),
                new KeyResult(ConntrackKey.BUCKETS, KeyOutcome.Applied, "50000", "1024", "50000", null, null)), Map.of());

        assertThat(raise.settle(written, NOW))
                .contains("raised max 100000 -> 200000, buckets 1024 -> 50000 (usage 85% >= 80%) (85000 entries, max was 100000)");

        var status = raise.status();
        assertThat(status.getMax()).isEqualTo(200_000L);
        assertThat(status.getBuckets()).isEqualTo(50_000L);
        assertThat(status.getRaises()).isEqualTo(1L);
        assertThat(status.getLastRaiseTime()).isEqualTo("2026-11-25T10:00:00Z");
        assertThat(status.getLimitedBy()).isNull();
        assertThat(status.getMessage()).isEqualTo("raised max 100000 -> 200000, buckets 1024 -> 50000 (usage 85% >= 80%)");
    }

    @Test
    void aBoundThatHoldsARaiseBackIsInTheStatus(@TempDir Path dir) {
        FakeHost host = hostWithMax(dir, "150000");
        AutoRaise raise = new AutoRaise();
        ConntrackSettings s = settings(true, 150_000);
        s.getAutoscale().setCeiling(150_000);

        assertThat(poll(raise, enforcer(host, dir), s, false, seen(140_000, 150_000, 0, true), Mode.Enforce)).isEmpty();

        assertThat(raise.limitedBy()).isEqualTo(AutoRaisePlanner.Limit.Ceiling);
        assertThat(raise.status().getLimitedBy()).isEqualTo("Ceiling");
        assertThat(raise.status().getMessage()).isEqualTo("ceiling 150000 reached at max 150000 with 140000 entries");
        assertThat(raise.status().getMax()).isNull();
    }

    @Test
    void onlyAMaxAboveTheSpecAndWithinTheCeilingIsAdopted() {
        // settings(true): spec max 1000, ceiling 262144.
        assertThat(floorMax(new AutoRaise(), settings(true), true, 262_144)).isEqualTo(262_144);
        assertThat(floorMax(new AutoRaise(), settings(true), true, 262_145)).as("above the ceiling: not ours").isEqualTo(1000);
        AutoRaise atSpec = new AutoRaise();
        assertThat(floorMax(atSpec, settings(true, 100_000), true, 100_000)).isEqualTo(100_000);
        assertThat(atSpec.status().getMax()).as("nothing adopted").isNull();
    }

    @Test
    void bucketsTheKernelRefusedAreNotReportedAsRaised() {
        AutoRaise raise = new AutoRaise();
        ConntrackSettings s = settings(true, 100_000);
        s.getAutoscale().setCeiling(1_000_000);
        raise.floor(s, DesiredValues.of(s), false, new AutoRaise.Observation(85_000, 100_000, 1024, 0, false), 256, Mode.Enforce);
        ApplyReport written = new ApplyReport(Mode.Enforce, List.of(
                new KeyResult(ConntrackKey.MAX, KeyOutcome.Applied, "200000", "100000", "200000", null, null),
                new KeyResult(ConntrackKey.BUCKETS, KeyOutcome.Failed, "50000", "1024", "1024",
                        new dev.conntrack.kernel.IoFailure(FailureReason.ReadOnlyFileSystem, "Read-only file system"), null)), Map.of());

        assertThat(raise.settle(written, NOW)).isPresent();
        assertThat(raise.status().getMax()).isEqualTo(200_000L);
        assertThat(raise.status().getBuckets()).isNull();
    }

    @Test
    void aSpecMaxTheRaiseWouldOnlyMatchIsNotARaise() {
        // The spec asks for 200,000; the kernel still has 100,000 at 85%: the step lands on the spec's own value.
        AutoRaise raise = new AutoRaise();
        ConntrackSettings s = settings(true, 200_000);
        DesiredValues values = raise.floor(s, DesiredValues.of(s), false, seen(85_000, 100_000, 0, false), 256, Mode.Enforce);
        assertThat(values.number(ConntrackKey.MAX)).isEqualTo(200_000);
        ApplyReport written = new ApplyReport(Mode.Enforce, List.of(
                new KeyResult(ConntrackKey.MAX, KeyOutcome.Applied, "200000", "100000", "200000", null, null)), Map.of());

        assertThat(raise.settle(written, NOW)).as("the spec's write, not auto-raise's").isEmpty();
        assertThat(raise.status().getRaises()).isZero();
    }
}
