package dev.conntrack.testing;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Reads the reconcile status of an object the way GitOps tools do, in two layers, on the plain
 * JSON map of the object (like kstatus works on unstructured objects).
 *
 * <p>{@link #kstatus}: the generic rules of kstatus (sigs.k8s.io/cli-utils/pkg/kstatus) for a
 * custom resource: Terminating when deletionTimestamp is set; InProgress when
 * status.observedGeneration is present and differs from metadata.generation; then the two
 * "abnormal-true" conditions: Reconciling=True is InProgress, Stalled=True is Failed; anything else
 * is Current. kstatus does not read Ready, Progressing or Degraded.
 *
 * <p>{@link #read}: kstatus first, then the Ready convention that Argo CD health checks and Flux
 * healthCheckExprs are configured with for ConntrackPolicy (docs/gitops.md): InProgress until
 * status.observedGeneration equals metadata.generation and Ready carries that generation; Ready=True
 * is Current; Ready=False with reason NodesFailed is Failed (a node refused the settings and will
 * not get further without someone acting); any other Ready=False, or Progressing=True, is
 * InProgress. Degraded alone (packets dropped on applied nodes) is an operational alert, not a
 * failed rollout, and is not mapped.
 */
public final class KstatusReader {
    public enum Status { InProgress, Current, Failed, Terminating }

    public record Result(Status status, String message) {
    }

    private KstatusReader() {
    }

    /** kstatus' generic rules only. */
    public static Result kstatus(Map<String, Object> object) {
        Map<String, Object> metadata = map(object.get("metadata"));
        if (metadata.get("deletionTimestamp") != null) {
            return new Result(Status.Terminating, "Resource scheduled for deletion");
        }
        Long generation = number(metadata.get("generation"));
        Map<String, Object> status = map(object.get("status"));
        Long observed = number(status.get("observedGeneration"));
        if (generation != null && observed != null && !observed.equals(generation)) {
            return new Result(Status.InProgress, "generation is " + generation + ", but latest observed generation is " + observed);
        }
        for (Map<String, Object> c : conditions(status)) {
            if ("Reconciling".equals(c.get("type")) && "True".equals(c.get("status"))) {
                return new Result(Status.InProgress, String.valueOf(c.get("message")));
            }
            if ("Stalled".equals(c.get("type")) && "True".equals(c.get("status"))) {
                return new Result(Status.Failed, String.valueOf(c.get("message")));
            }
        }
        return new Result(Status.Current, "Resource is current");
    }

    /** kstatus, then the Ready convention for ConntrackPolicy. */
    public static Result read(Map<String, Object> object) {
        Result generic = kstatus(object);
        if (generic.status() != Status.Current) {
            return generic;
        }
        Long generation = number(map(object.get("metadata")).get("generation"));
        Map<String, Object> status = map(object.get("status"));
        Long observed = number(status.get("observedGeneration"));
        if (observed == null || !observed.equals(generation)) {
            return new Result(Status.InProgress, "the operator has not observed generation " + generation + " yet");
        }
        Map<String, Object> ready = find(status, "Ready");
        if (ready == null || !Objects.equals(number(ready.get("observedGeneration")), generation)) {
            return new Result(Status.InProgress, "no Ready condition for generation " + generation + " yet");
        }
        String message = String.valueOf(ready.get("message"));
        if ("True".equals(ready.get("status"))) {
            return new Result(Status.Current, message);
        }
        if ("False".equals(ready.get("status")) && "NodesFailed".equals(ready.get("reason"))) {
            return new Result(Status.Failed, message);
        }
        Map<String, Object> progressing = find(status, "Progressing");
        if (progressing != null && "True".equals(progressing.get("status"))) {
            return new Result(Status.InProgress, String.valueOf(progressing.get("message")));
        }
        return new Result(Status.InProgress, message);
    }

    private static Map<String, Object> find(Map<String, Object> status, String type) {
        return conditions(status).stream().filter(c -> type.equals(c.get("type"))).findFirst().orElse(null);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> conditions(Map<String, Object> status) {
        Object list = status.get("conditions");
        return list instanceof List<?> l ? (List<Map<String, Object>>) l : List.of();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value) {
        return value instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }

    private static Long number(Object value) {
        return value instanceof Number n ? n.longValue() : null;
    }
}
