package dev.conntrack.kernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;

/**
 * Maps a process to the Kubernetes pod it runs in, from /proc/PID/cgroup alone: the kubelet puts
 * every pod in a cgroup named after the pod UID, and the runtime names the container's cgroup
 * after the container ID. Pure: it returns the UID and container ID; turning the UID into a
 * namespace/name is the caller's business (an informer or an API lookup).
 *
 * <p>Forms recognised (cgroup v2 "0::PATH" and v1 "N:CONTROLLERS:PATH" lines alike):
 * <pre>
 * systemd driver:  /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod&lt;uid with _&gt;.slice/cri-containerd-&lt;id&gt;.scope
 * cgroupfs driver: /kubepods/besteffort/pod&lt;uid with -&gt;/&lt;id&gt;
 * guaranteed QoS:  /kubepods.slice/kubepods-pod&lt;uid&gt;.slice/...   /kubepods/pod&lt;uid&gt;/...
 * kind and nested: /kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/...-pod&lt;uid&gt;.slice/...
 * </pre>
 * Container IDs come bare (cgroupfs) or as docker-, cri-containerd-, crio- or containerd- &lt;id&gt;.scope.
 * Static pods carry a 32-hex config hash instead of a dashed UID; the kubelet reports that hash as
 * the mirror pod's UID, so it is returned as is. A process outside any pod (host daemons, the
 * initial namespace) yields empty.
 */
public final class PodResolver {
    /** A pod UID (dashed form, as the API server shows it) and the container the process runs in when named. */
    public record PodRef(String podUid, Optional<String> containerId) {
        public PodRef {
            Objects.requireNonNull(podUid, "podUid");
            containerId = containerId == null ? Optional.empty() : containerId;
        }
    }

    private static final String[] RUNTIME_PREFIXES = {"cri-containerd-", "docker-", "crio-", "containerd-"};

    private final HostPaths paths;
    private final ProcReader reader = new ProcReader(4096);

    public PodResolver(HostPaths paths) {
        this.paths = Objects.requireNonNull(paths, "paths");
    }

    /** The pod PID runs in; empty outside a pod or when /proc/PID/cgroup cannot be read (process gone). */
    public Optional<PodRef> resolve(long pid) {
        try {
            reader.load(paths.cgroup(pid));
        } catch (IOException e) {
            return Optional.empty();
        }
        return parse(new String(reader.buffer(), 0, reader.length(), StandardCharsets.UTF_8));
    }

    /** The pod named by the content of a /proc/PID/cgroup file; the v2 line wins over v1 lines. */
    public static Optional<PodRef> parse(String cgroupFile) {
        Optional<PodRef> fromV1 = Optional.empty();
        for (String line : cgroupFile.split("\n")) {
            int first = line.indexOf(':');
            int second = first < 0 ? -1 : line.indexOf(':', first + 1);
            if (second < 0) {
                continue;
            }
            Optional<PodRef> ref = parsePath(line.substring(second + 1).trim());
            if (ref.isPresent()) {
                if (line.startsWith("0::")) {
                    return ref;
                }
                if (fromV1.isEmpty()) {
                    fromV1 = ref;
                }
            }
        }
        return fromV1;
    }

    /** The pod of one cgroup PATH ("/kubepods/burstable/pod.../..."). */
    static Optional<PodRef> parsePath(String path) {
        String[] segments = path.split("/");
        boolean underKubepods = false;
        for (int i = 0; i < segments.length; i++) {
            String segment = segments[i];
            if (segment.contains("kubepods")) {
                underKubepods = true;
            }
            String uid = podUid(segment, underKubepods);
            if (uid != null) {
                Optional<String> container = Optional.empty();
                if (i + 1 < segments.length) {
                    container = containerId(segments[segments.length - 1]);
                }
                return Optional.of(new PodRef(uid, container));
            }
        }
        return Optional.empty();
    }

    /**
     * The UID in a segment "pod&lt;uid&gt;" or "...-pod&lt;uid&gt;.slice", dashed; null when none. The
     * static-pod hash form (32 hex, no separators) only counts under a kubepods cgroup: outside it
     * "pod" followed by hex is too likely to be something else.
     */
    private static String podUid(String segment, boolean underKubepods) {
        String s = segment.endsWith(".slice") ? segment.substring(0, segment.length() - ".slice".length()) : segment;
        int at;
        if (s.startsWith("pod")) {
            at = 3;
        } else {
            int dash = s.lastIndexOf("-pod");
            if (dash < 0) {
                return null;
            }
            at = dash + 4;
        }
        String candidate = s.substring(at);
        if (candidate.length() == 36 && isDashedUid(candidate)) {
            return candidate.replace('_', '-');
        }
        if (underKubepods && candidate.length() == 32 && isHex(candidate, 0, 32)) {
            return candidate;
        }
        return null;
    }

    /** 8-4-4-4-12 hex with '-' (cgroupfs) or '_' (systemd, which reserves '-' as its separator). */
    private static boolean isDashedUid(String s) {
        int[] dashes = {8, 13, 18, 23};
        for (int d : dashes) {
            char c = s.charAt(d);
            if (c != '-' && c != '_') {
                return false;
            }
        }
        return isHex(s, 0, 8) && isHex(s, 9, 13) && isHex(s, 14, 18) && isHex(s, 19, 23) && isHex(s, 24, 36);
    }

    /** A 64-hex container ID, bare or inside "&lt;runtime&gt;-&lt;id&gt;.scope"; empty for anything else (crio-conmon-...). */
    static Optional<String> containerId(String segment) {
        String s = segment.endsWith(".scope") ? segment.substring(0, segment.length() - ".scope".length()) : segment;
        for (String prefix : RUNTIME_PREFIXES) {
            if (s.startsWith(prefix)) {
                s = s.substring(prefix.length());
                break;
            }
        }
        return s.length() == 64 && isHex(s, 0, 64) ? Optional.of(s) : Optional.empty();
    }

    private static boolean isHex(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }
}
