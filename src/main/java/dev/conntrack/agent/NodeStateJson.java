package dev.conntrack.agent;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.conntrack.api.AutoRaiseStatus;
import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.api.NotrackProtocol;
import dev.conntrack.api.NotrackRule;
import dev.conntrack.api.NotrackStatus;
import dev.conntrack.api.ConflictNote;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.DropCounters;
import dev.conntrack.api.Mode;
import dev.conntrack.api.MonitoringSpec;
import dev.conntrack.api.NamespaceSummary;
import dev.conntrack.api.PolicySnapshot;
import dev.conntrack.api.TableExplanation;
import dev.conntrack.api.TableUsage;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The agent's JSON, written out field by field over jackson-core's streaming parser and generator
 * instead of Jackson databind: databind's introspection of the API classes and fabric8's model
 * would cost the agent about a thousand classes of metadata. The API classes stay the single
 * source of truth: NodeStateJsonTest fills every property of them (reflectively, so a field added
 * later is included) and fails when this reader or writer disagrees with databind.
 *
 * <p>Reads what the agent uses of a ConntrackNodeState: the metadata it looks at (name,
 * generation, resourceVersion, annotations) and the whole spec; the status is skipped (the agent
 * is its only writer). Writes the status, as a JSON Patch, and Events.
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
                case "policyGenerations" -> spec.setPolicyGenerations(map(p, NodeStateJson::longValue));
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
        return list(p, NodeStateJson::text);
    }

    private static Map<String, String> stringMap(JsonParser p) throws IOException {
        return map(p, NodeStateJson::text);
    }

    private static String text(JsonParser p) throws IOException {
        return p.currentToken() == JsonToken.VALUE_NULL ? null : p.getValueAsString();
    }

    private static Integer intValue(JsonParser p) throws IOException {
        return p.currentToken() == JsonToken.VALUE_NULL ? null : p.getValueAsInt();
    }

    private static Long longValue(JsonParser p) throws IOException {
        return p.currentToken() == JsonToken.VALUE_NULL ? null : p.getValueAsLong();
    }

    private static Double doubleValue(JsonParser p) throws IOException {
        return p.currentToken() == JsonToken.VALUE_NULL ? null : p.getValueAsDouble();
    }

    private static Boolean bool(JsonParser p) throws IOException {
        return p.currentToken() == JsonToken.VALUE_NULL ? null : p.getValueAsBoolean();
    }

    /** An unknown constant (a newer operator's) reads as unset, so the agent keeps its default instead of failing the spec. */
    private static <E extends Enum<E>> E enumValue(JsonParser p, Class<E> type) throws IOException {
        String s = text(p);
        if (s == null) {
            return null;
        }
        try {
            return Enum.valueOf(type, s);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    // ------------------------------------------------------------------ writing

    interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    static String json(Body body) {
        StringWriter out = new StringWriter(1024);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /** JSON Patch "add" of /status: replaces the status whole (removed originals disappear), needs no resourceVersion. */
    static String statusPatch(ConntrackNodeStateStatus status) {
        return json(g -> {
            g.writeStartArray();
            g.writeStartObject();
            g.writeStringField("op", "add");
            g.writeStringField("path", "/status");
            g.writeFieldName("value");
            writeStatus(g, status);
            g.writeEndObject();
            g.writeEndArray();
        });
    }

    static void writeStatus(JsonGenerator g, ConntrackNodeStateStatus s) throws IOException {
        g.writeStartObject();
        number(g, "observedGeneration", s.getObservedGeneration());
        list(g, "conditions", s.getConditions(), NodeStateJson::writeCondition);
        object(g, "usage", s.getUsage(), NodeStateJson::writeUsage);
        object(g, "counters", s.getCounters(), NodeStateJson::writeCounters);
        stringMap(g, "current", s.getCurrent());
        stringMap(g, "originals", s.getOriginals());
        stringMap(g, "pending", s.getPending());
        object(g, "autoRaise", s.getAutoRaise(), NodeStateJson::writeAutoRaise);
        object(g, "notrack", s.getNotrack(), NodeStateJson::writeNotrackStatus);
        list(g, "namespaces", s.getNamespaces(), NodeStateJson::writeNamespace);
        object(g, "explanation", s.getExplanation(), NodeStateJson::writeExplanation);
        stringList(g, "unavailableSignals", s.getUnavailableSignals());
        string(g, "lastTableFullTime", s.getLastTableFullTime());
        string(g, "agentVersion", s.getAgentVersion());
        string(g, "heartbeatTime", s.getHeartbeatTime());
        g.writeEndObject();
    }

    static void writeCondition(JsonGenerator g, Condition c) throws IOException {
        g.writeStartObject();
        string(g, "lastTransitionTime", c.getLastTransitionTime());
        string(g, "message", c.getMessage());
        number(g, "observedGeneration", c.getObservedGeneration());
        string(g, "reason", c.getReason());
        string(g, "status", c.getStatus());
        string(g, "type", c.getType());
        g.writeEndObject();
    }

    static void writeUsage(JsonGenerator g, TableUsage u) throws IOException {
        g.writeStartObject();
        number(g, "entries", u.getEntries());
        number(g, "max", u.getMax());
        number(g, "buckets", u.getBuckets());
        number(g, "usagePercent", u.getUsagePercent());
        number(g, "estimatedMemoryBytes", u.getEstimatedMemoryBytes());
        g.writeEndObject();
    }

    static void writeCounters(JsonGenerator g, DropCounters c) throws IOException {
        g.writeStartObject();
        number(g, "drop", c.getDrop());
        number(g, "dropAllNamespaces", c.getDropAllNamespaces());
        number(g, "earlyDrop", c.getEarlyDrop());
        number(g, "insertFailed", c.getInsertFailed());
        number(g, "invalid", c.getInvalid());
        number(g, "tableFullLogLines", c.getTableFullLogLines());
        number(g, "dropsPerSecond", c.getDropsPerSecond());
        g.writeEndObject();
    }

    static void writeAutoRaise(JsonGenerator g, AutoRaiseStatus a) throws IOException {
        g.writeStartObject();
        number(g, "max", a.getMax());
        number(g, "buckets", a.getBuckets());
        number(g, "raises", a.getRaises());
        string(g, "lastRaiseTime", a.getLastRaiseTime());
        string(g, "limitedBy", a.getLimitedBy());
        string(g, "message", a.getMessage());
        g.writeEndObject();
    }

    static void writeNamespace(JsonGenerator g, NamespaceSummary n) throws IOException {
        g.writeStartObject();
        number(g, "inode", n.getInode());
        number(g, "pid", n.getPid());
        bool(g, "initial", n.getInitial());
        string(g, "podUid", n.getPodUid());
        string(g, "pod", n.getPod());
        number(g, "entries", n.getEntries());
        number(g, "drops", n.getDrops());
        g.writeEndObject();
    }

    static void writeExplanation(JsonGenerator g, TableExplanation e) throws IOException {
        g.writeStartObject();
        string(g, "time", e.getTime());
        string(g, "namespace", e.getNamespace());
        number(g, "entries", e.getEntries());
        bool(g, "truncated", e.getTruncated());
        longMap(g, "byTcpState", e.getByTcpState());
        longMap(g, "byProtocol", e.getByProtocol());
        number(g, "assuredPercent", e.getAssuredPercent());
        stringList(g, "topSources", e.getTopSources());
        stringList(g, "topDestinations", e.getTopDestinations());
        stringList(g, "topDestinationPorts", e.getTopDestinationPorts());
        stringList(g, "recommendations", e.getRecommendations());
        g.writeEndObject();
    }

    static void writeSettings(JsonGenerator g, ConntrackSettings s) throws IOException {
        g.writeStartObject();
        number(g, "max", s.getMax());
        number(g, "maxPerCore", s.getMaxPerCore());
        number(g, "min", s.getMin());
        number(g, "buckets", s.getBuckets());
        string(g, "tcpEstablished", s.getTcpEstablished());
        string(g, "tcpTimeWait", s.getTcpTimeWait());
        string(g, "tcpCloseWait", s.getTcpCloseWait());
        string(g, "tcpSynSent", s.getTcpSynSent());
        string(g, "tcpSynRecv", s.getTcpSynRecv());
        string(g, "tcpFinWait", s.getTcpFinWait());
        string(g, "udp", s.getUdp());
        string(g, "udpStream", s.getUdpStream());
        string(g, "generic", s.getGeneric());
        bool(g, "tcpBeLiberal", s.getTcpBeLiberal());
        object(g, "autoscale", s.getAutoscale(), NodeStateJson::writeAutoscale);
        bool(g, "tcpLoose", s.getTcpLoose());
        list(g, "notrack", s.getNotrack(), NodeStateJson::writeNotrackRule);
        g.writeEndObject();
    }

    static void writeNotrackRule(JsonGenerator g, NotrackRule r) throws IOException {
        g.writeStartObject();
        string(g, "protocol", r.getProtocol() == null ? null : r.getProtocol().name());
        number(g, "port", r.getPort());
        number(g, "endPort", r.getEndPort());
        string(g, "cidr", r.getCidr());
        g.writeEndObject();
    }

    static void writeNotrackStatus(JsonGenerator g, NotrackStatus n) throws IOException {
        g.writeStartObject();
        string(g, "state", n.getState());
        string(g, "table", n.getTable());
        number(g, "installed", n.getInstalled());
        stringList(g, "rules", n.getRules());
        string(g, "message", n.getMessage());
        g.writeEndObject();
    }

    static void writeAutoscale(JsonGenerator g, AutoscaleSpec a) throws IOException {
        g.writeStartObject();
        bool(g, "enabled", a.getEnabled());
        number(g, "highWatermarkPercent", a.getHighWatermarkPercent());
        number(g, "ceiling", a.getCeiling());
        string(g, "memoryBudget", a.getMemoryBudget());
        number(g, "step", a.getStep());
        g.writeEndObject();
    }

    /** A deep copy, through the same writer and reader (no databind). */
    static ConntrackSettings copy(ConntrackSettings settings) {
        String json = json(g -> writeSettings(g, settings));
        try (JsonParser p = FACTORY.createParser(json)) {
            p.nextToken();
            return readSettings(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A new Event about a Node, as the kubelet writes them (involvedObject uid = node name). */
    record NodeEvent(String name, String namespace, String node, String type, String reason, String message,
            String component, String time) {
    }

    static String event(NodeEvent e) {
        return json(g -> {
            g.writeStartObject();
            g.writeStringField("apiVersion", "v1");
            g.writeStringField("kind", "Event");
            g.writeObjectFieldStart("metadata");
            g.writeStringField("name", e.name());
            g.writeStringField("namespace", e.namespace());
            g.writeEndObject();
            g.writeObjectFieldStart("involvedObject");
            g.writeStringField("apiVersion", "v1");
            g.writeStringField("kind", "Node");
            g.writeStringField("name", e.node());
            g.writeStringField("uid", e.node());
            g.writeEndObject();
            g.writeStringField("type", e.type());
            g.writeStringField("reason", e.reason());
            g.writeStringField("message", e.message());
            g.writeObjectFieldStart("source");
            g.writeStringField("component", e.component());
            g.writeStringField("host", e.node());
            g.writeEndObject();
            g.writeStringField("reportingComponent", e.component());
            g.writeStringField("reportingInstance", e.node());
            g.writeStringField("firstTimestamp", e.time());
            g.writeStringField("lastTimestamp", e.time());
            g.writeNumberField("count", 1);
            g.writeEndObject();
        });
    }

    /** Merge patch of a repeated Event: its count, newest message and last time. */
    static String eventBump(int count, String message, String time) {
        return json(g -> {
            g.writeStartObject();
            g.writeNumberField("count", count);
            g.writeStringField("message", message);
            g.writeStringField("lastTimestamp", time);
            g.writeEndObject();
        });
    }

    interface Writer<T> {
        void write(JsonGenerator g, T value) throws IOException;
    }

    // Fields are written only when set: the API classes are all @JsonInclude(NON_NULL).
    private static <T> void object(JsonGenerator g, String name, T value, Writer<T> writer) throws IOException {
        if (value != null) {
            g.writeFieldName(name);
            writer.write(g, value);
        }
    }

    private static <T> void list(JsonGenerator g, String name, List<T> values, Writer<T> writer) throws IOException {
        if (values != null) {
            g.writeArrayFieldStart(name);
            for (T v : values) {
                if (v == null) {
                    g.writeNull();
                } else {
                    writer.write(g, v);
                }
            }
            g.writeEndArray();
        }
    }

    private static void stringList(JsonGenerator g, String name, List<String> values) throws IOException {
        list(g, name, values, JsonGenerator::writeString);
    }

    private static void stringMap(JsonGenerator g, String name, Map<String, String> values) throws IOException {
        map(g, name, values, JsonGenerator::writeString);
    }

    private static void longMap(JsonGenerator g, String name, Map<String, Long> values) throws IOException {
        map(g, name, values, (gen, v) -> gen.writeNumber(v.longValue()));
    }

    private static <T> void map(JsonGenerator g, String name, Map<String, T> values, Writer<T> writer) throws IOException {
        if (values != null) {
            g.writeObjectFieldStart(name);
            for (Map.Entry<String, T> e : values.entrySet()) {
                g.writeFieldName(e.getKey());
                if (e.getValue() == null) {
                    g.writeNull();
                } else {
                    writer.write(g, e.getValue());
                }
            }
            g.writeEndObject();
        }
    }

    private static void string(JsonGenerator g, String name, String value) throws IOException {
        if (value != null) {
            g.writeStringField(name, value);
        }
    }

    private static void bool(JsonGenerator g, String name, Boolean value) throws IOException {
        if (value != null) {
            g.writeBooleanField(name, value);
        }
    }

    private static void number(JsonGenerator g, String name, Number value) throws IOException {
        if (value == null) {
            return;
        }
        g.writeFieldName(name);
        if (value instanceof Double d) {
            g.writeNumber(d.doubleValue());
        } else if (value instanceof Integer i) {
            g.writeNumber(i.intValue());
        } else {
            g.writeNumber(value.longValue());
        }
    }

}
