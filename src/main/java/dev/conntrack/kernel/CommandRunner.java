package dev.conntrack.kernel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Runs an external command; injectable so unit tests never start a process. */
public interface CommandRunner {

    /** Exit code and standard output of a finished command. */
    record Result(int exitCode, String stdout) {
    }

    /**
     * @throws IOException when the command cannot be started (not installed) or does not finish
     *     within TIMEOUT (it is killed)
     */
    Result run(List<String> command, Duration timeout) throws IOException;

    /**
     * The real thing. Stdout is drained on its own thread so that neither a chatty nor a hung
     * command can block the poll past TIMEOUT; stderr is discarded.
     */
    static CommandRunner processes() {
        return (command, timeout) -> {
            Process process = new ProcessBuilder(command)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            CompletableFuture<byte[]> stdout = CompletableFuture.supplyAsync(() -> {
                try {
                    return process.getInputStream().readAllBytes();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, task -> {
                Thread t = new Thread(task, "command-stdout");
                t.setDaemon(true);
                t.start();
            });
            String name = String.join(" ", command);
            try {
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    throw new IOException(name + " did not finish within " + timeout);
                }
                byte[] out = stdout.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                return new Result(process.exitValue(), new String(out, StandardCharsets.UTF_8));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(name + " interrupted", e);
            } catch (ExecutionException | TimeoutException e) {
                throw new IOException(name + ": cannot read its output", e);
            } finally {
                process.destroyForcibly();
            }
        };
    }
}
