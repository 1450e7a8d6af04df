package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/**
 * Defaults live in the schema only (the API server fills them in): a Java default would be sent
 * by every server-side apply of a partial object, e.g. the operator SDK adding its finalizer, and
 * silently take ownership of the user's values.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ConntrackPolicySpec {

    @JsonPropertyDescription("Nodes this policy applies to, as a standard label selector (matchLabels, matchExpressions). Empty or absent selects every node.")
    private NodeSelector nodeSelector;

    @JsonPropertyDescription("Precedence when several policies select the same node: settings are merged field by field and the higher priority wins. Equal priorities with different values are a Conflict, decided by policy name (alphabetically first wins).")
    @Default("0")
    @Min(0)
    @Max(1000)
    private Integer priority;

    @JsonPropertyDescription("Enforce writes the settings to the kernel; ObserveOnly computes and reports what would change and writes nothing.")
    @Default(Defaults.MODE)
    private Mode mode;

    @JsonPropertyDescription("What the agent does when a value changes behind its back (kube-proxy, sysctl -w, sysctl.d): Reapply writes it again and reports ExternalOverride; Report only reports.")
    @Default(Defaults.DRIFT_POLICY)
    private DriftPolicy driftPolicy;

    @JsonPropertyDescription("The conntrack settings to apply. Only these fields map to kernel parameters; there is no free-form sysctl field.")
    private ConntrackSettings conntrack;

    @JsonPropertyDescription("How the agents watch the table on the selected nodes.")
    private MonitoringSpec monitoring;

    @JsonPropertyDescription("How a new generation of this policy reaches the selected nodes: in batches of at most maxUnavailable nodes, pausing when a node of the batch turns Degraded or starts dropping. Absent means maxUnavailable 10% and pauseOnDegraded true.")
    private RolloutSpec rollout;

    public NodeSelector getNodeSelector() { return nodeSelector; }
    public void setNodeSelector(NodeSelector nodeSelector) { this.nodeSelector = nodeSelector; }
    public Integer getPriority() { return priority; }
    public void setPriority(Integer priority) { this.priority = priority; }
    public Mode getMode() { return mode; }
    public void setMode(Mode mode) { this.mode = mode; }
    public DriftPolicy getDriftPolicy() { return driftPolicy; }
    public void setDriftPolicy(DriftPolicy driftPolicy) { this.driftPolicy = driftPolicy; }
    public ConntrackSettings getConntrack() { return conntrack; }
    public void setConntrack(ConntrackSettings conntrack) { this.conntrack = conntrack; }
    public MonitoringSpec getMonitoring() { return monitoring; }
    public void setMonitoring(MonitoringSpec monitoring) { this.monitoring = monitoring; }
    public RolloutSpec getRollout() { return rollout; }
    public void setRollout(RolloutSpec rollout) { this.rollout = rollout; }
}
