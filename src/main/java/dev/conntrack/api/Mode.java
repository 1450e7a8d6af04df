package dev.conntrack.api;

/** Whether the agent writes to the kernel or only reports what it would change. */
public enum Mode {
    Enforce,
    ObserveOnly
}
