package dev.conntrack.fleet;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * apiserver_request_total from the kube-apiserver's own /metrics, summed by (resource,
 * subresource, verb), and who sent what. The metric has no user label, so requests are attributed
 * by what they touch: agents write node state status (and Events), the operator writes node state
 * specs and policy status and reads nodes; policy edits are the benchmark driver's.
 */
public final class ApiRequestCounts {
    private static final Pattern LINE = Pattern.compile("^apiserver_request_total\\{([^}]*)} ([0-9.e+E-]+)$");
    private static final Pattern LABEL = Pattern.compile("(\\w+)=\"([^\"]*)\"");

    /** resource/subresource/verb -> count */
    private final Map<String, Double> counts;

    private ApiRequestCounts(Map<String, Double> counts) {
        this.counts = counts;
    }

    /** Nothing counted: what a restarted API server's counters start from. */
    public static ApiRequestCounts none() {
        return new ApiRequestCounts(Map.of());
    }

    public static ApiRequestCounts scrape(KubernetesClient admin) {
        String text = admin.raw("/metrics");
        Map<String, Double> counts = new HashMap<>();
        for (String line : text.split("\n")) {
            Matcher m = LINE.matcher(line);
            if (!m.matches()) {
                continue;
            }
            Map<String, String> labels = new HashMap<>();
            Matcher l = LABEL.matcher(m.group(1));
            while (l.find()) {
                labels.put(l.group(1), l.group(2));
            }
            String key = labels.getOrDefault("resource", "") + "/" + labels.getOrDefault("subresource", "") + "/"
                    + labels.getOrDefault("verb", "");
            counts.merge(key, Double.parseDouble(m.group(2)), Double::sum);
        }
        return new ApiRequestCounts(counts);
    }

    /** Requests between two scrapes, by who sent them. */
    public record Delta(double operator, double agents, double agentStatusWrites, double driver, double other,
            Map<String, Double> byKey) {
        /** Every request but watches (the server counts a watch when it ends, not when it starts). */
        public double withoutWatches() {
            return byKey.entrySet().stream().filter(e -> !e.getKey().endsWith("/WATCH")).mapToDouble(Map.Entry::getValue).sum();
        }
    }

    public Delta since(ApiRequestCounts before) {
        Map<String, Double> diff = new HashMap<>();
        counts.forEach((k, v) -> {
            double d = v - before.counts.getOrDefault(k, 0.0);
            if (d > 0) {
                diff.put(k, d);
            }
        });
        double operator = 0;
        double agents = 0;
        double agentStatus = 0;
        double driver = 0;
        double other = 0;
        for (Map.Entry<String, Double> e : diff.entrySet()) {
            String[] p = e.getKey().split("/", -1);
            String resource = p[0];
            String sub = p[1];
            String verb = p[2];
            if (resource.equals("conntracknodestates") && sub.equals("status")) {
                agents += e.getValue();
                if (verb.equals("PATCH") || verb.equals("APPLY") || verb.equals("PUT")) {
                    agentStatus += e.getValue();
                }
            } else if (resource.equals("events")) {
                agents += e.getValue();
            } else if (resource.equals("conntracknodestates") || resource.equals("nodes")
                    || (resource.equals("conntrackpolicies") && sub.equals("status"))
                    || (resource.equals("conntrackpolicies") && (verb.equals("LIST") || verb.equals("WATCH")))) {
                operator += e.getValue();
            } else if (resource.equals("conntrackpolicies")) {
                driver += e.getValue();
            } else {
                other += e.getValue();
            }
        }
        return new Delta(operator, agents, agentStatus, driver, other, diff);
    }
}
