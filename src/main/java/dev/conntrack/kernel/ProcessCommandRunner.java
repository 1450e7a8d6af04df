package dev.conntrack.kernel;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/** {@link CommandRunner} that starts real processes (see {@link CommandRunner#processes()}). */
final class ProcessCommandRunner implements CommandRunner {

    @Override
    public Result run(List<String> command, Duration timeout) throws IOException {
        Process process = start(command);
        return finish(process, command, timeout, drain(process.getInputStream(), "command-stdout"), null);
    }

    /** stdout and stderr are drained on their own threads while INPUT is written, so no pipe can fill up and block. */
    @Override
    public Result runWithInput(List<String> command, String input, Duration timeout) throws IOException {
        Process process = new ProcessBuilder(command).start();
        CompletableFuture<byte[]> stdout = drain(process.getInputStream(), "command-stdout");
        CompletableFuture<byte[]> stderr = drain(process.getErrorStream(), "command-stderr");
        try (var stdin = process.getOutputStream()) {
            stdin.write(input.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // The command exited without reading all of its input: its exit code and stderr say why.
        }
        return finish(process, command, timeout, stdout, stderr);
    }

    /** Waits for the command within TIMEOUT and collects its drained output (stderr null: discarded); always kills it. */
    private static Result finish(Process process, List<String> command, Duration timeout, CompletableFuture<byte[]> stdout,
            CompletableFuture<byte[]> stderr) throws IOException {
        String name = String.join(" ", command);
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IOException(name + " did not finish within " + timeout);
            }
            String out = new String(stdout.get(timeout.toMillis(), TimeUnit.MILLISECONDS), StandardCharsets.UTF_8);
            if (stderr == null) {
                return new Result(process.exitValue(), out);
            }
            String err = new String(stderr.get(timeout.toMillis(), TimeUnit.MILLISECONDS), StandardCharsets.UTF_8);
            return new Result(process.exitValue(), out, err);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(name + " interrupted", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException(name + ": cannot read its output", e);
        } finally {
            process.destroyForcibly();
        }
    }

    private static CompletableFuture<byte[]> drain(InputStream stream, String threadName) {
        return CompletableFuture.supplyAsync(() -> {
            try (stream) {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, task -> {
            Thread t = new Thread(task, threadName);
            t.setDaemon(true);
            t.start();
        });
    }

    /**
     * The reader runs on the calling thread; a watchdog thread kills the command at TIMEOUT, which
     * ends the reader's stream, so a hung command cannot hold the caller longer than that.
     */
    @Override
    public <T> Streamed<T> stream(List<String> command, Duration timeout, OutputReader<T> reader) throws IOException {
        Process process = start(command);
        String name = String.join(" ", command);
        AtomicBoolean timedOut = new AtomicBoolean();
        Thread watchdog = new Thread(() -> {
            try {
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    timedOut.set(true);
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                // The caller is done with the command.
            }
        }, "command-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        try {
            T value;
            try (InputStream stdout = process.getInputStream()) {
                value = reader.read(stdout);
            }
            // Closing stdout makes a command the reader left behind die of SIGPIPE on its next write.
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) || timedOut.get()) {
                throw new IOException(name + " did not finish within " + timeout);
            }
            return new Streamed<>(process.exitValue(), value);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(name + " interrupted", e);
        } finally {
            watchdog.interrupt();
            process.destroyForcibly();
        }
    }

    private static Process start(List<String> command) throws IOException {
        return new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
    }
}
