package dev.conntrack.agent;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.conntrack.api.AutoRaiseStatus;
import dev.conntrack.api.NotrackStatus;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.DropCounters;
import dev.conntrack.api.NamespaceSummary;
import dev.conntrack.api.TableExplanation;
import dev.conntrack.api.TableUsage;
import io.fabric8.kubernetes.api.model.Condition;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/**
 * The agent's writing: its node state's status, as a JSON Patch, and Events, field by field over
 * jackson-core's streaming generator (see {@link NodeStateJson} for why not databind).
 */
final class NodeStateWriter {
    private NodeStateWriter() {
    }

    interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    static String json(Body body) {
        StringWriter out = new StringWriter(1024);
        try (JsonGenerator g = NodeStateJson.FACTORY.createGenerator(out)) {
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
        list(g, "conditions", s.getConditions(), NodeStateWriter::writeCondition);
        object(g, "usage", s.getUsage(), NodeStateWriter::writeUsage);
        object(g, "counters", s.getCounters(), NodeStateWriter::writeCounters);
        stringMap(g, "current", s.getCurrent());
        stringMap(g, "originals", s.getOriginals());
        stringMap(g, "pending", s.getPending());
        object(g, "autoRaise", s.getAutoRaise(), NodeStateWriter::writeAutoRaise);
        object(g, "notrack", s.getNotrack(), NodeStateWriter::writeNotrackStatus);
        list(g, "namespaces", s.getNamespaces(), NodeStateWriter::writeNamespace);
        object(g, "explanation", s.getExplanation(), NodeStateWriter::writeExplanation);
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

    static void writeNotrackStatus(JsonGenerator g, NotrackStatus n) throws IOException {
        g.writeStartObject();
        string(g, "state", n.getState());
        string(g, "table", n.getTable());
        number(g, "installed", n.getInstalled());
        stringList(g, "rules", n.getRules());
        string(g, "message", n.getMessage());
        g.writeEndObject();
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
