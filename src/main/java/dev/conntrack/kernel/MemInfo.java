package dev.conntrack.kernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * MemAvailable from /proc/meminfo: the kernel's estimate of memory that can be given out without
 * swapping, the right yardstick for "is there room for a bigger conntrack table". Empty when the
 * file or the line is missing (kernels before 3.14).
 */
public final class MemInfo {
    private static final String MEM_AVAILABLE = "MemAvailable:";

    private MemInfo() {
    }

    /** Bytes. */
    public static OptionalLong memAvailable(HostPaths paths) {
        return memAvailable(paths.meminfo());
    }

    static OptionalLong memAvailable(Path meminfo) {
        ProcReader reader = new ProcReader(8192);
        try {
            reader.load(meminfo);
        } catch (IOException e) {
            return OptionalLong.empty();
        }
        return parseMemAvailable(new String(reader.buffer(), 0, reader.length(), StandardCharsets.US_ASCII));
    }

    /** "MemAvailable:   21835000 kB" in TEXT, in bytes. */
    public static OptionalLong parseMemAvailable(String text) {
        for (String line : text.split("\n")) {
            if (!line.startsWith(MEM_AVAILABLE)) {
                continue;
            }
            String[] f = line.substring(MEM_AVAILABLE.length()).trim().split("\\s+");
            try {
                long value = Long.parseLong(f[0]);
                long unit = f.length > 1 && f[1].equals("kB") ? 1024 : 1;
                return OptionalLong.of(Math.multiplyExact(value, unit));
            } catch (NumberFormatException | ArithmeticException e) {
                return OptionalLong.empty();
            }
        }
        return OptionalLong.empty();
    }
}
