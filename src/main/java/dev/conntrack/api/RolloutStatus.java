package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.List;

/** Where the rollout of the policy's current generation stands: counts and at most 5 names, at any fleet size. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class RolloutStatus {
    @JsonPropertyDescription("The policy generation being rolled out.")
    private Long generation;

    @JsonPropertyDescription("rollout.maxUnavailable resolved against the selected nodes: how many may be in flight at once.")
    private Integer maxUnavailable;

    @JsonPropertyDescription("Selected nodes that took this generation and reported Applied for it.")
    private int updatedNodes;

    @JsonPropertyDescription("Selected nodes that took this generation and have not reported it yet.")
    private int inFlightNodes;

    @JsonPropertyDescription("Selected nodes that took this generation and reported Degraded for it.")
    private int failedNodes;

    @JsonPropertyDescription("Selected nodes still on an earlier generation (or, for a new policy, without its settings), waiting for their batch.")
    private int pendingNodes;

    @JsonPropertyDescription("Selected nodes where a higher-priority ObserveOnly policy sets the mode: they carry this generation but write none of it, and go in batches once that policy leaves them.")
    private int heldNodes;

    @JsonPropertyDescription("True when the rollout stopped because a node turned Degraded or TableFull after taking this generation.")
    private Boolean paused;

    @JsonPropertyDescription("Up to 5 nodes that paused the rollout.")
    private List<String> pausedNodes;

    @JsonPropertyDescription("When the rollout paused (RFC 3339).")
    private String pausedAt;

    @JsonPropertyDescription("The value of the annotation conntrack.dev/resume-rollout last acted on; set it to a different value to resume.")
    private String resumedWith;

    @JsonPropertyDescription("When the rollout was last resumed (RFC 3339); trouble that began before it no longer pauses.")
    private String resumedAt;

    public Long getGeneration() { return generation; }
    public void setGeneration(Long generation) { this.generation = generation; }
    public Integer getMaxUnavailable() { return maxUnavailable; }
    public void setMaxUnavailable(Integer maxUnavailable) { this.maxUnavailable = maxUnavailable; }
    public int getUpdatedNodes() { return updatedNodes; }
    public void setUpdatedNodes(int updatedNodes) { this.updatedNodes = updatedNodes; }
    public int getInFlightNodes() { return inFlightNodes; }
    public void setInFlightNodes(int inFlightNodes) { this.inFlightNodes = inFlightNodes; }
    public int getFailedNodes() { return failedNodes; }
    public void setFailedNodes(int failedNodes) { this.failedNodes = failedNodes; }
    public int getPendingNodes() { return pendingNodes; }
    public void setPendingNodes(int pendingNodes) { this.pendingNodes = pendingNodes; }
    public int getHeldNodes() { return heldNodes; }
    public void setHeldNodes(int heldNodes) { this.heldNodes = heldNodes; }
    public Boolean getPaused() { return paused; }
    public void setPaused(Boolean paused) { this.paused = paused; }
    public List<String> getPausedNodes() { return pausedNodes; }
    public void setPausedNodes(List<String> pausedNodes) { this.pausedNodes = pausedNodes; }
    public String getPausedAt() { return pausedAt; }
    public void setPausedAt(String pausedAt) { this.pausedAt = pausedAt; }
    public String getResumedWith() { return resumedWith; }
    public void setResumedWith(String resumedWith) { this.resumedWith = resumedWith; }
    public String getResumedAt() { return resumedAt; }
    public void setResumedAt(String resumedAt) { this.resumedAt = resumedAt; }

    public boolean isPaused() {
        return Boolean.TRUE.equals(paused);
    }
}
