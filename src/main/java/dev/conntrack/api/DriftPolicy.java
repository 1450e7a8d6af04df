package dev.conntrack.api;

/** What the agent does when a kernel value changes behind its back. */
public enum DriftPolicy {
    Reapply,
    Report
}
