package dev.conntrack.kernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.OptionalLong;
import java.util.Set;

/** Processes under /proc as the namespace scan needs them: pids, kernel threads, network namespace inodes. */
final class ProcPids {
    private static final long KTHREADD = 2;

    private ProcPids() {
    }

    /** Pids under /proc, ascending. */
    static long[] list(HostPaths paths) {
        String[] names = paths.proc().toFile().list();
        if (names == null) {
            return new long[0];
        }
        long[] pids = new long[names.length];
        int n = 0;
        for (String name : names) {
            long pid = parsePid(name);
            if (pid > 0) {
                pids[n++] = pid;
            }
        }
        long[] out = Arrays.copyOf(pids, n);
        Arrays.sort(out);
        return out;
    }

    /**
     * kthreadd and its children. Only trusted when pid 2 is really kthreadd: in a pid namespace
     * (an agent without hostPID) pid 2 is some ordinary process and skipping its children would
     * hide real ones.
     */
    static Set<Long> kernelThreads(HostPaths paths, ProcReader reader) {
        try {
            reader.load(paths.comm(KTHREADD));
            if (!new String(reader.buffer(), 0, reader.length(), StandardCharsets.US_ASCII).trim().equals("kthreadd")) {
                return Set.of();
            }
            reader.load(paths.children(KTHREADD));
        } catch (IOException e) {
            return Set.of(); // no CONFIG_PROC_CHILDREN: they are looked at like any process
        }
        Set<Long> threads = new HashSet<>();
        threads.add(KTHREADD);
        byte[] buf = reader.buffer();
        long value = 0;
        boolean inNumber = false;
        for (int i = 0; i < reader.length(); i++) {
            byte b = buf[i];
            if (b >= '0' && b <= '9') {
                value = value * 10 + (b - '0');
                inNumber = true;
            } else if (inNumber) {
                threads.add(value);
                value = 0;
                inNumber = false;
            }
        }
        if (inNumber) {
            threads.add(value);
        }
        return threads;
    }

    /** The inode in the nsfs link at LINK ("net:[4026531840]"); empty when the process is gone or hidden. */
    static OptionalLong readInode(Path link) {
        String target;
        try {
            target = Files.readSymbolicLink(link).toString();
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return OptionalLong.empty();
        }
        return parseInode(target);
    }

    static OptionalLong parseInode(String target) {
        int open = target.indexOf('[');
        int close = target.indexOf(']', open + 1);
        if (!target.startsWith("net:") || open < 0 || close < 0) {
            return OptionalLong.empty();
        }
        try {
            return OptionalLong.of(Long.parseLong(target.substring(open + 1, close)));
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    static long parsePid(String name) {
        if (name.isEmpty() || name.length() > 10) {
            return -1;
        }
        long pid = 0;
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            pid = pid * 10 + (c - '0');
        }
        return pid;
    }
}
