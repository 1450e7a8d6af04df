package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.FailureReason;
import dev.conntrack.kernel.FakeHost;
import dev.conntrack.kernel.OriginalsStore;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SettingsApplierTest {

    @TempDir
    Path root;

    private FakeHost host;
    private FakeKernel kernel;
    private Path originalsFile;
    private OriginalsStore originals;
    private SettingsApplier applier;

    @BeforeEach
    void setUp() {
        host = FakeHost.withConntrack(root);
        kernel = new FakeKernel(host);
        originalsFile = OriginalsStore.defaultPath(host.paths(), "node-a");
        originals = OriginalsStore.open(originalsFile, null);
        applier = new SettingsApplier(kernel, originals);
    }

    private static ConntrackSettings settings() {
        ConntrackSettings s = new ConntrackSettings();
        s.setMax(1048576);
        s.setTcpTimeWait("30s");
        s.setTcpBeLiberal(true);
        return s;
    }

    private String live(ConntrackKey key) {
        return FakeHost.read(key.readPath(host.paths())).trim();
    }

    @Test
    void enforceAppliesVerifiesAndRecordsOriginalsFirst() {
        ApplyReport report = applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(report.results()).extracting(KeyResult::key, KeyResult::outcome, KeyResult::before, KeyResult::after)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(ConntrackKey.MAX, KeyOutcome.Applied, "262144", "1048576"),
                        org.assertj.core.groups.Tuple.tuple(ConntrackKey.TCP_TIME_WAIT, KeyOutcome.Applied, "120", "30"),
                        org.assertj.core.groups.Tuple.tuple(ConntrackKey.TCP_BE_LIBERAL, KeyOutcome.Applied, "0", "1"));
        assertThat(live(ConntrackKey.MAX)).isEqualTo("1048576");
        assertThat(live(ConntrackKey.TCP_TIME_WAIT)).isEqualTo("30");
        assertThat(live(ConntrackKey.TCP_BE_LIBERAL)).isEqualTo("1");
        assertThat(report.current()).containsExactly(entry("max", "1048576"), entry("tcpTimeWait", "30"), entry("tcpBeLiberal", "1"));
        assertThat(report.originals()).containsExactly(entry("max", "262144"), entry("tcpTimeWait", "120"), entry("tcpBeLiberal", "0"));
        assertThat(report.pending()).isEmpty();
        assertThat(report.degraded()).isFalse();
        assertThat(report.degradedMessage()).isEmpty();
        // On disk before anything else can happen.
        assertThat(OriginalsStore.open(originalsFile, null).all()).containsEntry(ConntrackKey.MAX, "262144");
    }

    @Test
    void secondPassIsAlreadyCorrectAndWritesNothing() {
        ApplyReport first = applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);
        kernel.writes.clear();

        ApplyReport report = applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(report.results()).extracting(KeyResult::outcome).containsOnly(KeyOutcome.AlreadyCorrect);
        assertThat(kernel.writes).isEmpty();
        assertThat(first.mayHaveWritten()).isTrue();
        assertThat(report.mayHaveWritten()).isFalse();
    }

    @Test
    void restartedAgentKeepsTheTrueOriginal() {
        applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);

        // Restart: new store instance on the same file, new applier, spec now asks for more.
        SettingsApplier restarted = new SettingsApplier(kernel, OriginalsStore.open(originalsFile, null));
        ConntrackSettings bigger = settings();
        bigger.setMax(2097152);
        ApplyReport report = restarted.reconcile(DesiredValues.of(bigger), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(report.result(ConntrackKey.MAX)).get().extracting(KeyResult::outcome, KeyResult::before)
                .containsExactly(KeyOutcome.Applied, "1048576");
        assertThat(report.originals()).containsEntry("max", "262144");
    }

    @Test
    void keyLeavingTheSpecIsRestoredAndForgotten() {
        applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);
        ConntrackSettings without = settings();
        without.setTcpTimeWait(null);

        ApplyReport report = applier.reconcile(DesiredValues.of(without), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(report.result(ConntrackKey.TCP_TIME_WAIT)).get()
                .extracting(KeyResult::outcome, KeyResult::before, KeyResult::after, KeyResult::target)
                .containsExactly(KeyOutcome.Restored, "30", "120", "120");
        assertThat(live(ConntrackKey.TCP_TIME_WAIT)).isEqualTo("120");
        assertThat(report.originals()).doesNotContainKey("tcpTimeWait").containsKeys("max", "tcpBeLiberal");
        assertThat(OriginalsStore.open(originalsFile, null).originalOf(ConntrackKey.TCP_TIME_WAIT)).isEmpty();
        assertThat(report.current()).containsEntry("tcpTimeWait", "120");

        // Nothing left to restore on the next pass.
        ApplyReport next = applier.reconcile(DesiredValues.of(without), Mode.Enforce, DriftPolicy.Reapply);
        assertThat(next.result(ConntrackKey.TCP_TIME_WAIT)).isEmpty();
    }

    @Test
    void nullSettingsRestoreEverything() {
        applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);
        ApplyReport report = applier.reconcile(DesiredValues.NONE, null, null);
        assertThat(report.results()).extracting(KeyResult::outcome).containsOnly(KeyOutcome.Restored).hasSize(3);
        assertThat(live(ConntrackKey.MAX)).isEqualTo("262144");
        assertThat(report.originals()).isEmpty();
    }

    @Test
    void observeOnlyWritesNothingAndReportsPending() throws Exception {
        String before = FakeHost.read(ConntrackKey.MAX.readPath(host.paths()));

        ApplyReport report = applier.reconcile(DesiredValues.of(settings()), Mode.ObserveOnly, DriftPolicy.Reapply);

        assertThat(report.results()).extracting(KeyResult::outcome).containsOnly(KeyOutcome.WouldChange);
        assertThat(report.pending()).containsExactly(entry("max", "1048576"), entry("tcpTimeWait", "30"), entry("tcpBeLiberal", "1"));
        assertThat(report.current()).containsEntry("max", "262144");
        assertThat(kernel.writes).isEmpty();
        assertThat(FakeHost.read(ConntrackKey.MAX.readPath(host.paths()))).isEqualTo(before);
        assertThat(Files.exists(originalsFile)).isFalse();
        assertThat(report.degraded()).isFalse();
    }

    @Test
    void observeOnlyDoesNotRestoreAKeyThatLeftTheSpec() {
        applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);
        kernel.writes.clear();
        ConntrackSettings without = settings();
        without.setMax(null);

        ApplyReport report = applier.reconcile(DesiredValues.of(without), Mode.ObserveOnly, DriftPolicy.Reapply);

        assertThat(report.result(ConntrackKey.MAX)).get().extracting(KeyResult::outcome).isEqualTo(KeyOutcome.PendingRestore);
        assertThat(report.pending()).containsExactly(entry("max", "262144"));
        assertThat(report.originals()).containsEntry("max", "262144");
        assertThat(live(ConntrackKey.MAX)).isEqualTo("1048576");
        assertThat(kernel.writes).isEmpty();

        // Back to Enforce: now it is restored.
        ApplyReport enforced = applier.reconcile(DesiredValues.of(without), Mode.Enforce, DriftPolicy.Reapply);
        assertThat(enforced.result(ConntrackKey.MAX)).get().extracting(KeyResult::outcome).isEqualTo(KeyOutcome.Restored);
        assertThat(live(ConntrackKey.MAX)).isEqualTo("262144");
    }

    @Test
    void externalOverrideIsReappliedUnderReapply() {
        applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);
        host.set(ConntrackKey.MAX, "131072"); // kube-proxy at start-up

        ApplyReport report = applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(report.externalOverrides()).containsExactly(new ExternalOverride(ConntrackKey.MAX, "1048576", "131072", true));
        assertThat(report.result(ConntrackKey.MAX)).get().extracting(KeyResult::outcome).isEqualTo(KeyOutcome.Applied);
        assertThat(live(ConntrackKey.MAX)).isEqualTo("1048576");
        // The original is still the one from before our first change, not kube-proxy's value.
        assertThat(report.originals()).containsEntry("max", "262144");
    }

    @Test
    void externalOverrideIsOnlyReportedUnderReport() {
        applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Report);
        host.set(ConntrackKey.TCP_TIME_WAIT, "60");
        kernel.writes.clear();

        ApplyReport report = applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Report);

        assertThat(report.externalOverrides()).containsExactly(new ExternalOverride(ConntrackKey.TCP_TIME_WAIT, "30", "60", false));
        assertThat(report.result(ConntrackKey.TCP_TIME_WAIT)).get().extracting(KeyResult::outcome).isEqualTo(KeyOutcome.ExternalOverride);
        assertThat(live(ConntrackKey.TCP_TIME_WAIT)).isEqualTo("60");
        assertThat(kernel.writes).isEmpty();
        assertThat(report.degraded()).isFalse();

        // Still reported while it lasts.
        assertThat(applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Report).externalOverrides()).hasSize(1);
    }

    @Test
    void aChangedSpecValueIsANewIntentNotDrift() {
        applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Report);
        host.set(ConntrackKey.TCP_TIME_WAIT, "60");
        ConntrackSettings changed = settings();
        changed.setTcpTimeWait("45s");

        ApplyReport report = applier.reconcile(DesiredValues.of(changed), Mode.Enforce, DriftPolicy.Report);

        assertThat(report.externalOverrides()).isEmpty();
        assertThat(report.result(ConntrackKey.TCP_TIME_WAIT)).get().extracting(KeyResult::outcome).isEqualTo(KeyOutcome.Applied);
        assertThat(live(ConntrackKey.TCP_TIME_WAIT)).isEqualTo("45");
    }

    @Test
    void refusedWritesDoNotStopTheOtherKeys() {
        kernel.refuse(ConntrackKey.MAX, FailureReason.ReadOnlyFileSystem, "Read-only file system");
        kernel.refuse(ConntrackKey.TCP_TIME_WAIT, FailureReason.InvalidValue, "Invalid argument");

        ApplyReport report = applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(report.result(ConntrackKey.MAX)).get().extracting(KeyResult::outcome).isEqualTo(KeyOutcome.Failed);
        assertThat(report.result(ConntrackKey.TCP_TIME_WAIT)).get().extracting(KeyResult::outcome).isEqualTo(KeyOutcome.Failed);
        assertThat(report.result(ConntrackKey.TCP_BE_LIBERAL)).get().extracting(KeyResult::outcome).isEqualTo(KeyOutcome.Applied);
        assertThat(live(ConntrackKey.TCP_BE_LIBERAL)).isEqualTo("1");
        assertThat(report.degraded()).isTrue();
        assertThat(report.degradedMessage()).isEqualTo(
                "max=1048576: ReadOnlyFileSystem (Read-only file system); tcpTimeWait=30: InvalidValue (Invalid argument)");
        // Nothing changed for the refused keys, so no original to restore later.
        assertThat(report.originals()).containsOnlyKeys("tcpBeLiberal");
        assertThat(report.current()).containsEntry("max", "262144");
    }

    @Test
    void permissionDeniedInANonInitialNamespaceIsReported() {
        kernel.refuse(ConntrackKey.MAX, FailureReason.PermissionDenied, "Permission denied");
        ApplyReport report = applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);
        assertThat(report.failures()).singleElement().extracting(r -> r.failure().reason()).isEqualTo(FailureReason.PermissionDenied);
    }

    @Test
    void lateModuleIsAppliedAsSoonAsTheFilesAppear() {
        FakeHost bare = FakeHost.empty(root.resolve("late"));
        FakeKernel lateKernel = new FakeKernel(bare);
        SettingsApplier late = new SettingsApplier(lateKernel,
                OriginalsStore.open(OriginalsStore.defaultPath(bare.paths(), "node-b"), null));

        ApplyReport first = late.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(first.results()).extracting(r -> r.failure().reason()).containsOnly(FailureReason.NotFound);
        assertThat(first.degradedMessage()).contains("max=1048576: NotFound");
        assertThat(first.originals()).isEmpty();

        bare.loadModule(); // modprobe nf_conntrack
        ApplyReport second = late.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(second.results()).extracting(KeyResult::outcome).containsOnly(KeyOutcome.Applied);
        assertThat(second.degraded()).isFalse();
        assertThat(second.originals()).containsEntry("max", "262144");
    }

    @Test
    void bucketsRoundedByTheKernelCountAsAppliedAndStayCorrect() {
        ConntrackSettings s = new ConntrackSettings();
        s.setBuckets(100000);

        ApplyReport first = applier.reconcile(DesiredValues.of(s), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(FakeHost.read(host.paths().hashsize())).isEqualTo("100000\n");
        assertThat(first.result(ConntrackKey.BUCKETS)).get().extracting(KeyResult::outcome, KeyResult::after)
                .containsExactly(KeyOutcome.Applied, "100352");
        assertThat(first.current()).containsEntry("buckets", "100352");
        kernel.writes.clear();

        ApplyReport second = applier.reconcile(DesiredValues.of(s), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(second.result(ConntrackKey.BUCKETS)).get().extracting(KeyResult::outcome).isEqualTo(KeyOutcome.AlreadyCorrect);
        assertThat(second.externalOverrides()).isEmpty();
        assertThat(kernel.writes).isEmpty();
    }

    @Test
    void aWriteTheKernelIgnoresIsNotVerified() {
        // A kernel that accepts the write but keeps the old value: read-back shows it.
        SettingsApplier stubborn = new SettingsApplier(new dev.conntrack.kernel.KernelSettings() {
            @Override
            public dev.conntrack.kernel.ReadResult read(ConntrackKey key) {
                return kernel.read(key);
            }

            @Override
            public dev.conntrack.kernel.WriteResult write(ConntrackKey key, String value) {
                return dev.conntrack.kernel.WriteResult.success();
            }
        }, originals);
        ConntrackSettings s = new ConntrackSettings();
        s.setUdp("60s");

        ApplyReport report = stubborn.reconcile(DesiredValues.of(s), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(report.failures()).singleElement().satisfies(r -> {
            assertThat(r.failure().reason()).isEqualTo(FailureReason.NotVerified);
            assertThat(r.failure().errnoText()).isEqualTo("wrote 60, kernel reports 30");
        });
    }

    @Test
    void unusableSpecValueFailsThatKeyOnlyAndIsNotRestored() {
        applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);
        ConntrackSettings bad = settings();
        bad.setTcpTimeWait("10 minutes");

        ApplyReport report = applier.reconcile(DesiredValues.of(bad), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(report.result(ConntrackKey.TCP_TIME_WAIT)).get().satisfies(r -> {
            assertThat(r.outcome()).isEqualTo(KeyOutcome.Failed);
            assertThat(r.failure().reason()).isEqualTo(FailureReason.InvalidValue);
        });
        assertThat(live(ConntrackKey.TCP_TIME_WAIT)).isEqualTo("30");
        assertThat(report.originals()).containsKey("tcpTimeWait");
        assertThat(report.result(ConntrackKey.MAX)).get().extracting(KeyResult::outcome).isEqualTo(KeyOutcome.AlreadyCorrect);
    }

    @Test
    void theSameSettingsObjectGivesTheSameAnswerEveryPassAndANewOneIsReadAfresh() {
        ConntrackSettings bad = settings();
        bad.setTcpTimeWait("10 minutes");
        for (int pass = 0; pass < 2; pass++) {
            ApplyReport report = applier.reconcile(DesiredValues.of(bad), Mode.Enforce, DriftPolicy.Reapply);
            assertThat(report.result(ConntrackKey.TCP_TIME_WAIT)).get().extracting(KeyResult::outcome).isEqualTo(KeyOutcome.Failed);
            assertThat(live(ConntrackKey.MAX)).isEqualTo("1048576");
        }

        ConntrackSettings next = settings();
        next.setTcpTimeWait("45s");
        next.setMax(2097152);
        ApplyReport report = applier.reconcile(DesiredValues.of(next), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(report.results()).extracting(KeyResult::key, KeyResult::outcome).contains(
                org.assertj.core.groups.Tuple.tuple(ConntrackKey.MAX, KeyOutcome.Applied),
                org.assertj.core.groups.Tuple.tuple(ConntrackKey.TCP_TIME_WAIT, KeyOutcome.Applied));
        assertThat(live(ConntrackKey.TCP_TIME_WAIT)).isEqualTo("45");
        assertThat(live(ConntrackKey.MAX)).isEqualTo("2097152");
    }

    @Test
    void failedRestoreIsRetriedOnTheNextPass() {
        applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);
        kernel.refuse(ConntrackKey.MAX, FailureReason.ReadOnlyFileSystem, "Read-only file system");
        ConntrackSettings without = settings();
        without.setMax(null);

        ApplyReport failed = applier.reconcile(DesiredValues.of(without), Mode.Enforce, DriftPolicy.Reapply);
        assertThat(failed.result(ConntrackKey.MAX)).get().extracting(KeyResult::outcome).isEqualTo(KeyOutcome.RestoreFailed);
        assertThat(failed.degradedMessage()).isEqualTo("max=262144 (restoring): ReadOnlyFileSystem (Read-only file system)");
        assertThat(failed.originals()).containsKey("max");

        kernel.accept(ConntrackKey.MAX);
        ApplyReport retried = applier.reconcile(DesiredValues.of(without), Mode.Enforce, DriftPolicy.Reapply);
        assertThat(retried.result(ConntrackKey.MAX)).get().extracting(KeyResult::outcome).isEqualTo(KeyOutcome.Restored);
        assertThat(live(ConntrackKey.MAX)).isEqualTo("262144");
    }

    @Test
    void originalThatCannotBePersistedBlocksTheWrite() throws Exception {
        Files.createDirectories(originalsFile); // unreadable store: it refuses to record
        SettingsApplier blocked = new SettingsApplier(kernel, OriginalsStore.open(originalsFile, null));

        ApplyReport report = blocked.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(report.results()).extracting(KeyResult::outcome).containsOnly(KeyOutcome.Failed);
        assertThat(report.degradedMessage()).contains("cannot record the original value, not writing");
        assertThat(kernel.writes).isEmpty();
        assertThat(live(ConntrackKey.MAX)).isEqualTo("262144");
    }

    @Test
    void aKeyLeavingTheSpecWhoseOriginalIsBackAlreadyIsForgottenWithoutAWrite() {
        applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);
        host.set(ConntrackKey.MAX, "262144"); // someone put the original back by hand
        kernel.writes.clear();
        ConntrackSettings without = settings();
        without.setMax(null);

        ApplyReport report = applier.reconcile(DesiredValues.of(without), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(report.result(ConntrackKey.MAX)).get().extracting(KeyResult::outcome, KeyResult::before, KeyResult::after)
                .containsExactly(KeyOutcome.Restored, "262144", "262144");
        assertThat(kernel.writes).isEmpty();
        assertThat(report.originals()).doesNotContainKey("max");
    }

    @Test
    void aKeyThatCannotBeReadWhenItLeavesTheSpecKeepsItsOriginalForTheNextPass() throws Exception {
        applier.reconcile(DesiredValues.of(settings()), Mode.Enforce, DriftPolicy.Reapply);
        Files.delete(ConntrackKey.MAX.readPath(host.paths())); // the module went away meanwhile
        ConntrackSettings without = settings();
        without.setMax(null);

        ApplyReport report = applier.reconcile(DesiredValues.of(without), Mode.Enforce, DriftPolicy.Reapply);

        KeyResult max = report.result(ConntrackKey.MAX).orElseThrow();
        assertThat(max.outcome()).isEqualTo(KeyOutcome.RestoreFailed);
        assertThat(max.target()).isEqualTo("262144");
        assertThat(report.originals()).containsEntry("max", "262144");
        assertThat(OriginalsStore.open(originalsFile, null).all()).containsEntry(ConntrackKey.MAX, "262144");
    }
}
