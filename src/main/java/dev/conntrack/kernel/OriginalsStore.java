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

    private OriginalsStore(Path file) {
        this.file = file;
    }

    /** Loads FILE if it exists; never throws for a damaged or unreadable file (see loadProblems). */
    public static OriginalsStore open(Path file) {
        OriginalsStore store = new OriginalsStore(Objects.requireNonNull(file, "file").toAbsolutePath());
        store.load();
        return store;
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
        checkValue(value);
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
        for (String raw : lines) {
            lineNo++;
            String line = raw.strip();
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
            } else if (!isValidValue(value)) {
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

    private static void checkValue(String value) {
        if (!isValidValue(value)) {
            throw new IllegalArgumentException("not a storable kernel value: \"" + value + "\"");
        }
    }

    /** Kernel values of the allow-listed parameters are single tokens (numbers); no '=' or line breaks. */
    private static boolean isValidValue(String value) {
        if (value == null || value.isEmpty()) {
            return false;
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isWhitespace(c) || c == '=' || c == '#' || Character.isISOControl(c)) {
                return false;
            }
        }
        return true;
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
