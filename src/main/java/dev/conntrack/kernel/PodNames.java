package dev.conntrack.kernel;

import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Turns a pod UID (from {@link PodResolver}) into "namespace/name" without asking the API server:
 * the kubelet keeps one log folder per pod of the node, {@code /var/log/pods/NAMESPACE_NAME_UID},
 * for as long as the pod exists (and a little after). Namespace and pod names are DNS labels or
 * subdomains, which never contain '_', so the folder name splits unambiguously. Static pods are
 * filed under their config hash, which is also what their cgroup carries.
 *
 * <p>The listing is cached; it is read again only when asked for a UID it does not know, and at
 * most once per {@code refreshAtMostEvery}, so a namespace whose pod has no log folder (not a pod,
 * or the directory is not mounted) costs one directory listing per interval, not one per poll.
 * At most {@code maxEntries} folders are read per listing. Not thread-safe (the agent's poll
 * thread owns it).
 */
public final class PodNames {
    public static final Duration DEFAULT_REFRESH = Duration.ofSeconds(10);
    public static final int DEFAULT_MAX_ENTRIES = 10_000;

    private final Path directory;
    private final LongSupplier nanoTime;
    private final long refreshNanos;
    private final int maxEntries;
    private Map<String, String> byUid = Map.of();
    private boolean listed;
    private long listedAt;

    public PodNames(HostPaths paths) {
        this(paths, System::nanoTime, DEFAULT_REFRESH, DEFAULT_MAX_ENTRIES);
    }

    public PodNames(HostPaths paths, LongSupplier nanoTime, Duration refreshAtMostEvery, int maxEntries) {
        this.directory = Objects.requireNonNull(paths, "paths").podLogs();
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        this.refreshNanos = refreshAtMostEvery.toNanos();
        this.maxEntries = maxEntries;
    }

    /** "namespace/name" of the pod with UID, or empty when no log folder names it. */
    public Optional<String> nameOf(String uid) {
        if (uid == null || uid.isEmpty()) {
            return Optional.empty();
        }
        String name = byUid.get(uid);
        if (name == null && refreshDue()) {
            byUid = list();
            name = byUid.get(uid);
        }
        return Optional.ofNullable(name);
    }

    private boolean refreshDue() {
        long now = nanoTime.getAsLong();
        if (listed && now - listedAt < refreshNanos) {
            return false;
        }
        listed = true;
        listedAt = now;
        return true;
    }

    /** Rebuilt whole each time, so pods that left the node leave the cache too. */
    private Map<String, String> list() {
        Map<String, String> out = new HashMap<>();
        try (DirectoryStream<Path> folders = Files.newDirectoryStream(directory)) {
            for (Path folder : folders) {
                if (out.size() >= maxEntries) {
                    break;
                }
                parse(folder.getFileName().toString()).ifPresent(p -> out.put(p.uid(), p.namespace() + "/" + p.name()));
            }
        } catch (IOException | DirectoryIteratorException e) {
            // Not mounted, or not a kubelet node: names stay unknown, UIDs are still reported.
            return out;
        }
        return out;
    }

    /** One pod's log folder name split into its parts. */
    public record PodFolder(String namespace, String name, String uid) {
    }

    /** "NAMESPACE_NAME_UID" split; empty for anything else. */
    public static Optional<PodFolder> parse(String folder) {
        int first = folder.indexOf('_');
        int second = first < 0 ? -1 : folder.indexOf('_', first + 1);
        if (first <= 0 || second <= first + 1 || second == folder.length() - 1 || folder.indexOf('_', second + 1) >= 0) {
            return Optional.empty();
        }
        return Optional.of(new PodFolder(folder.substring(0, first), folder.substring(first + 1, second), folder.substring(second + 1)));
    }
}
