package dev.conntrack.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace a real-kernel test creates for itself, with loopback up, and the processes
 * it starts in it. Closing kills those processes and deletes the namespace (its conntrack table
 * goes with it). Also registered as a shutdown hook, so a test JVM stopped halfway still cleans up.
 *
 * <p>Conntrack only tracks a namespace once a rule there needs it ({@link #trackConnections()}).
 */
public final class NetnsLab implements AutoCloseable {
    /** Taken by every test or script on this machine that changes GLOBAL conntrack settings. */
    public static final Path GLOBAL_KERNEL_LOCK = Path.of("/tmp/conntrack-kernel.lock");

    /** What a command printed. */
    public record Run(int exit, String stdout, String stderr) {
        public String describe() {
            return "exit " + exit + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
        }

        public Run ok(String what) {
            if (exit != 0) {
                throw new AssertionError(what + ": " + describe());
            }
            return this;
        }
    }

    private final String name;
    private final List<Process> started = new ArrayList<>();
    private final Thread cleanup;
    private boolean closed;

    private NetnsLab(String name) {
        this.name = name;
        this.cleanup = new Thread(this::deleteQuietly, "delete-netns-" + name);
        Runtime.getRuntime().addShutdownHook(cleanup);
    }

    /** Creates "PREFIX-xxxxxxxx" with lo up. */
    public static NetnsLab create(String prefix) throws IOException, InterruptedException {
        String name = prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
        run(30, "ip", "netns", "add", name).ok("ip netns add " + name);
        NetnsLab lab = new NetnsLab(name);
        try {
            lab.exec(30, "ip", "link", "set", "lo", "up").ok("lo up in " + name);
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            lab.close();
            throw e;
        }
        return lab;
    }

    public String name() {
        return name;
    }

    /** An nftables rule that asks for conntrack on locally generated packets: from then on the namespace tracks. */
    public void trackConnections() throws IOException, InterruptedException {
        exec(30, "nft", "add", "table", "ip", "ctlab").ok("nft table");
        exec(30, "nft", "add", "chain", "ip", "ctlab", "out", "{ type filter hook output priority 0; }").ok("nft chain");
        exec(30, "nft", "add", "rule", "ip", "ctlab", "out", "ct", "state", "new", "counter").ok("nft rule");
    }

    /** Writes a per-namespace netfilter sysctl of this namespace (gone with it). */
    public void sysctl(String name, String value) throws IOException, InterruptedException {
        exec(30, "sh", "-c", "echo " + value + " > /proc/sys/net/netfilter/" + name).ok("set " + name);
    }

    public long conntrackCount() throws IOException, InterruptedException {
        return Long.parseLong(exec(30, "cat", "/proc/sys/net/netfilter/nf_conntrack_count").ok("count").stdout().trim());
    }

    /** Runs COMMAND inside the namespace and waits at most TIMEOUT_SECONDS. */
    public Run exec(int timeoutSeconds, String... command) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
        full.addAll(List.of(command));
        return run(timeoutSeconds, full.toArray(new String[0]));
    }

    /**
     * Starts a long-lived process (killed at close) inside the namespace. `ip netns exec` execs
     * the command after setns, so the returned process's pid is the command's own pid.
     */
    public Process start(String... command) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
        full.addAll(List.of(command));
        Process p = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        started.add(p);
        return p;
    }

    /** Waits until PROCESS shows this namespace's inode, which is after `ip netns exec` did its setns. */
    public long awaitInNamespace(Process process, long inode, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        Path link = Path.of("/proc", Long.toString(process.pid()), "ns", "net");
        while (System.nanoTime() < deadline) {
            try {
                if (Files.readSymbolicLink(link).toString().equals("net:[" + inode + "]")) {
                    return process.pid();
                }
            } catch (IOException e) {
                // not started yet
            }
            Thread.sleep(10);
        }
        throw new AssertionError("pid " + process.pid() + " never entered namespace " + name);
    }

    /** The namespace's inode, from the bind mount `ip netns add` made. */
    public long inode() throws IOException {
        return (Long) Files.getAttribute(Path.of("/run/netns", name), "unix:ino");
    }

    @Override
    public void close() {
        deleteQuietly();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException e) {
            // already shutting down: the hook is running this
        }
    }

    private synchronized void deleteQuietly() {
        if (closed) {
            return;
        }
        closed = true;
        for (Process p : started) {
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            Run del = run(30, "ip", "netns", "del", name);
            if (del.exit() != 0) {
                System.err.println("could not delete namespace " + name + ": " + del.describe());
            }
        } catch (IOException | InterruptedException e) {
            System.err.println("could not delete namespace " + name + ": " + e);
        }
    }

    public static Run run(int timeoutSeconds, String... command) throws IOException, InterruptedException {
        Path out = Files.createTempFile("netns-lab", ".out");
        Path err = Files.createTempFile("netns-lab", ".err");
        try {
            Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                throw new AssertionError("timed out after " + timeoutSeconds + " s: " + String.join(" ", command));
            }
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Root, with iproute2 and nftables installed. */
    public static boolean available() {
        try {
            boolean root = false;
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    root = line.split("\\s+")[2].equals("0");
                }
            }
            return root && onPath("ip") && onPath("nft");
        } catch (IOException e) {
            return false;
        }
    }

    /** TOOL is installed in one of the system bin directories. */
    public static boolean onPath(String tool) {
        for (String dir : List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Holds the machine-wide lock that serialises changes of global conntrack settings between
     * tests and scripts on this machine, in BOTH lock flavours, because on Linux they do not see
     * each other (measured here: a FileChannel lock is granted while `flock` holds the file, and the
     * other way round). FileChannel.lock() takes a POSIX (fcntl) lock, which excludes Java tests
     * that lock the file that way; a `flock FILE` child process holds a flock(2) lock, which
     * excludes shell scripts using `flock`. Always fcntl first, then flock, so two holders of this
     * class cannot deadlock. The child holds the lock until its stdin closes: at close, or when
     * this JVM dies.
     */
    public static final class GlobalKernelLock implements AutoCloseable {
        private final FileChannel channel;
        private final FileLock lock;
        private final Process flock;

        public GlobalKernelLock() throws IOException {
            channel = FileChannel.open(GLOBAL_KERNEL_LOCK, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            lock = channel.lock();
            Process child = null;
            try {
                // Bounded: a run wrapped in `flock` by hand (bench scripts do that) must fail, not hang.
                child = new ProcessBuilder("flock", "-w", "300", GLOBAL_KERNEL_LOCK.toString(), "sh", "-c", "echo locked; exec cat >/dev/null")
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
                byte[] line = new byte[7];
                int n = child.getInputStream().readNBytes(line, 0, line.length);
                if (n != line.length || !new String(line, StandardCharsets.US_ASCII).equals("locked\n")) {
                    throw new IOException("flock " + GLOBAL_KERNEL_LOCK + " did not lock within 300 s (held by another run"
                            + " of a kernel test or bench script? is util-linux installed?)");
                }
            } catch (IOException | RuntimeException e) {
                if (child != null) {
                    child.destroyForcibly();
                }
                lock.release();
                channel.close();
                throw e;
            }
            flock = child;
        }

        @Override
        public void close() throws IOException {
            try {
                flock.getOutputStream().close(); // cat sees EOF, flock exits and unlocks
                if (!flock.waitFor(5, TimeUnit.SECONDS)) {
                    flock.destroyForcibly();
                }
            } catch (InterruptedException e) {
                flock.destroyForcibly();
                Thread.currentThread().interrupt();
            } finally {
                try {
                    lock.release();
                } finally {
                    channel.close();
                }
            }
        }
    }

    /** First line of a /proc/sys file, as the kernel prints it (never Files.readString: see KERNEL.md). */
    public static String readProcLine(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
        }
    }
}
