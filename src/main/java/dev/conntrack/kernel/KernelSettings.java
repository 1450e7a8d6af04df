package dev.conntrack.kernel;

/**
 * Reads and writes the allow-listed conntrack parameters. Only a {@link ConntrackKey} can be
 * written: there is no method taking a path or a sysctl name. {@link SysctlFiles} is the real
 * implementation; tests substitute fakes that refuse writes the way a kernel would.
 */
public interface KernelSettings {
    /** The live value, trimmed, or why it cannot be read. Never throws for I/O problems. */
    ReadResult read(ConntrackKey key);

    /** Writes VALUE as the kernel text of KEY. Never throws for I/O problems. */
    WriteResult write(ConntrackKey key, String value);
}
