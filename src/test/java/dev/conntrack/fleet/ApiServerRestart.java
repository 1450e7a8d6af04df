package dev.conntrack.fleet;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * An API server outage for the fleet benchmark: stops the kube-apiserver that {@code hack/cluster.sh}
 * started (SIGTERM, by the pid in its pid file) and starts it again later with the same command line,
 * environment and working directory, its output appended to the same log, and its new pid written to
 * the pid file (so that {@code hack/cluster.sh down} stops the new one). etcd keeps running: the
 * objects and their resource versions survive, as in a control plane upgrade or a crash of the API
 * server alone.
 */
final class ApiServerRestart {
    private final Path pidFile;
    private final Path log;
    private List<String> command;
    private Map<String, String> environment;
    private Path workingDir;

    ApiServerRestart(Path pidFile, Path log) {
        this.pidFile = pidFile;
        this.log = log;
    }

    /** The running API server's pid, from its pid file. */
    long pid() throws IOException {
        return Long.parseLong(Files.readString(pidFile).trim());
    }

    /** Stops the running API server and waits until it exited; returns its pid. */
    long stop() throws IOException, InterruptedException {
        long pid = pid();
        Path proc = Path.of("/proc", Long.toString(pid));
        command = split(Files.readAllBytes(proc.resolve("cmdline")));
        environment = new HashMap<>();
        for (String entry : split(Files.readAllBytes(proc.resolve("environ")))) {
            int eq = entry.indexOf('=');
            if (eq > 0) {
                environment.put(entry.substring(0, eq), entry.substring(eq + 1));
            }
        }
        workingDir = Files.readSymbolicLink(proc.resolve("cwd"));
        ProcessHandle handle = ProcessHandle.of(pid).orElseThrow(() -> new IllegalStateException("kube-apiserver " + pid + " is not running"));
        handle.destroy();
        try {
            handle.onExit().get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            handle.destroyForcibly();
            handle.onExit().join();
        }
        return pid;
    }

    /** Starts it again as it was; returns the new pid. */
    long start() throws IOException {
        if (command == null) {
            throw new IllegalStateException("start() before stop()");
        }
        ProcessBuilder builder = new ProcessBuilder(command).directory(workingDir.toFile())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        builder.environment().clear();
        builder.environment().putAll(environment);
        Process process = builder.start();
        Files.writeString(pidFile, process.pid() + "\n", StandardCharsets.US_ASCII);
        return process.pid();
    }

    /** Waits until the API server answers /readyz with ok, at most {@code timeout}. */
    static void awaitReady(KubernetesClient admin, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                if ("ok".equals(admin.raw("/readyz"))) {
                    return;
                }
            } catch (RuntimeException e) {
                // Not up yet.
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("kube-apiserver not ready " + timeout + " after its start");
            }
            Thread.sleep(100);
        }
    }

    private static List<String> split(byte[] nulSeparated) {
        List<String> parts = new ArrayList<>(Arrays.asList(new String(nulSeparated, StandardCharsets.UTF_8).split("\0")));
        parts.removeIf(String::isEmpty);
        return parts;
    }

    /** Where hack/cluster.sh writes the API server's log, next to its pid file. */
    static Path logOf(Path pidFile) {
        return pidFile.resolveSibling("logs").resolve("apiserver.log");
    }
}
