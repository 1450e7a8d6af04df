package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Observed state of one node, written only by that node's agent. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ConntrackNodeStateStatus {
    @JsonPropertyDescription("The metadata.generation of the spec the agent last acted on.")
    private Long observedGeneration;

    @JsonPropertyDescription("Applied, Degraded, TableFull and Pressure, with CamelCase reasons.")
    private List<Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("Table size and usage at the last poll.")
    private TableUsage usage;

    @JsonPropertyDescription("Drop and error counters at the last poll.")
    private DropCounters counters;

    @JsonPropertyDescription("Live kernel value of every managed setting (conntrack field name -> raw kernel value; timeouts in seconds).")
    private Map<String, String> current;

    @JsonPropertyDescription("Kernel value of each setting before the agent first changed it; written back when the setting leaves the spec.")
    private Map<String, String> originals;

    @JsonPropertyDescription("ObserveOnly: settings that differ from the spec and would be written in Enforce mode (field -> desired value).")
    private Map<String, String> pending;

    @JsonPropertyDescription("Limits the agent raised by itself (conntrack.autoscale), and whether a ceiling or memory budget holds further raises back.")
    private AutoRaiseStatus autoRaise;

    @JsonPropertyDescription("The notrack rules (conntrack.notrack) in the node's own nftables table: what is installed, or would be, or why not.")
    private NotrackStatus notrack;

    @JsonPropertyDescription("The node's network namespaces with the largest tables and the most drops (at most 5), pods included.")
    private List<NamespaceSummary> namespaces;

    @JsonPropertyDescription("The last listing of the table taken on pressure or on request (annotation conntrack.dev/explain), with advice.")
    private TableExplanation explanation;

    @JsonPropertyDescription("Signals the agent cannot read on this node, e.g. /dev/kmsg without CAP_SYSLOG.")
    private List<String> unavailableSignals;

    @JsonPropertyDescription("When the kernel last dropped a packet because the table was full (RFC 3339).")
    private String lastTableFullTime;

    @JsonPropertyDescription("Version of the agent that wrote this status.")
    private String agentVersion;

    @JsonPropertyDescription("When the agent last wrote this status (RFC 3339); at least once per heartbeat interval.")
    private String heartbeatTime;

    public Long getObservedGeneration() { return observedGeneration; }
    public void setObservedGeneration(Long observedGeneration) { this.observedGeneration = observedGeneration; }
    public List<Condition> getConditions() { return conditions; }
    public void setConditions(List<Condition> conditions) { this.conditions = conditions; }
    public TableUsage getUsage() { return usage; }
    public void setUsage(TableUsage usage) { this.usage = usage; }
    public DropCounters getCounters() { return counters; }
    public void setCounters(DropCounters counters) { this.counters = counters; }
    public Map<String, String> getCurrent() { return current; }
    public void setCurrent(Map<String, String> current) { this.current = current; }
    public Map<String, String> getOriginals() { return originals; }
    public void setOriginals(Map<String, String> originals) { this.originals = originals; }
    public Map<String, String> getPending() { return pending; }
    public void setPending(Map<String, String> pending) { this.pending = pending; }
    public AutoRaiseStatus getAutoRaise() { return autoRaise; }
    public void setAutoRaise(AutoRaiseStatus autoRaise) { this.autoRaise = autoRaise; }
    public NotrackStatus getNotrack() { return notrack; }
    public void setNotrack(NotrackStatus notrack) { this.notrack = notrack; }
    public List<NamespaceSummary> getNamespaces() { return namespaces; }
    public void setNamespaces(List<NamespaceSummary> namespaces) { this.namespaces = namespaces; }
    public TableExplanation getExplanation() { return explanation; }
    public void setExplanation(TableExplanation explanation) { this.explanation = explanation; }
    public List<String> getUnavailableSignals() { return unavailableSignals; }
    public void setUnavailableSignals(List<String> unavailableSignals) { this.unavailableSignals = unavailableSignals; }
    public String getLastTableFullTime() { return lastTableFullTime; }
    public void setLastTableFullTime(String lastTableFullTime) { this.lastTableFullTime = lastTableFullTime; }
    public String getAgentVersion() { return agentVersion; }
    public void setAgentVersion(String agentVersion) { this.agentVersion = agentVersion; }
    public String getHeartbeatTime() { return heartbeatTime; }
    public void setHeartbeatTime(String heartbeatTime) { this.heartbeatTime = heartbeatTime; }
}
