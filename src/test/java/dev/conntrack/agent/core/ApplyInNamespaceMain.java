package dev.conntrack.agent.core;

import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.kernel.HostPaths;
import dev.conntrack.kernel.OriginalsStore;
import dev.conntrack.kernel.SysctlFiles;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * Child process of {@link RefusedWriteInNamespaceKernelTest}, started with
 * {@code ip netns exec NS java -cp ... dev.conntrack.agent.core.ApplyInNamespaceMain ...}: one
 * Enforce pass of a real {@link SettingsApplier} on host root "/" (inside the namespace,
 * /proc/sys/net is the namespace's own), then the report and the computed conditions as one JSON
 * object on the LAST line of stdout. Exits 0 whatever the kernel refused; a crash is a test failure.
 *
 * <p>Arguments: ORIGINALS_FILE FIELD=VALUE... (fields: max, buckets, tcpTimeWait).
 */
public final class ApplyInNamespaceMain {
    private ApplyInNamespaceMain() {
    }

    public static void main(String[] args) throws Exception {
        OriginalsStore originals = OriginalsStore.open(Path.of(args[0]), null);
        ConntrackSettings settings = new ConntrackSettings();
        for (int i = 1; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            switch (kv[0]) {
                case "max" -> settings.setMax(Integer.valueOf(kv[1]));
                case "buckets" -> settings.setBuckets(Integer.valueOf(kv[1]));
                case "tcpTimeWait" -> settings.setTcpTimeWait(kv[1]);
                default -> throw new IllegalArgumentException("unknown field " + kv[0]);
            }
        }
        SettingsApplier applier = new SettingsApplier(new SysctlFiles(HostPaths.host()), originals);
        ApplyReport report = applier.reconcile(DesiredValues.of(settings), Mode.Enforce, DriftPolicy.Reapply);

        List<Map<String, Object>> results = new ArrayList<>();
        for (KeyResult r : report.results()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("field", r.fieldName());
            m.put("outcome", r.outcome().name());
            m.put("target", r.target());
            m.put("before", r.before());
            m.put("after", r.after());
            m.put("failureReason", r.failure() == null ? null : r.failure().reason().name());
            m.put("errnoText", r.failure() == null ? null : r.failure().errnoText());
            m.put("description", r.describeFailure());
            results.add(m);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("mode", report.mode().name());
        out.put("degraded", report.degraded());
        out.put("degradedMessage", report.degradedMessage());
        out.put("results", results);
        out.put("current", report.current());
        out.put("originals", report.originals());
        out.put("conditions", NodeConditions.evaluate(report, OptionalDouble.empty(), DropRate.UNKNOWN, 80, 1L));
        System.out.println();
        System.out.println(Serialization.asJson(out));
        System.out.flush();
    }
}
