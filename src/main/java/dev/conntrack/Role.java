package dev.conntrack;

import java.util.Locale;

/** The role this process plays, chosen at start-up from {@value #ENV}. */
public enum Role {
    OPERATOR,
    AGENT;

    public static final String ENV = "CONNTRACK_ROLE";

    /** Parses the role; absent means operator, anything unknown is a clear start-up error. */
    public static Role fromEnvironment(String value) {
        if (value == null || value.isBlank()) {
            return OPERATOR;
        }
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "operator" -> OPERATOR;
            case "agent" -> AGENT;
            default -> throw new IllegalArgumentException(
                    ENV + "=" + value + " is not a role: use 'operator' (default) or 'agent'");
        };
    }
}
