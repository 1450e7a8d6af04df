package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** How many selected nodes are in which state; counts, never lists, so the status stays small at any fleet size. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class NodeCounts {
    @JsonPropertyDescription("Nodes this policy selects.")
    private int selected;

    @JsonPropertyDescription("Selected nodes whose agent reports the current settings Applied (for an Enforce policy: written to the kernel, not only observed).")
    private int applied;

    @JsonPropertyDescription("Selected nodes whose agent reports Degraded (the kernel refused a write).")
    private int failed;

    @JsonPropertyDescription("Enforce policies only: selected nodes where a higher-priority ObserveOnly policy sets the mode, so nothing of this policy is written there (they count neither as applied nor as failed).")
    private int heldByObserveOnly;

    @JsonPropertyDescription("Selected nodes whose table usage is above the warning percent.")
    private int underPressure;

    @JsonPropertyDescription("Selected nodes whose kernel dropped packets because the table was full in the last interval.")
    private int dropping;

    public int getSelected() { return selected; }
    public void setSelected(int selected) { this.selected = selected; }
    public int getApplied() { return applied; }
    public void setApplied(int applied) { this.applied = applied; }
    public int getFailed() { return failed; }
    public void setFailed(int failed) { this.failed = failed; }
    public int getHeldByObserveOnly() { return heldByObserveOnly; }
    public void setHeldByObserveOnly(int heldByObserveOnly) { this.heldByObserveOnly = heldByObserveOnly; }
    public int getUnderPressure() { return underPressure; }
    public void setUnderPressure(int underPressure) { this.underPressure = underPressure; }
    public int getDropping() { return dropping; }
    public void setDropping(int dropping) { this.dropping = dropping; }
}
