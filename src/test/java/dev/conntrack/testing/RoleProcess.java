package dev.conntrack.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The built artifact (target/quarkus-app/) started as a separate process in one role, the way the
 * DaemonSet (agent: {@code java -cp app/* dev.conntrack.agent.AgentLauncher}), the Deployment and
 * the quick start (operator: {@code java -jar quarkus-run.jar}) run it. Output goes to a log file
 * under target/ that the tests print when they fail.
 */
public final class RoleProcess implements AutoCloseable {
    private final Process process;
    private final Path log;

    private RoleProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    public static RoleProcess start(String role, String logName, Map<String, String> env, String... jvmOptions) {
        Path jar = TestApiServer.projectDir().resolve("target/quarkus-app/quarkus-run.jar");
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar + " is missing: this tier runs after `./mvnw package`");
        }
        try {
            Path logs = Files.createDirectories(TestApiServer.projectDir().resolve("target/role-logs"));
            Path log = logs.resolve(logName + ".log");
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.addAll(List.of(jvmOptions));
            if (role.equals("agent")) {
                // As the DaemonSet starts it: the application jar alone on the class path, the
                // launcher adds the few jars the agent needs (AgentLauncher).
                command.add("-cp");
                command.add(jar.getParent().resolve("app").resolve("*").toString());
                command.add("dev.conntrack.agent.AgentLauncher");
            } else {
                command.add("-jar");
                command.add(jar.toString());
            }
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
            builder.environment().put("CONNTRACK_ROLE", role);
            builder.environment().putAll(env);
            return new RoleProcess(builder.start(), log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The operator as the chart's operator service account (impersonated), its HTTP server on a free
     * port, not managing the agent DaemonSet (no kubelet here: agents run as processes).
     */
    public static RoleProcess operator(Path kubeconfig, String logName) {
        return start("operator", logName, Map.of(
                "KUBECONFIG", kubeconfig.toString(),
                "CONNTRACK_AGENT_MANAGE_DAEMON_SET", "false",
                "KUBERNETES_IMPERSONATE_USERNAME", TestApiServer.OPERATOR_USER,
                "QUARKUS_HTTP_PORT", "0"), "-Xmx192m");
    }

    /** An agent for NODE as the chart's agent service account, with more environment (host root, ports). */
    public static RoleProcess agent(Path kubeconfig, String logName, String node, Path stateDir, Map<String, String> env,
            String... jvmOptions) {
        Map<String, String> all = new java.util.HashMap<>(env);
        all.put("NODE_NAME", node);
        all.put("KUBECONFIG", kubeconfig.toString());
        all.put("CONNTRACK_STATE_DIR", stateDir.toString());
        all.put("KUBERNETES_IMPERSONATE_USERNAME", TestApiServer.AGENT_USER);
        // No nft unless the test names a lab namespace's: agents under test never touch the host's ruleset.
        all.putIfAbsent("CONNTRACK_NFT_COMMAND", "");
        return start("agent", logName, all, jvmOptions);
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** The exit status once the process ended (143 after SIGTERM handled by the JVM's shutdown). */
    public int exitValue() {
        return process.exitValue();
    }

    public long pid() {
        return process.pid();
    }

    public String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    public Path log() {
        return log;
    }

    /** SIGKILL: the process ends at once, with no shutdown of its own (a crash, a node that died). */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** SIGTERM, then SIGKILL after a grace period. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
