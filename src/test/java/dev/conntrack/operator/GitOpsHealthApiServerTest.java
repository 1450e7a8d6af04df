package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.testing.AgentStatusWriter;
import dev.conntrack.testing.RoleProcess;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The health checks docs/gitops.md documents for GitOps tools, run as those tools
 * run them, on policies the real operator wrote the status of: the Argo CD Lua check by a Lua 5.4
 * interpreter (Argo CD hands the object to the script as the global {@code obj}), the Flux
 * {@code healthCheckExprs} by Flux's own evaluator (github.com/fluxcd/pkg/runtime/cel, built by
 * hack/build-test-binaries.sh as flux-health). The scripts are read from the documentation itself,
 * so what a user copies is what is tested.
 *
 * <p>Three policies, each selecting its own node, whose "agent" the test plays by writing the node
 * state's status as an agent does: one node applied (Ready), one silent (progressing), one refusing
 * the settings (degraded), and one an ObserveOnly audit of higher priority keeps observing (held).
 */
class GitOpsHealthApiServerTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String READY = "gitops-ready-" + RUN;
    private static final String PROGRESSING = "gitops-progressing-" + RUN;
    private static final String DEGRADED = "gitops-degraded-" + RUN;
    /** An Enforce policy whose node an ObserveOnly audit of higher priority keeps observing. */
    private static final String HELD = "gitops-held-" + RUN;
    private static final String AUDIT = "gitops-audit-" + RUN;
    private static final ObjectMapper JSON = new ObjectMapper();

    private static KubernetesClient client;
    private static RoleProcess operator;
    private static Path dir;

    @BeforeAll
    static void start() throws Exception {
        client = TestApiServer.newClient();
        dir = Files.createTempDirectory("gitops-health");
        for (String name : List.of(READY, PROGRESSING, DEGRADED, HELD)) {
            TestApiServer.registerNode(client, name, Map.of("gitops", name), "2");
        }
        operator = RoleProcess.operator(TestApiServer.kubeConfigFile(dir), "operator-gitops");
        ConntrackPolicy audit = new ConntrackPolicy();
        audit.getMetadata().setName(AUDIT);
        audit.getSpec().setNodeSelector(new NodeSelector(Map.of("gitops", HELD), null));
        audit.getSpec().setPriority(1000);
        audit.getSpec().setMode(dev.conntrack.api.Mode.ObserveOnly);
        client.resource(audit).create();
        for (String name : List.of(READY, PROGRESSING, DEGRADED, HELD)) {
            ConntrackPolicy policy = new ConntrackPolicy();
            policy.getMetadata().setName(name);
            policy.getSpec().setNodeSelector(new NodeSelector(Map.of("gitops", name), null));
            ConntrackSettings settings = new ConntrackSettings();
            settings.setTcpTimeWait("30s");
            policy.getSpec().setConntrack(settings);
            client.resource(policy).create();
        }
        reportNode(READY, true);
        reportNode(DEGRADED, false);
        reportNode(HELD, true);
    }

    @AfterAll
    static void stop() {
        for (String name : List.of(READY, PROGRESSING, DEGRADED, HELD, AUDIT)) {
            client.resources(ConntrackPolicy.class).withName(name).delete();
        }
        await().atMost(WAIT).until(() -> Stream.of(READY, PROGRESSING, DEGRADED, HELD, AUDIT)
                .allMatch(n -> client.resources(ConntrackPolicy.class).withName(n).get() == null));
        operator.close();
        for (String name : List.of(READY, PROGRESSING, DEGRADED, HELD)) {
            client.resources(ConntrackNodeState.class).withName(name).delete();
            client.nodes().withName(name).delete();
        }
        client.close();
    }

    @Test
    void argoCdLuaHealthCheckFromTheReadmeJudgesTheOperatorsStatus() throws Exception {
        String script = argoCdHealthScript();

        assertThat(argoCd(script, awaitPolicy(READY, "True", "AllNodesApplied")))
                .isEqualTo("Healthy|All 1 selected nodes applied generation 1");
        // While nodes are applying, the script shows the Progressing condition's message.
        JsonNode pending = awaitPolicy(PROGRESSING, "False", "NodesPending");
        String progressingMessage = null;
        for (JsonNode c : pending.path("status").path("conditions")) {
            if (c.path("type").asText().equals("Progressing") && c.path("status").asText().equals("True")) {
                progressingMessage = c.path("message").asText();
            }
        }
        assertThat(progressingMessage).as("Progressing=True while the node has not applied").isNotBlank();
        assertThat(argoCd(script, pending)).isEqualTo("Progressing|" + progressingMessage);
        assertThat(argoCd(script, awaitPolicy(DEGRADED, "False", "NodesFailed"))).startsWith("Degraded|").contains(DEGRADED);
        // Held by an audit: not in force there, by design: suspended, naming the audit and the node.
        assertThat(argoCd(script, awaitPolicy(HELD, "False", "HeldByObserveOnly"))).startsWith("Suspended|").contains(AUDIT).contains(HELD);
        // Before the operator wrote any status: waiting, not healthy.
        JsonNode fresh = awaitPolicy(READY, "True", "AllNodesApplied").deepCopy();
        ((com.fasterxml.jackson.databind.node.ObjectNode) fresh).remove("status");
        assertThat(argoCd(script, fresh)).isEqualTo("Progressing|Waiting for the operator");
    }

    @Test
    void fluxHealthCheckExprsFromTheReadmeJudgeTheOperatorsStatus() throws Exception {
        Map<String, String> exprs = fluxHealthCheckExprs();
        assertThat(exprs).containsOnlyKeys("current", "failed");

        assertThat(flux(exprs, awaitPolicy(READY, "True", "AllNodesApplied"))).isEqualTo("Current");
        assertThat(flux(exprs, awaitPolicy(PROGRESSING, "False", "NodesPending"))).isEqualTo("InProgress");
        assertThat(flux(exprs, awaitPolicy(DEGRADED, "False", "NodesFailed"))).isEqualTo("Failed");
        assertThat(flux(exprs, awaitPolicy(HELD, "False", "HeldByObserveOnly"))).isEqualTo("Failed");
    }

    /** The policy as the API server serves it, once its Ready condition has STATUS and REASON. */
    private static JsonNode awaitPolicy(String name, String status, String reason) {
        return await().atMost(WAIT).until(() -> {
            ConntrackPolicy policy = client.resources(ConntrackPolicy.class).withName(name).get();
            Condition ready = policy == null || policy.getStatus() == null ? null
                    : Conditions.find(policy.getStatus().getConditions(), "Ready");
            boolean there = ready != null && status.equals(ready.getStatus()) && reason.equals(ready.getReason());
            return there ? JSON.readTree(client.getKubernetesSerialization().asJson(policy)) : null;
        }, p -> p != null);
    }

    /** What the node's agent writes: Applied, or a refused write (Degraded), for the spec's generation. */
    private static void reportNode(String node, boolean applied) {
        await().atMost(WAIT).ignoreExceptions().untilAsserted(() -> {
            ConntrackNodeState state = client.resources(ConntrackNodeState.class).withName(node).get();
            assertThat(state.getSpec().getPolicies()).as(operator.logTail(20)).contains(node);
            AgentStatusWriter.report(client, state, applied, !applied, "tcpTimeWait=30: ReadOnlyFileSystem (Read-only file system)");
        });
    }

    // --- Argo CD: the Lua script, run by lua5.4 with the object as the global obj --------------

    /** The script of resource.customizations.health.conntrack.dev_ConntrackPolicy in the docs. */
    static String argoCdHealthScript() throws IOException {
        String key = "resource.customizations.health.conntrack.dev_ConntrackPolicy: |";
        List<String> lines = documentedBlock(key).lines().toList();
        StringBuilder script = new StringBuilder();
        int keyIndent = -1;
        int bodyIndent = -1;
        for (String line : lines) {
            if (keyIndent < 0) {
                if (line.contains(key)) {
                    keyIndent = indent(line);
                }
                continue;
            }
            if (!line.isBlank() && indent(line) <= keyIndent) {
                break;
            }
            if (bodyIndent < 0 && !line.isBlank()) {
                bodyIndent = indent(line);
            }
            script.append(line.isBlank() ? "" : line.substring(bodyIndent)).append('\n');
        }
        assertThat(script).as("the Argo CD health script in the docs").contains("return hs");
        return script.toString();
    }

    /** Runs SCRIPT as Argo CD does (obj set, the script's return value is the health) and prints "status|message". */
    private static String argoCd(String script, JsonNode object) throws Exception {
        String program = "obj = " + lua(object) + "\n"
                + "local function health()\n" + script + "\nend\n"
                + "local hs = health()\n"
                + "io.write(hs.status, '|', hs.message or '')\n";
        Path file = Files.createTempFile(dir, "health", ".lua");
        Files.writeString(file, program);
        return run(List.of("lua5.4", file.toString()));
    }

    /** A JSON value as a Lua table constructor; JSON null leaves the key out, as Argo CD's conversion does. */
    static String lua(JsonNode node) {
        if (node.isObject()) {
            StringBuilder out = new StringBuilder("{");
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                if (!field.getValue().isNull()) {
                    out.append('[').append(luaString(field.getKey())).append("]=").append(lua(field.getValue())).append(',');
                }
            }
            return out.append('}').toString();
        }
        if (node.isArray()) {
            StringBuilder out = new StringBuilder("{");
            node.forEach(item -> out.append(lua(item)).append(','));
            return out.append('}').toString();
        }
        if (node.isTextual()) {
            return luaString(node.asText());
        }
        return node.isNull() ? "nil" : node.toString();
    }

    private static String luaString(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            out.append('\\').append(b & 0xff);
        }
        return out.append('"').toString();
    }

    // --- Flux: healthCheckExprs, evaluated by Flux's own CEL status evaluator ------------------

    /** The current and failed expressions of the ConntrackPolicy entry of healthCheckExprs in the docs. */
    static Map<String, String> fluxHealthCheckExprs() throws IOException {
        String block = documentedBlock("healthCheckExprs:");
        String entry = block.substring(block.indexOf("healthCheckExprs:"));
        Map<String, String> exprs = new java.util.LinkedHashMap<>();
        Matcher m = Pattern.compile("(?m)^\\s+(current|failed|inProgress):\\s*\"(.*)\"\\s*$").matcher(entry);
        while (m.find()) {
            exprs.put(m.group(1), m.group(2).replace("\\\"", "\""));
        }
        return exprs;
    }

    private static String flux(Map<String, String> exprs, JsonNode object) throws Exception {
        Path file = Files.createTempFile(dir, "policy", ".json");
        Files.writeString(file, JSON.writeValueAsString(object));
        List<String> command = new ArrayList<>(List.of(tool("flux-health").toString(), "-current", exprs.get("current")));
        if (exprs.containsKey("failed")) {
            command.addAll(List.of("-failed", exprs.get("failed")));
        }
        command.add(file.toString());
        String out = run(command).trim();
        assertThat(out).startsWith(file + " ");
        return out.substring(file.toString().length() + 1);
    }

    // --- shared ---------------------------------------------------------------------------------

    /** The fenced block of README.md or docs/*.md that contains MARKER (the docs move; the scripts stay). */
    static String documentedBlock(String marker) throws IOException {
        List<Path> docs = new ArrayList<>(List.of(TestApiServer.projectDir().resolve("README.md")));
        Path docsDir = TestApiServer.projectDir().resolve("docs");
        if (Files.isDirectory(docsDir)) {
            try (Stream<Path> files = Files.walk(docsDir)) {
                files.filter(f -> f.toString().endsWith(".md")).sorted().forEach(docs::add);
            }
        }
        for (Path doc : docs) {
            String[] blocks = Files.readString(doc).split("(?m)^```");
            for (int i = 1; i < blocks.length; i += 2) {
                if (blocks[i].contains(marker)) {
                    return blocks[i];
                }
            }
        }
        throw new AssertionError("no fenced block with " + marker + " in " + docs);
    }

    /** A tool hack/build-test-binaries.sh builds into the test directory's bin/. */
    static Path tool(String name) {
        String testDir = System.getProperty("kube.api.test.dir", System.getProperty("user.home") + "/.kubeapitest");
        Path tool = Path.of(testDir, "bin", name);
        assertThat(tool).as("run hack/build-test-binaries.sh (the test command does)").isExecutable();
        return tool;
    }

    static String run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(String.join(" ", command)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command) + "\n" + out).isZero();
        return out;
    }

    private static int indent(String line) {
        int i = 0;
        while (i < line.length() && line.charAt(i) == ' ') {
            i++;
        }
        return i;
    }
}
