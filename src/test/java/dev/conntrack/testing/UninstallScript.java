package dev.conntrack.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** hack/uninstall.sh run as a user would, with the test cluster's kubectl and helm. */
public final class UninstallScript implements AutoCloseable {
    private final Process process;
    private final Path output;

    private UninstallScript(Process process, Path output) {
        this.process = process;
        this.output = output;
    }

    public static UninstallScript start(Path kubeconfig, String... args) {
        String dir = System.getProperty("kube.api.test.dir", System.getProperty("user.home") + "/.kubeapitest");
        List<String> command = new ArrayList<>();
        command.add("bash");
        command.add(TestApiServer.projectDir().resolve("hack/uninstall.sh").toString());
        command.addAll(List.of(args));
        try {
            Path output = Files.createTempFile(kubeconfig.getParent(), "uninstall", ".log");
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
            builder.environment().put("KUBECONFIG", kubeconfig.toString());
            builder.environment().put("KUBECTL",
                    Path.of(dir, "k8s", TestApiServer.kubernetesVersion() + "-linux-amd64", "kubectl").toString());
            builder.environment().put("HELM", Path.of(dir, "bin", "helm").toString());
            builder.environment().put("CONNTRACK_UNINSTALL_POLL_SECONDS", "1");
            return new UninstallScript(builder.start(), output);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public boolean isRunning() {
        return process.isAlive();
    }

    /** Waits for the exit code; fails if the script runs longer than the given seconds. */
    public int exitCode(long seconds) throws InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            throw new AssertionError("uninstall.sh still running after " + seconds + " s:\n" + output());
        }
        return process.exitValue();
    }

    public String output() {
        try {
            return Files.readString(output);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
