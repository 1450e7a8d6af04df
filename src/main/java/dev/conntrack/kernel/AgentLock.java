package dev.conntrack.kernel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One agent per node: an exclusive lock on {@code agent-NODE.lock} in the state directory, held
 * while the agent runs. A second agent for the same node (two releases installed, or an old pod
 * that is still running) cannot take it and refuses to start, naming the holder written in the
 * file. The kernel releases the lock when the holder dies, however it dies; a clean stop also
 * deletes the file, so nothing of it stays on the node.
 */
public final class AgentLock implements AutoCloseable {
    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private AgentLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the lock for NODE in STATE_DIR, writing HOLDER (who this agent is) into it.
     *
     * @throws IllegalStateException when another agent holds it, naming that agent
     */
    public static AgentLock acquire(Path stateDir, String node, String holder) throws IOException {
        Files.createDirectories(stateDir);
        Path file = stateDir.resolve("agent-" + node + ".lock");
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            ByteBuffer held = ByteBuffer.allocate(512);
            channel.read(held, 0);
            channel.close();
            throw new IllegalStateException("another agent for node " + node + " is running (it holds " + file + "): "
                    + new String(held.array(), 0, held.position(), StandardCharsets.UTF_8).strip());
        }
        channel.truncate(0);
        channel.write(ByteBuffer.wrap((holder + "\n").getBytes(StandardCharsets.UTF_8)), 0);
        channel.force(true);
        return new AgentLock(file, channel, lock);
    }

    @Override
    public void close() throws IOException {
        // Deleted while still held: an agent starting now creates a new file and locks that one.
        Files.deleteIfExists(file);
        lock.release();
        channel.close();
    }
}
