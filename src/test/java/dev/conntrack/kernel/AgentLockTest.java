package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentLockTest {
    @TempDir
    Path dir;

    @Test
    void aSecondAgentForTheSameNodeIsRefusedNamingTheHolder() throws IOException {
        try (AgentLock first = AgentLock.acquire(dir, "node-a", "pid 4242 on node-a, agent 0.2.0, started 2026-12-06T10:00:00Z")) {
            assertThatThrownBy(() -> AgentLock.acquire(dir, "node-a", "pid 99"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("another agent for node node-a is running")
                    .hasMessageContaining("pid 4242 on node-a, agent 0.2.0");
            // Another node's agent (a test host, say) is not in the way.
            AgentLock.acquire(dir, "node-b", "pid 1").close();
        }
        // Released and its file deleted: nothing stays on the node, and the next agent starts.
        assertThat(Files.exists(dir.resolve("agent-node-a.lock"))).isFalse();
        AgentLock.acquire(dir, "node-a", "pid 100").close();
    }

    @Test
    void aLockHeldByAnotherProcessIsRefusedToo() throws Exception {
        Path file = dir.resolve("agent-node-a.lock");
        Files.writeString(file, "");
        // An old pod's agent in another process: Java's FileLock is a POSIX (fcntl) lock, which
        // python's fcntl.lockf takes too.
        Process holder = new ProcessBuilder("python3", "-c",
                "import fcntl,sys,time;f=open(sys.argv[1],'r+');fcntl.lockf(f,fcntl.LOCK_EX);f.write('pid of the old pod');f.flush();"
                        + "print('locked',flush=True);time.sleep(30)", file.toString()).start();
        try {
            assertThat(new String(holder.getInputStream().readNBytes(7))).isEqualTo("locked\n");
            assertThatThrownBy(() -> AgentLock.acquire(dir, "node-a", "pid 99")).hasMessageContaining("pid of the old pod");
        } finally {
            holder.destroyForcibly();
            holder.waitFor(5, TimeUnit.SECONDS);
        }
        AgentLock.acquire(dir, "node-a", "pid 99").close();
    }
}
