package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** One of the node's network namespaces with the largest tables or the most drops. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class NamespaceSummary {
    @JsonPropertyDescription("The namespace's inode, as in net:[INODE] (ls -l /proc/PID/ns/net).")
    private Long inode;

    @JsonPropertyDescription("A process in that namespace (the one its counters were read through).")
    private Long pid;

    @JsonPropertyDescription("True for the node's own (initial) network namespace.")
    private Boolean initial;

    @JsonPropertyDescription("UID of the pod that owns the namespace, from the process's cgroup, when it is in a pod.")
    private String podUid;

    @JsonPropertyDescription("namespace/name of that pod, from the kubelet's pod log folder (/var/log/pods/NAMESPACE_NAME_UID) on the node; absent when none names the UID.")
    private String pod;

    @JsonPropertyDescription("Entries in this namespace's conntrack table (each namespace has its own, each limited by the global max).")
    private Long entries;

    @JsonPropertyDescription("Packets this namespace dropped because its table was full, since it was created.")
    private Long drops;

    public Long getInode() { return inode; }
    public void setInode(Long inode) { this.inode = inode; }
    public Long getPid() { return pid; }
    public void setPid(Long pid) { this.pid = pid; }
    public Boolean getInitial() { return initial; }
    public void setInitial(Boolean initial) { this.initial = initial; }
    public String getPodUid() { return podUid; }
    public void setPodUid(String podUid) { this.podUid = podUid; }
    public String getPod() { return pod; }
    public void setPod(String pod) { this.pod = pod; }
    public Long getEntries() { return entries; }
    public void setEntries(Long entries) { this.entries = entries; }
    public Long getDrops() { return drops; }
    public void setDrops(Long drops) { this.drops = drops; }
}
