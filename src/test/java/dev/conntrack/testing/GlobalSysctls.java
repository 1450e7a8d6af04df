package dev.conntrack.testing;

import java.io.IOException;

/**
 * For a test that changes GLOBAL conntrack settings (nf_conntrack_max, buckets): holds the
 * machine-wide kernel lock ({@link NetnsLab.GlobalKernelLock}) and the saved values from the start
 * to close, which restores them (a shutdown hook does too) and then lets the next test in.
 */
public final class GlobalSysctls implements AutoCloseable {
    private final NetnsLab.GlobalKernelLock lock;
    private final Sysctls saved = new Sysctls();

    public GlobalSysctls(String... names) throws IOException {
        lock = new NetnsLab.GlobalKernelLock();
        try {
            saved.save(names);
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    public String original(String name) {
        return saved.original(name);
    }

    /** Puts the saved values back now (the lock stays held). */
    public void restore() {
        saved.restore();
    }

    @Override
    public void close() throws IOException {
        try {
            saved.restore();
        } finally {
            lock.close();
        }
    }
}
