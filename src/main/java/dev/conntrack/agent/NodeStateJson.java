package dev.conntrack.agent;

import static dev.conntrack.agent.JsonValues.bool;
import static dev.conntrack.agent.JsonValues.doubleValue;
import static dev.conntrack.agent.JsonValues.enumValue;
import static dev.conntrack.agent.JsonValues.intValue;
import static dev.conntrack.agent.JsonValues.longValue;
import static dev.conntrack.agent.JsonValues.text;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.api.NotrackProtocol;
import dev.conntrack.api.NotrackRule;
import dev.conntrack.api.ConflictNote;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.api.MonitoringSpec;
import dev.conntrack.api.PolicySnapshot;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The agent's reading of a ConntrackNodeState, field by field over jackson-core's streaming parser
 * instead of Jackson databind: databind's introspection of the API classes and fabric8's model
 * would cost the agent about a thousand classes of metadata. The API classes stay the single
 * source of truth: NodeStateJsonTest fills every property of them (reflectively, so a field added
 * later is included) and fails when this reader or {@link NodeStateWriter} disagrees with databind.
 *
 * <p>Reads what the agent uses: the metadata it looks at (name, generation, resourceVersion,
 * annotations) and the whole spec; the status is skipped (the agent is its only writer).
 */
final class NodeStateJson {
    static final JsonFactory FACTORY = new JsonFactory();

    private NodeStateJson() {
    }

    // ------------------------------------------------------------------ reading

    /** A node state; the parser is at its START_OBJECT and ends at its END_OBJECT. */
    static ConntrackNodeState readNodeState(JsonParser p) throws IOException {
        ConntrackNodeState state = new ConntrackNodeState();
        fields(p, name -> {
            switch (name) {
                case "metadata" -> state.setMetadata(readMetadata(p));
                case "spec" -> state.setSpec(p.currentToken() == JsonToken.VALUE_NULL ? null : readSpec(p));
                default -> p.skipChildren();
            }
        });
        return state;
    }

    /** A node state and what in it could not be read as its type (a string where a number belongs, say). */
    record Read(ConntrackNodeState state, List<String> problems) {
    }

    /** {@link #readNodeState(JsonParser)}, with the values that had the wrong type (read as unset) listed. */
    static Read read(JsonParser p) throws IOException {
        List<String> problems = JsonValues.collect();
        try {
            return new Read(readNodeState(p), List.copyOf(problems));
        } finally {
            JsonValues.stopCollecting();
        }
    }

    static ConntrackNodeState readNodeState(String json) {
        try (JsonParser p = FACTORY.createParser(json)) {
            p.nextToken();
            return readNodeState(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ObjectMeta readMetadata(JsonParser p) throws IOException {
        ObjectMeta meta = new ObjectMeta();
        fields(p, name -> {
            switch (name) {
                case "name" -> meta.setName(text(p));
                case "namespace" -> meta.setNamespace(text(p));
                case "uid" -> meta.setUid(text(p));
                case "resourceVersion" -> meta.setResourceVersion(text(p));
                case "generation" -> meta.setGeneration(longValue(p));
                case "annotations" -> meta.setAnnotations(stringMap(p));
                case "labels" -> meta.setLabels(stringMap(p));
                default -> p.skipChildren();
            }
        });
        return meta;
    }

    static ConntrackNodeStateSpec readSpec(JsonParser p) throws IOException {
        ConntrackNodeStateSpec spec = new ConntrackNodeStateSpec();
        fields(p, name -> {
            switch (name) {
                case "conntrack" -> spec.setConntrack(readSettings(p));
                case "mode" -> spec.setMode(enumValue(p, Mode.class));
                case "driftPolicy" -> spec.setDriftPolicy(enumValue(p, DriftPolicy.class));
                case "monitoring" -> spec.setMonitoring(readMonitoring(p));
                case "policies" -> spec.setPolicies(stringList(p));
                case "policyGenerations" -> spec.setPolicyGenerations(map(p, JsonValues::longValue));
                case "policySnapshots" -> spec.setPolicySnapshots(map(p, NodeStateJson::readSnapshot));
                case "sources" -> spec.setSources(stringMap(p));
                case "conflicts" -> spec.setConflicts(list(p, NodeStateJson::readConflict));
                case "warnings" -> spec.setWarnings(stringList(p));
                default -> p.skipChildren();
            }
        });
        return spec;
    }

    static ConntrackSettings readSettings(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return null;
        }
        ConntrackSettings s = new ConntrackSettings();
        fields(p, name -> {
            switch (name) {
                case "max" -> s.setMax(intValue(p));
                case "maxPerCore" -> s.setMaxPerCore(intValue(p));
                case "min" -> s.setMin(intValue(p));
                case "buckets" -> s.setBuckets(intValue(p));
                case "tcpEstablished" -> s.setTcpEstablished(text(p));
                case "tcpTimeWait" -> s.setTcpTimeWait(text(p));
                case "tcpCloseWait" -> s.setTcpCloseWait(text(p));
                case "tcpSynSent" -> s.setTcpSynSent(text(p));
                case "tcpSynRecv" -> s.setTcpSynRecv(text(p));
                case "tcpFinWait" -> s.setTcpFinWait(text(p));
                case "udp" -> s.setUdp(text(p));
                case "udpStream" -> s.setUdpStream(text(p));
                case "generic" -> s.setGeneric(text(p));
                case "tcpBeLiberal" -> s.setTcpBeLiberal(bool(p));
                case "autoscale" -> s.setAutoscale(readAutoscale(p));
                case "tcpLoose" -> s.setTcpLoose(bool(p));
                case "notrack" -> s.setNotrack(list(p, NodeStateJson::readNotrackRule));
                default -> p.skipChildren();
            }
        });
        return s;
    }

    static AutoscaleSpec readAutoscale(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return null;
        }
        AutoscaleSpec a = new AutoscaleSpec();
        fields(p, name -> {
            switch (name) {
                case "enabled" -> a.setEnabled(bool(p));
                case "highWatermarkPercent" -> a.setHighWatermarkPercent(intValue(p));
                case "ceiling" -> a.setCeiling(intValue(p));
                case "memoryBudget" -> a.setMemoryBudget(text(p));
                case "step" -> a.setStep(doubleValue(p));
                default -> p.skipChildren();
            }
        });
        return a;
    }

    static NotrackRule readNotrackRule(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return null;
        }
        NotrackRule r = new NotrackRule();
        fields(p, name -> {
            switch (name) {
                case "protocol" -> r.setProtocol(enumValue(p, NotrackProtocol.class));
                case "port" -> r.setPort(intValue(p));
                case "endPort" -> r.setEndPort(intValue(p));
                case "cidr" -> r.setCidr(text(p));
                default -> p.skipChildren();
            }
        });
        return r;
    }

