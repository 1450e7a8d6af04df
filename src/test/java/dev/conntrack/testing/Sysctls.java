package dev.conntrack.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads and writes real /proc/sys/net/netfilter values for tests, and restores what a test saved
 * (also from a shutdown hook, so a killed test JVM still puts the host back).
 */
public final class Sysctls {
    private static final Path NETFILTER = Path.of("/proc/sys/net/netfilter");
    private final Map<String, String> saved = new LinkedHashMap<>();

    public static String read(String name) {
        // Files.readString on /proc/sys returns only the first byte: read the stream instead.
        try (InputStream in = Files.newInputStream(NETFILTER.resolve(name))) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void write(String name, String value) {
        try {
            Files.writeString(NETFILTER.resolve(name), value + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static boolean available() {
        return Files.isWritable(NETFILTER.resolve("nf_conntrack_tcp_timeout_time_wait"));
    }

    /** Saves the current values and registers a shutdown hook that restores them. */
    public Sysctls save(String... names) {
        for (String name : names) {
            saved.put(name, read(name));
        }
        Runtime.getRuntime().addShutdownHook(new Thread(this::restore, "restore-sysctls"));
        return this;
    }

    public String original(String name) {
        return saved.get(name);
    }

    public synchronized void restore() {
        saved.forEach((name, value) -> {
            try {
                if (!read(name).equals(value)) {
                    write(name, value);
                }
            } catch (UncheckedIOException e) {
                System.err.println("could not restore " + name + "=" + value + ": " + e.getMessage());
            }
        });
    }
}
