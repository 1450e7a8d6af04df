package dev.conntrack.kernel;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/** Runs an external command; injectable so unit tests never start a process. */
public interface CommandRunner {

    /** Exit code, standard output and (from {@link #runWithInput} only) standard error of a finished command. */
    record Result(int exitCode, String stdout, String stderr) {
        public Result(int exitCode, String stdout) {
            this(exitCode, stdout, "");
        }
    }

    /** Exit code and what an {@link OutputReader} made of the command's stdout. */
    record Streamed<T>(int exitCode, T value) {
    }

    /** Consumes a command's stdout as it is produced; may stop before its end. */
    @FunctionalInterface
    interface OutputReader<T> {
        T read(InputStream stdout) throws IOException;
    }

    /**
     * @throws IOException when the command cannot be started (not installed) or does not finish
     *     within TIMEOUT (it is killed)
     */
    Result run(List<String> command, Duration timeout) throws IOException;

    /**
     * Runs COMMAND with INPUT on its stdin, and keeps its stderr in {@link Result#stderr()}: for
     * commands that read a script from stdin and explain a refusal on stderr ({@code nft -f -}).
     * Runners that only answer {@link #run} (most test fakes) do not support it.
     *
     * @throws IOException as {@link #run}
     */
    default Result runWithInput(List<String> command, String input, Duration timeout) throws IOException {
        throw new UnsupportedOperationException(getClass().getName() + " cannot pass input to " + String.join(" ", command));
    }

    /**
     * Runs COMMAND and hands its stdout to READER as a stream, for output too large to hold (a
     * conntrack table listing). When READER returns before the end, the command is stopped (its
     * stdout is closed, then it is killed) and the exit code says so (not 0): callers that stopped
     * on purpose ignore it.
     *
     * <p>This default buffers {@link #run}'s output, which is what test fakes provide; the real
     * runner ({@link #processes()}) streams.
     *
     * @throws IOException as {@link #run}, or what READER threw
     */
    default <T> Streamed<T> stream(List<String> command, Duration timeout, OutputReader<T> reader) throws IOException {
        Result result = run(command, timeout);
        T value = reader.read(new ByteArrayInputStream(result.stdout().getBytes(StandardCharsets.UTF_8)));
        return new Streamed<>(result.exitCode(), value);
    }

    /**
     * The real thing: stdout is drained on its own thread (run) or by the reader (stream), so that
     * neither a chatty nor a hung command can block past TIMEOUT; stderr is discarded.
     */
    static CommandRunner processes() {
        return new ProcessCommandRunner();
    }
}
