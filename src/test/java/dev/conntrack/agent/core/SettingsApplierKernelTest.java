package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.NodeConditionTypes;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.HostPaths;
import dev.conntrack.kernel.OriginalsStore;
import dev.conntrack.kernel.SysctlFiles;
import io.fabric8.kubernetes.api.model.Condition;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real kernel, as root: {@link SettingsApplier} on host root "/" (the test JVM's network namespace,
 * the initial one in CI) with its originals file in a temp dir.
 *
 * <p>Touches only three per-namespace knobs whose values are harmless for the machine:
 * tcp_timeout_time_wait, udp_timeout and tcp_be_liberal. Never nf_conntrack_max (lowering it can
 * cut the machine's own connections) nor hashsize; both are checked unchanged after every test.
 * The touched values are saved once before the class and written back with plain file writes
 * after every test and after the class, whatever failed, and by a JVM shutdown hook should the
 * test JVM be stopped halfway.
 */
class SettingsApplierKernelTest {
    private static final HostPaths HOST = HostPaths.host();
    private static final List<ConntrackKey> TOUCHED = List.of(ConntrackKey.TCP_TIME_WAIT, ConntrackKey.UDP, ConntrackKey.TCP_BE_LIBERAL);
    private static final List<ConntrackKey> NEVER_TOUCHED = List.of(ConntrackKey.MAX, ConntrackKey.BUCKETS);

    private static final Map<ConntrackKey, String> SAVED = new EnumMap<>(ConntrackKey.class);
    private static final Map<ConntrackKey, String> UNTOUCHED = new EnumMap<>(ConntrackKey.class);
    private static Thread restoreHook;

    @TempDir
    Path temp;

    private OriginalsStore originals;
    private SettingsApplier applier;

    private static boolean isRoot() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                return line.split("\\s+")[2].equals("0"); // effective uid
            }
        }
        return false;
    }

    /** What the kernel holds, read like sysctl does (not Files.readString: see KERNEL.md). */
    private static String live(ConntrackKey key) throws IOException {
        return Files.readAllLines(key.readPath(HOST)).get(0).trim();
    }

    /** Like `sysctl -w`: one write of value + newline at offset 0. */
    private static void writeLive(ConntrackKey key, String value) throws IOException {
        try (OutputStream out = new FileOutputStream(key.writePath(HOST).toFile())) {
            out.write((value + "\n").getBytes(StandardCharsets.US_ASCII));
        }
    }

    /** Writes every saved value back; tries them all and reports what failed. */
    private static synchronized List<String> restoreSaved() {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<ConntrackKey, String> e : SAVED.entrySet()) {
            try {
                if (!live(e.getKey()).equals(e.getValue())) {
                    writeLive(e.getKey(), e.getValue());
                }
                if (!live(e.getKey()).equals(e.getValue())) {
                    problems.add(e.getKey().sysctlName() + " is " + live(e.getKey()) + ", not " + e.getValue());
                }
            } catch (IOException | RuntimeException ex) {
                problems.add(e.getKey().sysctlName() + ": " + ex);
            }
        }
        return problems;
    }

    @BeforeAll
    static void saveLiveValues() throws IOException {
        assumeTrue(Files.exists(ConntrackKey.MAX.readPath(HOST)), "nf_conntrack not loaded");
        assumeTrue(isRoot(), "needs root to write /proc/sys/net/netfilter");
        for (ConntrackKey key : TOUCHED) {
            SAVED.put(key, live(key));
        }
        for (ConntrackKey key : NEVER_TOUCHED) {
            UNTOUCHED.put(key, live(key));
        }
        restoreHook = new Thread(() -> {
            List<String> problems = restoreSaved();
            if (!problems.isEmpty()) {
                System.err.println("SettingsApplierKernelTest shutdown hook could not restore: " + problems);
            }
        }, "restore-conntrack-sysctls");
        Runtime.getRuntime().addShutdownHook(restoreHook);
    }

    @AfterAll
    static void restoreAndRemoveHook() throws IOException {
        List<String> problems = restoreSaved();
        if (restoreHook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(restoreHook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway
            }
        }
        assertThat(problems).as("restored after the class").isEmpty();
    }

    @BeforeEach
    void setUp() {
        originals = OriginalsStore.open(temp.resolve("originals-kernel-test.properties"), null);
        applier = new SettingsApplier(new SysctlFiles(HOST), originals);
    }

    @AfterEach
    void restoreAfterEach() throws IOException {
        List<String> problems = restoreSaved();
        assertThat(problems).as("restored after the test").isEmpty();
        for (Map.Entry<ConntrackKey, String> e : UNTOUCHED.entrySet()) {
            assertThat(live(e.getKey())).as("%s must never change", e.getKey().sysctlName()).isEqualTo(e.getValue());
        }
    }

    /** A small value near the saved one that is none of AVOID (seconds for timeouts). */
    private static String otherThan(String... avoid) {
        List<String> taken = List.of(avoid);
        return IntStream.rangeClosed(111, 119).mapToObj(Integer::toString)
                .filter(v -> !taken.contains(v)).findFirst().orElseThrow();
    }

    private static ConntrackSettings spec(String tcpTimeWait, String udp, boolean tcpBeLiberal) {
        ConntrackSettings s = new ConntrackSettings();
        s.setTcpTimeWait(tcpTimeWait + "s");
        s.setUdp(udp + "s");
        s.setTcpBeLiberal(tcpBeLiberal);
        return s;
    }

    private static Condition condition(ApplyReport report, String type) {
        return NodeConditions.evaluate(report, OptionalDouble.empty(), DropRate.UNKNOWN, 80, 1L).stream()
                .filter(c -> c.getType().equals(type)).findFirst().orElseThrow();
    }

    @Test
    void enforceWritesTheKernelAndAnEmptySpecRestoresTheOriginals() throws IOException {
        String timeWait = otherThan(SAVED.get(ConntrackKey.TCP_TIME_WAIT));
        String udp = otherThan(SAVED.get(ConntrackKey.UDP));
        boolean liberal = SAVED.get(ConntrackKey.TCP_BE_LIBERAL).equals("0");
        String liberalText = liberal ? "1" : "0";

        ApplyReport applied = applier.reconcile(DesiredValues.of(spec(timeWait, udp, liberal)), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(applied.degraded()).as("%s", applied).isFalse();
        assertThat(applied.results()).extracting(KeyResult::key, KeyResult::outcome, KeyResult::before, KeyResult::after)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(ConntrackKey.TCP_TIME_WAIT, KeyOutcome.Applied,
                                SAVED.get(ConntrackKey.TCP_TIME_WAIT), timeWait),
                        org.assertj.core.groups.Tuple.tuple(ConntrackKey.UDP, KeyOutcome.Applied, SAVED.get(ConntrackKey.UDP), udp),
                        org.assertj.core.groups.Tuple.tuple(ConntrackKey.TCP_BE_LIBERAL, KeyOutcome.Applied,
                                SAVED.get(ConntrackKey.TCP_BE_LIBERAL), liberalText));
        assertThat(live(ConntrackKey.TCP_TIME_WAIT)).isEqualTo(timeWait);
        assertThat(live(ConntrackKey.UDP)).isEqualTo(udp);
        assertThat(live(ConntrackKey.TCP_BE_LIBERAL)).isEqualTo(liberalText);
        assertThat(applied.originals()).containsExactly(
                entry("tcpTimeWait", SAVED.get(ConntrackKey.TCP_TIME_WAIT)),
                entry("udp", SAVED.get(ConntrackKey.UDP)),
                entry("tcpBeLiberal", SAVED.get(ConntrackKey.TCP_BE_LIBERAL)));
        assertThat(OriginalsStore.open(originals.file(), null).all()).isEqualTo(
                Map.of(ConntrackKey.TCP_TIME_WAIT, SAVED.get(ConntrackKey.TCP_TIME_WAIT),
                        ConntrackKey.UDP, SAVED.get(ConntrackKey.UDP),
                        ConntrackKey.TCP_BE_LIBERAL, SAVED.get(ConntrackKey.TCP_BE_LIBERAL)));
        assertThat(condition(applied, NodeConditionTypes.APPLIED).getStatus()).isEqualTo(Conditions.TRUE);

        ApplyReport again = applier.reconcile(DesiredValues.of(spec(timeWait, udp, liberal)), Mode.Enforce, DriftPolicy.Reapply);
        assertThat(again.results()).extracting(KeyResult::outcome).containsOnly(KeyOutcome.AlreadyCorrect);

        ApplyReport restored = applier.reconcile(DesiredValues.of(new ConntrackSettings()), Mode.Enforce, DriftPolicy.Reapply);

        assertThat(restored.degraded()).as("%s", restored).isFalse();
        assertThat(restored.results()).extracting(KeyResult::key, KeyResult::outcome, KeyResult::after)
                .containsExactlyInAnyOrder(
                        org.assertj.core.groups.Tuple.tuple(ConntrackKey.TCP_TIME_WAIT, KeyOutcome.Restored,
                                SAVED.get(ConntrackKey.TCP_TIME_WAIT)),
                        org.assertj.core.groups.Tuple.tuple(ConntrackKey.UDP, KeyOutcome.Restored, SAVED.get(ConntrackKey.UDP)),
                        org.assertj.core.groups.Tuple.tuple(ConntrackKey.TCP_BE_LIBERAL, KeyOutcome.Restored,
                                SAVED.get(ConntrackKey.TCP_BE_LIBERAL)));
        for (ConntrackKey key : TOUCHED) {
            assertThat(live(key)).as(key.sysctlName()).isEqualTo(SAVED.get(key));
        }
        assertThat(restored.originals()).isEmpty();
        assertThat(OriginalsStore.open(originals.file(), null).all()).isEmpty();
    }

    @Test
    void aValueChangedBehindOurBackIsReportedAndReapplied() throws IOException {
        String saved = SAVED.get(ConntrackKey.TCP_TIME_WAIT);
        String ours = otherThan(saved);
        String theirs = otherThan(saved, ours);
        ConntrackSettings spec = new ConntrackSettings();
        spec.setTcpTimeWait(ours + "s");
        assertThat(applier.reconcile(DesiredValues.of(spec), Mode.Enforce, DriftPolicy.Reapply).result(ConntrackKey.TCP_TIME_WAIT).orElseThrow().outcome())
                .isEqualTo(KeyOutcome.Applied);

        writeLive(ConntrackKey.TCP_TIME_WAIT, theirs); // sysctl -w by someone else
        ApplyReport reapplied = applier.reconcile(DesiredValues.of(spec), Mode.Enforce, DriftPolicy.Reapply);

        KeyResult r = reapplied.result(ConntrackKey.TCP_TIME_WAIT).orElseThrow();
        assertThat(r.outcome()).isEqualTo(KeyOutcome.Applied);
        assertThat(r.before()).isEqualTo(theirs);
        assertThat(r.after()).isEqualTo(ours);
        assertThat(reapplied.externalOverrides()).containsExactly(new ExternalOverride(ConntrackKey.TCP_TIME_WAIT, ours, theirs, true));
        assertThat(live(ConntrackKey.TCP_TIME_WAIT)).isEqualTo(ours);
        Condition applied = condition(reapplied, NodeConditionTypes.APPLIED);
        assertThat(applied.getStatus()).isEqualTo(Conditions.TRUE);
        assertThat(applied.getMessage()).contains("tcpTimeWait: set to " + theirs + " outside the agent (we wrote " + ours + "), re-applied");

        // driftPolicy Report: reported, left as found.
        writeLive(ConntrackKey.TCP_TIME_WAIT, theirs);
        ApplyReport reported = applier.reconcile(DesiredValues.of(spec), Mode.Enforce, DriftPolicy.Report);

        assertThat(reported.result(ConntrackKey.TCP_TIME_WAIT).orElseThrow().outcome()).isEqualTo(KeyOutcome.ExternalOverride);
        assertThat(reported.externalOverrides()).containsExactly(new ExternalOverride(ConntrackKey.TCP_TIME_WAIT, ours, theirs, false));
        assertThat(live(ConntrackKey.TCP_TIME_WAIT)).isEqualTo(theirs);
        assertThat(condition(reported, NodeConditionTypes.APPLIED).getReason()).isEqualTo("ExternalOverride");

        // The original stays the value from before our first write, not the override.
        assertThat(reported.originals()).containsExactly(entry("tcpTimeWait", saved));
        ApplyReport restored = applier.reconcile(DesiredValues.of(new ConntrackSettings()), Mode.Enforce, DriftPolicy.Reapply);
        assertThat(restored.result(ConntrackKey.TCP_TIME_WAIT).orElseThrow().outcome()).isEqualTo(KeyOutcome.Restored);
        assertThat(live(ConntrackKey.TCP_TIME_WAIT)).isEqualTo(saved);
    }
}
