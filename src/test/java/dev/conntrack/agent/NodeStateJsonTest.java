package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackSettings;
import io.fabric8.kubernetes.api.model.Condition;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The agent reads and writes the API classes with its own streaming code (NodeStateJson), the
 * operator with Jackson databind. This test fills EVERY property of the spec and status classes
 * (found by reflection, so a field added to dev.conntrack.api later is filled too) and fails when
 * the agent's reader or writer does not round-trip it exactly like databind: a new field must be
 * added to NodeStateJson, it cannot be dropped silently.
 */
class NodeStateJsonTest {
    private static final ObjectMapper DATABIND = new ObjectMapper()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    @Test
    void statusWrittenExactlyAsDatabindWritesIt() throws Exception {
        ConntrackNodeStateStatus status = filled(ConntrackNodeStateStatus.class);
        JsonNode patch = DATABIND.readTree(NodeStateWriter.statusPatch(status));
        assertThat(patch.size()).isEqualTo(1);
        assertThat(patch.get(0).get("op").asText()).isEqualTo("add");
        assertThat(patch.get(0).get("path").asText()).isEqualTo("/status");
        assertThat(patch.get(0).get("value")).isEqualTo(databind(status));
    }

    @Test
    void emptyStatusWrittenAsDatabindWritesIt() throws Exception {
        ConntrackNodeStateStatus status = new ConntrackNodeStateStatus();
        assertThat(DATABIND.readTree(NodeStateWriter.statusPatch(status)).get(0).get("value"))
                .isEqualTo(databind(status));
    }

    @Test
    void specReadExactlyAsDatabindReadsIt() throws Exception {
        ConntrackNodeState state = new ConntrackNodeState();
        state.getMetadata().setName("node-a");
        state.getMetadata().setGeneration(7L);
        state.getMetadata().setResourceVersion("12345");
        state.getMetadata().setAnnotations(Map.of("conntrack.dev/explain", "now"));
        state.setSpec(filled(ConntrackNodeStateSpec.class));
        state.setStatus(filled(ConntrackNodeStateStatus.class));
        String json = DATABIND.writeValueAsString(state);

        ConntrackNodeState read = NodeStateJson.readNodeState(json);

        assertThat(databind(read.getSpec())).isEqualTo(databind(state.getSpec()));
        assertThat(read.getMetadata().getName()).isEqualTo("node-a");
        assertThat(read.getMetadata().getGeneration()).isEqualTo(7L);
        assertThat(read.getMetadata().getResourceVersion()).isEqualTo("12345");
        assertThat(read.getMetadata().getAnnotations()).containsEntry("conntrack.dev/explain", "now");
        assertThat(read.getStatus()).as("the agent writes the status, it never reads it").isNull();
    }

    @Test
    void unknownFieldsAndValuesAreSkipped() {
        ConntrackNodeState read = NodeStateJson.readNodeState("""
                {"apiVersion":"conntrack.dev/v1alpha1","kind":"ConntrackNodeState",
                 "metadata":{"name":"n","managedFields":[{"a":{"b":[1,2]}}],"generation":3},
                 "spec":{"mode":"SomethingNew","future":{"x":[1,{"y":2}]},"conntrack":{"max":1000,"later":true}},
                 "status":{"conditions":[]}}""");
        assertThat(read.getMetadata().getGeneration()).isEqualTo(3L);
        assertThat(read.getSpec().getMode()).isNull();
        assertThat(read.getSpec().getConntrack().getMax()).isEqualTo(1000);
    }

    @Test
    void eventsAreValidJsonWithEveryField() throws Exception {
        JsonNode event = DATABIND.readTree(NodeStateWriter.event(new NodeStateWriter.NodeEvent("n.x.1", "default", "n",
                "Warning", "ConntrackTableFull", "dropped \"12\"\npackets", "conntrack-agent", "2026-01-01T00:00:00Z")));
        assertThat(event.at("/involvedObject/kind").asText()).isEqualTo("Node");
        assertThat(event.at("/message").asText()).isEqualTo("dropped \"12\"\npackets");
        assertThat(event.at("/count").asInt()).isEqualTo(1);
        JsonNode bump = DATABIND.readTree(NodeStateWriter.eventBump(3, "again", "2026-01-01T00:01:00Z"));
        assertThat(bump.get("count").asInt()).isEqualTo(3);
    }

