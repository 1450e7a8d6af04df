package dev.conntrack.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Compares API objects the way the API server stores them: as JSON. Null fields, empty lists and
 * empty maps are dropped before comparing, because a value we build with {@code []} comes back
 * from the server as {@code []} or as nothing depending on who wrote it last, and neither
 * difference is worth a write.
 */
final class JsonTrees {

    private JsonTrees() {
    }

    /** Null, an empty object and an empty list are all "nothing", and equal to each other. */
    static boolean same(Object a, Object b) {
        return normalized(a).equals(normalized(b));
    }

    static JsonNode normalized(Object value) {
        JsonNode tree = value == null ? null : Serialization.jsonMapper().valueToTree(value);
        return tree == null || prune(tree) ? MissingNode.getInstance() : tree;
    }

    /** Removes null, empty-array and empty-object members, innermost first. */
    private static boolean prune(JsonNode node) {
        if (node instanceof ObjectNode object) {
            List<String> empty = new ArrayList<>();
            Iterator<Map.Entry<String, JsonNode>> fields = object.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> f = fields.next();
                if (prune(f.getValue())) {
                    empty.add(f.getKey());
                }
            }
            object.remove(empty);
            return object.isEmpty();
        }
        if (node instanceof ArrayNode array) {
            // Elements are kept even when empty: their position carries meaning.
            for (JsonNode element : array) {
                prune(element);
            }
            return array.isEmpty();
        }
        return node == null || node.isNull();
    }
}
