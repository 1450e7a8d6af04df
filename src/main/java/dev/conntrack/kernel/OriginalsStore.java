package dev.conntrack.kernel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The value each kernel parameter had before the agent first changed it, kept in a small file on
 * the host (e.g. /var/lib/conntrack-operator/originals-NODE.properties) so that a restarted agent
 * never mistakes an already-tuned value for the original.
 *
 * <p>Format: {@code fieldName=value} lines, '#' comments. Every change rewrites the whole file
 * through a temp file that is fsynced and renamed over the old one, then the directory is fsynced:
 * after a crash the file is either the old or the new version, never half of one.
 *
 * <p>An original is recorded once, at the first change, and kept until it is restored and
 * forgotten; later external changes to the parameter are not folded into it. When the last one is
 * forgotten the file is deleted, not left with its header only.
 *
 * <p>A damaged file is not fatal: lines that parse are kept, the others are listed in
 * {@link #loadProblems()}, and the damaged file is copied aside (PATH.corrupt) before the first
 * rewrite so that a human can still recover what could not be parsed. A file that exists but
 * cannot be read at all is never overwritten: every record/forget then fails, and so the applier
 * changes nothing.
 */
public final class OriginalsStore {
    private static final Logger LOG = Logger.getLogger(OriginalsStore.class.getName());

    private final Path file;
    private final Map<ConntrackKey, String> originals = new EnumMap<>(ConntrackKey.class);
    private final List<String> loadProblems = new ArrayList<>();
    private boolean backupPending;
    /** The file exists but could not be read at all: rewriting it could replace real originals. */
    private String unreadable;

    /** The line that names the boot the originals were recorded in (a comment to older agents). */
    static final String BOOT_LINE = "# boot_id=";
    private final String bootId;
    private String droppedFromBoot;

    private OriginalsStore(Path file, String bootId) {
        this.file = file;
        this.bootId = bootId;
    }

    /**
     * Loads FILE if it exists; never throws for a damaged or unreadable file (see loadProblems).
     * BOOT_ID is the kernel's boot_id now (null: unknown, originals of any boot are kept): originals
     * recorded in another boot are dropped, because a reboot gave the kernel its boot-time values
     * back, which are the node's originals now; writing the old ones back would overwrite them with
     * what the node had before the reboot (a sysctl.d or kube-proxy change since, say).
     */
    public static OriginalsStore open(Path file, String bootId) {
        OriginalsStore store = new OriginalsStore(Objects.requireNonNull(file, "file").toAbsolutePath(), bootId);
        store.load();
        return store;
    }

    /** When originals of another boot were dropped at load: what they were, for the log; else null. */
    public synchronized String droppedFromAnotherBoot() {
        return droppedFromBoot;
    }

    public static Path defaultPath(HostPaths paths, String nodeName) {
        return paths.root().resolve("var/lib/conntrack-operator").resolve("originals-" + nodeName + ".properties");
    }

    public Path file() {
        return file;
    }

    public synchronized Optional<String> originalOf(ConntrackKey key) {
        return Optional.ofNullable(originals.get(key));
    }

    /**
     * Records VALUE as the original of KEY unless one is recorded already, and persists it before
     * returning. The caller must not change the kernel value if this throws: the original would be lost.
     *
     * @return true if recorded now, false if an original was already there
     */
    public synchronized boolean recordIfAbsent(ConntrackKey key, String value) throws IOException {
        Objects.requireNonNull(key, "key");
        if (!isValidValue(key, value)) {
            throw new IllegalArgumentException("not a kernel value of " + key.fieldName() + ": \"" + value + "\"");
        }
        if (originals.containsKey(key)) {
            return false;
        }
        Map<ConntrackKey, String> next = new EnumMap<>(originals);
        next.put(key, value);
        persist(next);
        originals.put(key, value);
        return true;
    }

    /** Drops the original of KEY (after it was written back). */
    public synchronized void forget(ConntrackKey key) throws IOException {
        if (!originals.containsKey(key)) {
            return;
        }
        Map<ConntrackKey, String> next = new EnumMap<>(originals);
        next.remove(key);
        persist(next);
        originals.remove(key);
    }

    /** Every recorded original, in key order. */
    public synchronized Map<ConntrackKey, String> all() {
        return Collections.unmodifiableMap(new EnumMap<>(originals));
    }

    /** Lines of the file that could not be used at load, with line numbers; empty when it was clean. */
    public synchronized List<String> loadProblems() {
        return List.copyOf(loadProblems);
    }

    private void load() {
        List<String> lines;
        try {
            lines = readLines(file);
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            unreadable = "cannot read " + file + ": " + IoErrors.errnoText(e);
            problem(unreadable);
            return;
        }
        int lineNo = 0;
        String recordedBoot = null;
        for (String raw : lines) {
            lineNo++;
            String line = raw.strip();
            if (line.startsWith(BOOT_LINE)) {
                recordedBoot = line.substring(BOOT_LINE.length()).strip();
            }
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                problem(file + " line " + lineNo + ": not field=value: \"" + abbreviate(line) + "\"");
                continue;
            }
            String field = line.substring(0, eq).strip();
            String value = line.substring(eq + 1).strip();
            Optional<ConntrackKey> key = ConntrackKey.fromFieldName(field);
            if (key.isEmpty()) {
                problem(file + " line " + lineNo + ": unknown setting \"" + abbreviate(field) + "\"");
            } else if (!isValidValue(key.get(), value)) {
                problem(file + " line " + lineNo + ": bad value for " + field + ": \"" + abbreviate(value) + "\"");
            } else if (originals.containsKey(key.get())) {
                // The first one was written first: it is the older, i.e. the real, original.
                problem(file + " line " + lineNo + ": " + field + " repeated, keeping the first value");
            } else {
                originals.put(key.get(), value);
            }
        }
        if (!loadProblems.isEmpty()) {
            backupPending = true;
        }
        if (bootId != null && recordedBoot != null && !recordedBoot.equals(bootId) && !originals.isEmpty()) {
            droppedFromBoot = "originals recorded in boot " + recordedBoot + " dropped after a reboot (now boot " + bootId
                    + "): " + describe(originals) + "; the kernel's values at this boot are the originals now";
            LOG.warning("originals store: " + droppedFromBoot);
            originals.clear();
            // The file is rewritten (or deleted) at the next change; until then it is not read again.
        }
    }

    private static List<String> readLines(Path path) throws IOException {
        byte[] bytes;
        try (var in = Files.newInputStream(path)) {
            bytes = in.readAllBytes();
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        List<String> lines = new ArrayList<>();
        for (String line : text.split("\n", -1)) {
            lines.add(line);
        }
        return lines;
    }

    private void persist(Map<ConntrackKey, String> values) throws IOException {
        if (unreadable != null) {
            throw new IOException("originals store refuses to rewrite a file it could not read (" + unreadable + ")");
        }
        Path dir = file.getParent();
        Files.createDirectories(dir);
        if (backupPending && Files.exists(file)) {
            Files.copy(file, file.resolveSibling(file.getFileName() + ".corrupt"), StandardCopyOption.REPLACE_EXISTING);
        }
        backupPending = false;
        if (values.isEmpty()) {
            // Nothing left to restore (the last original went back): no file at all, so that an
            // uninstall leaves nothing of the agent's on the node but the (empty) state directory.
            Files.deleteIfExists(file);
            fsyncDirectory(dir);
            return;
        }
        StringBuilder text = new StringBuilder();
        text.append("# Kernel values before conntrack-operator first changed them; written back when a setting\n");
        text.append("# leaves the node's spec. Managed by the conntrack-operator agent: do not edit while it runs.\n");
        if (bootId != null) {
            text.append(BOOT_LINE).append(bootId).append('\n');
        }
        for (Map.Entry<ConntrackKey, String> e : values.entrySet()) {
            text.append(e.getKey().fieldName()).append('=').append(e.getValue()).append('\n');
        }
        Path temp = dir.resolve("." + file.getFileName() + ".tmp");
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer bytes = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
            channel.force(true);
        }
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        fsyncDirectory(dir);
    }

    /** Makes the rename itself durable. Best effort: not every file system lets a directory be opened. */
    private static void fsyncDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            LOG.log(Level.FINE, "cannot fsync directory " + dir, e);
        }
    }

    private void problem(String message) {
        loadProblems.add(message);
        LOG.warning("originals store: " + message);
    }

    /**
     * Whether VALUE is what the kernel holds for KEY: every allow-listed parameter is a whole
     * number (0 or 1 for a boolean), so anything else in the file is damage, not an original.
     */
    static boolean isValidValue(ConntrackKey key, String value) {
        if (value == null || value.isEmpty() || value.length() > 19) {
            return false;
        }
        for (int i = 0; i < value.length(); i++) {
            if (value.charAt(i) < '0' || value.charAt(i) > '9') {
                return false;
            }
        }
        return key.kind() != ConntrackKey.Kind.BOOLEAN || value.equals("0") || value.equals("1");
    }

    private static String describe(Map<ConntrackKey, String> values) {
        StringBuilder text = new StringBuilder();
        values.forEach((k, v) -> text.append(text.length() == 0 ? "" : ", ").append(k.fieldName()).append('=').append(v));
        return text.toString();
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