    @Test
    void theFillerReallyFillsEveryProperty() {
        // Guards the guard: a status with a property left null would not test that property.
        JsonNode status = DATABIND.valueToTree(filled(ConntrackNodeStateStatus.class));
        for (Method m : ConntrackNodeStateStatus.class.getMethods()) {
            if (m.getName().startsWith("set") && m.getParameterCount() == 1) {
                String field = Character.toLowerCase(m.getName().charAt(3)) + m.getName().substring(4);
                assertThat(status.has(field)).as(field).isTrue();
            }
        }
    }

    /** Databind's JSON of the object, parsed (as the agent's text is, so numbers compare by value and not by node type). */
    private static JsonNode databind(Object value) throws Exception {
        return DATABIND.readTree(DATABIND.writeValueAsString(value));
    }

    /** An instance with every settable property set, recursively (lists and maps get one element). */
    static <T> T filled(Class<T> type) {
        try {
            T object = type.getDeclaredConstructor().newInstance();
            int n = 0;
            for (Method setter : type.getMethods()) {
                if (!setter.getName().startsWith("set") || setter.getParameterCount() != 1
                        || Modifier.isStatic(setter.getModifiers()) || setter.getName().equals("setAdditionalProperty")
                        || setter.getName().equals("setAdditionalProperties")) {
                    continue;
                }
                setter.invoke(object, sample(setter.getGenericParameterTypes()[0], setter.getName() + (n++)));
            }
            return object;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot fill " + type, e);
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object sample(Type type, String seed) {
        if (type instanceof ParameterizedType p) {
            Class<?> raw = (Class<?>) p.getRawType();
            Type[] args = p.getActualTypeArguments();
            if (List.class.isAssignableFrom(raw)) {
                List<Object> list = new ArrayList<>();
                list.add(sample(args[0], seed + "-0"));
                return list;
            }
            if (Map.class.isAssignableFrom(raw)) {
                Map<Object, Object> map = new LinkedHashMap<>();
                map.put("key-" + seed, sample(args[1], seed + "-v"));
                return map;
            }
            throw new IllegalArgumentException("no sample for " + type);
        }
        Class<?> c = (Class<?>) type;
        int h = Math.abs(seed.hashCode() % 1000) + 1;
        if (c == String.class) {
            return "v-" + seed;
        } else if (c == Integer.class || c == int.class) {
            return h;
        } else if (c == Long.class || c == long.class) {
            return 100_000L + h;
        } else if (c == Double.class || c == double.class) {
            return h + 0.25;
        } else if (c == Boolean.class || c == boolean.class) {
            return Boolean.TRUE;
        } else if (c.isEnum()) {
            Object[] constants = c.getEnumConstants();
            return constants[constants.length - 1];
        } else if (c == Condition.class || c.getPackageName().startsWith("dev.conntrack.api")) {
            return filled((Class) c);
        }
        throw new IllegalArgumentException("no sample for " + type + ": teach the filler, then NodeStateJson");
    }


    @Test
    void aValueOfTheWrongTypeIsListedAndReadAsUnsetNeverAsZero() throws Exception {
        try (var p = NodeStateJson.FACTORY.createParser("""
                {"metadata":{"name":"n","generation":4},"spec":{"conntrack":{"max":"abc","buckets":{"x":[1,2]},
                 "tcpTimeWait":30,"autoscale":{"enabled":"yes","ceiling":99999999999}},"monitoring":{"usageWarningPercent":90}}}""")) {
            p.nextToken();
            NodeStateJson.Read read = NodeStateJson.read(p);
            ConntrackSettings s = read.state().getSpec().getConntrack();
            assertThat(s.getMax()).isNull();
            assertThat(s.getBuckets()).isNull();
            assertThat(s.getAutoscale().getEnabled()).isNull();
            assertThat(s.getAutoscale().getCeiling()).isNull();
            // Reading went on past them.
            assertThat(s.getTcpTimeWait()).isEqualTo("30");
            assertThat(read.state().getSpec().getMonitoring().getUsageWarningPercent()).isEqualTo(90);
            assertThat(read.problems()).containsExactly(
                    "/spec/conntrack/max: expected a whole number, found \"abc\"",
                    "/spec/conntrack/buckets: expected a whole number, found an object",
                    "/spec/conntrack/autoscale/enabled: expected true or false, found \"yes\"",
                    "/spec/conntrack/autoscale/ceiling: expected a number up to 2147483647 (found 99999999999), found \"99999999999\"");
        }
    }
}