    static MonitoringSpec readMonitoring(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return null;
        }
        MonitoringSpec m = new MonitoringSpec();
        fields(p, name -> {
            switch (name) {
                case "usageWarningPercent" -> m.setUsageWarningPercent(intValue(p));
                case "pollInterval" -> m.setPollInterval(text(p));
                default -> p.skipChildren();
            }
        });
        return m;
    }

    static PolicySnapshot readSnapshot(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return null;
        }
        PolicySnapshot s = new PolicySnapshot();
        fields(p, name -> {
            switch (name) {
                case "generation" -> s.setGeneration(longValue(p));
                case "since" -> s.setSince(text(p));
                case "priority" -> s.setPriority(intValue(p));
                case "mode" -> s.setMode(enumValue(p, Mode.class));
                case "driftPolicy" -> s.setDriftPolicy(enumValue(p, DriftPolicy.class));
                case "conntrack" -> s.setConntrack(readSettings(p));
                case "monitoring" -> s.setMonitoring(readMonitoring(p));
                default -> p.skipChildren();
            }
        });
        return s;
    }

    static ConflictNote readConflict(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return null;
        }
        ConflictNote c = new ConflictNote();
        fields(p, name -> {
            switch (name) {
                case "field" -> c.setField(text(p));
                case "policies" -> c.setPolicies(stringList(p));
                case "winner" -> c.setWinner(text(p));
                default -> p.skipChildren();
            }
        });
        return c;
    }

    /** A field's value reader: the parser is at the value's first token. */
    interface ValueReader<T> {
        T read(JsonParser p) throws IOException;
    }

    interface FieldHandler {
        void field(String name) throws IOException;
    }

    /** Calls the handler for each field of the object the parser is at, positioned on the field's value. */
    private static void fields(JsonParser p, FieldHandler handler) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new IOException("expected an object, found " + p.currentToken());
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            handler.field(name);
        }
    }

    private static <T> List<T> list(JsonParser p, ValueReader<T> item) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return null;
        }
        List<T> out = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            out.add(item.read(p));
        }
        return out;
    }

    private static <T> Map<String, T> map(JsonParser p, ValueReader<T> value) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return null;
        }
        Map<String, T> out = new LinkedHashMap<>();
        fields(p, name -> out.put(name, value.read(p)));
        return out;
    }

    private static List<String> stringList(JsonParser p) throws IOException {
        return list(p, JsonValues::text);
    }

    private static Map<String, String> stringMap(JsonParser p) throws IOException {
        return map(p, JsonValues::text);
    }
}
