package dev.conntrack.agent;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed values of the agent's JSON reading. A value of the wrong type (a string or an object where
 * a number belongs, in an object written before the schema checked it or under an older CRD) is
 * never guessed (Jackson's getValueAsInt would make "abc" a 0, and max 0 an unlimited table): it
 * reads as unset, is skipped whole, and is listed while a caller collects (see {@link #collect}).
 */
final class JsonValues {
    /** The problems of the read in progress on this thread, or null when nobody collects. */
    private static final ThreadLocal<List<String>> PROBLEMS = new ThreadLocal<>();

    private JsonValues() {
    }

    /** Starts collecting this thread's problems; the list fills as values are read. */
    static List<String> collect() {
        List<String> problems = new ArrayList<>();
        PROBLEMS.set(problems);
        return problems;
    }

    static void stopCollecting() {
        PROBLEMS.remove();
    }

    static String text(JsonParser p) throws IOException {
        return typed(p, p.currentToken().isScalarValue(), "a string") ? p.getValueAsString() : null;
    }

    /** True when the current value is not null and IS_TYPE; false for null, and for a wrong type (then listed). */
    private static boolean typed(JsonParser p, boolean isType, String expected) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return false;
        }
        if (!isType) {
            wrongType(p, expected);
        }
        return isType;
    }

    static Integer intValue(JsonParser p) throws IOException {
        Long v = longValue(p);
        if (v != null && (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE)) {
            return wrongType(p, "a number up to " + Integer.MAX_VALUE + " (found " + v + ")");
        }
        return v == null ? null : v.intValue();
    }

    static Long longValue(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        if (t != JsonToken.VALUE_NUMBER_INT) {
            return wrongType(p, "a whole number");
        }
        try {
            return p.getLongValue();
        } catch (IOException e) {
            return wrongType(p, "a whole number that fits 64 bits");
        }
    }

    static Double doubleValue(JsonParser p) throws IOException {
        return typed(p, p.currentToken().isNumeric(), "a number") ? p.getValueAsDouble() : null;
    }

    static Boolean bool(JsonParser p) throws IOException {
        return typed(p, p.currentToken().isBoolean(), "true or false") ? p.getValueAsBoolean() : null;
    }

    /** An unknown constant (a newer operator's) reads as unset, so the agent keeps its default instead of failing the spec. */
    static <E extends Enum<E>> E enumValue(JsonParser p, Class<E> type) throws IOException {
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

    /** Skips the value (an object or array whole), lists the problem, and reads it as unset. */
    private static <T> T wrongType(JsonParser p, String expected) throws IOException {
        String where = p.getParsingContext().pathAsPointer().toString();
        // From the object's root: "/spec/conntrack/max", not "/object/spec/..." (a watch event) or "/items/0/spec/..." (a list).
        int spec = where.indexOf("/spec/");
        where = spec > 0 ? where.substring(spec) : where;
        String found = p.currentToken().isScalarValue() ? "\"" + abbreviate(p.getText()) + "\"" : "an " + kind(p.currentToken());
        p.skipChildren();
        List<String> problems = PROBLEMS.get();
        if (problems != null) {
            problems.add(where + ": expected " + expected + ", found " + found);
        }
        return null;
    }

    private static String kind(JsonToken t) {
        return t == JsonToken.START_ARRAY ? "array" : "object";
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
