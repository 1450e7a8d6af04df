package dev.conntrack.agent;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * The API server's list and watch bodies for node states, read with the streaming parser: the
 * agent keeps no object mapper (memory), and a watch body is read event by event as it arrives.
 */
final class NodeStateWatchJson {
    private NodeStateWatchJson() {
    }

    /** A list's resourceVersion, and its item named as the node (null when there is none). */
    record Listed(String resourceVersion, NodeStateJson.Read item) {
    }

    /** One watch event: its type, its node state (null for an ERROR), and an ERROR's code and message. */
    record Event(String type, NodeStateJson.Read object, int code, String message) {
    }

    static Listed list(String body, String nodeName) throws IOException {
        String version = null;
        NodeStateJson.Read found = null;
        try (JsonParser p = NodeStateJson.FACTORY.createParser(body)) {
            expect(p.nextToken(), JsonToken.START_OBJECT);
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("metadata")) {
                    version = NodeStateJson.readMetadata(p).getResourceVersion();
                } else if (field.equals("items") && value == JsonToken.START_ARRAY) {
                    while (p.nextToken() == JsonToken.START_OBJECT) {
                        NodeStateJson.Read item = NodeStateJson.read(p);
                        if (nodeName.equals(item.state().getMetadata().getName())) {
                            found = item;
                        }
                    }
                } else {
                    p.skipChildren();
                }
            }
        }
        return new Listed(version, found);
    }

    /** One watch event; the parser is at its START_OBJECT. The API server writes "type" before "object". */
    static Event event(JsonParser p) throws IOException {
        String type = null;
        NodeStateJson.Read object = null;
        String error = null;
        int code = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            if (field.equals("type")) {
                type = p.getValueAsString();
            } else if (field.equals("object") && p.currentToken() == JsonToken.START_OBJECT && !"ERROR".equals(type)) {
                object = NodeStateJson.read(p);
            } else if (field.equals("object") && p.currentToken() == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String f = p.currentName();
                    p.nextToken();
                    if (f.equals("code")) {
                        code = p.getValueAsInt();
                    } else if (f.equals("message")) {
                        error = p.getValueAsString();
                    } else {
                        p.skipChildren();
                    }
                }
            } else {
                p.skipChildren();
            }
        }
        return new Event(type, object, code, error);
    }

    static void expect(JsonToken token, JsonToken expected) throws IOException {
        if (token != expected) {
            throw new IOException("unexpected JSON from the API server: " + token + " instead of " + expected);
        }
    }
}
