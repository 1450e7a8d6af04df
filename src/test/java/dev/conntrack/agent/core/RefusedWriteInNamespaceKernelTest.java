package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.NodeConditionTypes;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real kernel, as root: the agent run inside a network namespace that is not the initial one (an
 * agent pod without hostNetwork). There nf_conntrack_max and nf_conntrack_buckets are 0444 and
 * the hashsize module parameter refuses writes, while the timeouts are the namespace's own and
 * writable. The applier must report the refused keys (Degraded), still apply the others, and not
 * crash.
 *
 * <p>The applier runs in a child JVM under {@code ip netns exec} (a JVM cannot move its threads into
 * another network namespace). Touches nothing in the initial namespace: the namespace is the
 * test's own and is deleted after every test; the global values of max and hashsize are checked
 * unchanged afterwards.
 */
class RefusedWriteInNamespaceKernelTest {
    private static final Path NETFILTER = Path.of("/proc/sys/net/netfilter");
    private static final Path HOST_MAX = NETFILTER.resolve("nf_conntrack_max");
    private static final Path HOST_HASHSIZE = Path.of("/sys/module/nf_conntrack/parameters/hashsize");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path temp;

    private String ns;
    private String hostMaxBefore;
    private String hostHashsizeBefore;

    static boolean isRoot() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                return line.split("\\s+")[2].equals("0"); // effective uid
            }
        }
        return false;
    }

    static boolean ipAvailable() {
        for (String dir : List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin")) {
            if (Files.isExecutable(Path.of(dir, "ip"))) {
                return true;
            }
        }
        return false;
    }

    private record Run(int exit, String stdout, String stderr) {
        String describe() {
            return "exit " + exit + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
        }
    }

    private Run run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        Path out = Files.createTempFile(temp, "out", ".txt");
        Path err = Files.createTempFile(temp, "err", ".txt");
        Process p = new ProcessBuilder(command)
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            throw new AssertionError("timed out after " + timeoutSeconds + " s: " + command + "\n"
                    + Files.readString(err, StandardCharsets.UTF_8));
        }
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    private Run inNamespace(int timeoutSeconds, String... command) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        full.addAll(List.of(command));
        return run(full, timeoutSeconds);
    }

    private static String readHost(Path file) throws IOException {
        return Files.readAllLines(file).get(0).trim();
    }

    @BeforeEach
    void createNamespace() throws Exception {
        assumeTrue(isRoot(), "needs root (ip netns add, writes under /proc/sys)");
        assumeTrue(ipAvailable(), "needs iproute2's ip");
        assertThat(HOST_MAX).as("nf_conntrack must be loaded on this machine").exists();
        hostMaxBefore = readHost(HOST_MAX);
        hostHashsizeBefore = readHost(HOST_HASHSIZE);
        String name = "ct-refused-" + UUID.randomUUID().toString().substring(0, 8);
        Run add = run(List.of("ip", "netns", "add", name), 30);
        assertThat(add.exit()).as("ip netns add %s: %s", name, add.describe()).isZero();
        ns = name;
    }

    @AfterEach
    void deleteNamespaceAndCheckHost() throws Exception {
        AssertionError hostChanged = null;
        try {
            if (hostMaxBefore != null && !readHost(HOST_MAX).equals(hostMaxBefore)) {
                hostChanged = new AssertionError("nf_conntrack_max of the initial namespace changed to " + readHost(HOST_MAX));
                Files.writeString(HOST_MAX, hostMaxBefore + "\n");
            }
            if (hostHashsizeBefore != null && !readHost(HOST_HASHSIZE).equals(hostHashsizeBefore)) {
                hostChanged = new AssertionError("hashsize changed to " + readHost(HOST_HASHSIZE));
                Files.writeString(HOST_HASHSIZE, hostHashsizeBefore + "\n");
            }
        } finally {
            if (ns != null) {
                Run del = run(List.of("ip", "netns", "del", ns), 30);
                assertThat(del.exit()).as("ip netns del %s: %s", ns, del.describe()).isZero();
                ns = null;
            }
        }
        if (hostChanged != null) {
            throw hostChanged;
        }
    }

    @Test
    void refusedKeysAreDegradedAndTheRestIsApplied() throws Exception {
        Path netfilter = NETFILTER;
        Run max = inNamespace(30, "cat", netfilter.resolve("nf_conntrack_max").toString());
        assertThat(max.exit()).as("conntrack sysctls inside %s: %s", ns, max.describe()).isZero();
        long nsMax = Long.parseLong(max.stdout().trim());
        Run timeWait = inNamespace(30, "cat", netfilter.resolve("nf_conntrack_tcp_timeout_time_wait").toString());
        assertThat(timeWait.exit()).as(timeWait.describe()).isZero();
        String nsTimeWait = timeWait.stdout().trim();
        String wantTimeWait = nsTimeWait.equals("77") ? "78" : "77";
        Run buckets = inNamespace(30, "cat", netfilter.resolve("nf_conntrack_buckets").toString());
        assertThat(buckets.exit()).as(buckets.describe()).isZero();
        long nsBuckets = Long.parseLong(buckets.stdout().trim());
        String wantMax = Long.toString(2 * nsMax);
        String wantBuckets = Long.toString(2 * nsBuckets);

        String hostTimeWait = readHost(netfilter.resolve("nf_conntrack_tcp_timeout_time_wait"));
        Path originals = temp.resolve("originals-ns.properties");
        Run child = inNamespace(120,
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", childClasspath(),
                ApplyInNamespaceMain.class.getName(),
                originals.toString(),
                "max=" + wantMax, "buckets=" + wantBuckets, "tcpTimeWait=" + wantTimeWait + "s");
        System.out.println("child in " + ns + ": " + child.describe());
        assertThat(child.exit()).as("child JVM must not crash: %s", child.describe()).isZero();
        String[] lines = child.stdout().strip().split("\n");
        JsonNode report = JSON.readTree(lines[lines.length - 1]);

        JsonNode maxResult = result(report, "max");
        assertThat(maxResult.path("outcome").asText()).isEqualTo("Failed");
        assertThat(maxResult.path("failureReason").asText()).isEqualTo("PermissionDenied");
        assertThat(maxResult.path("errnoText").asText()).isEqualTo("Permission denied");
        assertThat(maxResult.path("before").asText()).isEqualTo(Long.toString(nsMax));
        assertThat(maxResult.path("after").asText()).isEqualTo(Long.toString(nsMax));

        // hashsize is global: the kernel refuses it from any other namespace (EOPNOTSUPP).
        JsonNode bucketsResult = result(report, "buckets");
        assertThat(bucketsResult.path("outcome").asText()).isEqualTo("Failed");
        assertThat(bucketsResult.path("failureReason").asText()).isEqualTo("PermissionDenied");
        assertThat(bucketsResult.path("errnoText").asText()).isEqualTo("Operation not supported");

        JsonNode tw = result(report, "tcpTimeWait");
        assertThat(tw.path("outcome").asText()).isEqualTo("Applied");
        assertThat(tw.path("before").asText()).isEqualTo(nsTimeWait);
        assertThat(tw.path("after").asText()).isEqualTo(wantTimeWait);

        assertThat(report.path("degraded").asBoolean()).isTrue();
        // Failed writes leave no original behind; the applied timeout's original is recorded.
        assertThat(report.path("originals").path("tcpTimeWait").asText()).isEqualTo(nsTimeWait);
        assertThat(report.path("originals").has("max")).isFalse();
        assertThat(report.path("originals").has("buckets")).isFalse();
        assertThat(report.path("current").path("tcpTimeWait").asText()).isEqualTo(wantTimeWait);

        JsonNode degraded = condition(report, NodeConditionTypes.DEGRADED);
        assertThat(degraded.path("status").asText()).isEqualTo(Conditions.TRUE);
        assertThat(degraded.path("reason").asText()).isEqualTo("WriteRefused");
        assertThat(degraded.path("message").asText())
                .contains("max=" + wantMax + ": PermissionDenied (Permission denied)")
                .contains("buckets=" + wantBuckets + ": PermissionDenied (Operation not supported)")
                .doesNotContain("tcpTimeWait");
        JsonNode applied = condition(report, NodeConditionTypes.APPLIED);
        assertThat(applied.path("status").asText()).isEqualTo(Conditions.FALSE);
        assertThat(applied.path("reason").asText()).isEqualTo("WriteRefused");

        // The namespace really holds the timeout and still the old max; the initial namespace's
        // timeout is its own and untouched (max and hashsize are checked in @AfterEach).
        Run after = inNamespace(30, "cat", netfilter.resolve("nf_conntrack_tcp_timeout_time_wait").toString(),
                netfilter.resolve("nf_conntrack_max").toString());
        assertThat(after.stdout().strip().split("\n")).containsExactly(wantTimeWait, Long.toString(nsMax));
        assertThat(readHost(netfilter.resolve("nf_conntrack_tcp_timeout_time_wait"))).isEqualTo(hostTimeWait);
    }

    /**
     * The test JVM's class path. Failsafe starts the fork from a manifest-only booter jar
     * (surefire.real.class.path) but sets java.class.path to the full list: target/test-classes,
     * the packaged main jar and every dependency jar. Either works for a child JVM; the full list
     * also works when the test runs from an IDE.
     */
    static String childClasspath() {
        String cp = System.getProperty("java.class.path");
        assertThat(cp).as("java.class.path").isNotBlank();
        return cp;
    }

    private static JsonNode result(JsonNode report, String field) {
        for (JsonNode r : report.path("results")) {
            if (field.equals(r.path("field").asText())) {
                return r;
            }
        }
        throw new AssertionError("no result for " + field + " in " + report.toPrettyString());
    }

    private static JsonNode condition(JsonNode report, String type) {
        for (JsonNode c : report.path("conditions")) {
            if (type.equals(c.path("type").asText())) {
                return c;
            }
        }
        throw new AssertionError("no condition " + type + " in " + report.toPrettyString());
    }
}
