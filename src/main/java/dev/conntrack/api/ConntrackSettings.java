package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/**
 * The conntrack settings of a policy, and (with maxPerCore already turned into max) the effective
 * settings of one node. Every field maps to one allow-listed kernel parameter.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!(has(self.max) && has(self.maxPerCore))",
        message = "conntrack.max and conntrack.maxPerCore are mutually exclusive: set an absolute max or a per-core size")
@ValidationRule(value = "!has(self.min) || has(self.maxPerCore)",
        message = "conntrack.min only applies together with conntrack.maxPerCore")
@ValidationRule(value = "!has(self.autoscale) || !has(self.autoscale.ceiling) || !has(self.max) || self.autoscale.ceiling >= self.max",
        message = "conntrack.autoscale.ceiling must be at least conntrack.max")
public class ConntrackSettings {
    /** Go-style duration, whole range the kernel's jiffies-based sysctls accept at HZ=1000 (about 24.8 days). */
    static final String DURATION_RULE = "self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) >= duration('1s') && duration(self) <= duration('596h')";
    static final String DURATION_MESSAGE = "must be a duration such as \"30s\" or \"24h\", between 1s and 596h";
    /** The kernel's hash table limit for nf_conntrack hashsize that we accept (2^26 buckets, 512 MiB of heads). */
    public static final int MAX_BUCKETS = 67108864;
    /** Each rule becomes four nftables rules (request and reply, prerouting and output). */
    public static final int MAX_NOTRACK_RULES = 32;

    @JsonPropertyDescription("Absolute table size: net.netfilter.nf_conntrack_max. Mutually exclusive with maxPerCore.")
    @Min(1)
    @Max(2147483647)
    private Integer max;

    @JsonPropertyDescription("Table size per CPU core of the node (like kube-proxy's conntrack.maxPerCore): max = maxPerCore x cores, at least min. Mutually exclusive with max.")
    @Min(1)
    @Max(16777216)
    private Integer maxPerCore;

    @JsonPropertyDescription("Lower bound of the per-core sizing (like kube-proxy's conntrack.min). Only with maxPerCore.")
    @Min(1)
    @Max(2147483647)
    private Integer min;

    @JsonPropertyDescription("Hash table buckets: /sys/module/nf_conntrack/parameters/hashsize. 1 to 67108864; kube-proxy uses max/4.")
    @Min(1)
    @Max(MAX_BUCKETS)
    private Integer buckets;

    @JsonPropertyDescription("Timeout for established TCP connections (kernel default 5 days; kube-proxy sets 24h), as a duration (\"30s\", \"24h\"), 1s to 596h. Sets net.netfilter.nf_conntrack_tcp_timeout_established (whole seconds).")
    @Size(max = 32)
    @ValidationRule(value = DURATION_RULE, message = "conntrack.tcpEstablished " + DURATION_MESSAGE)
    private String tcpEstablished;

    @JsonPropertyDescription("Timeout for TCP connections in TIME_WAIT (kernel default 120s); the usual culprit when a NAT table fills with closed connections, as a duration (\"30s\", \"24h\"), 1s to 596h. Sets net.netfilter.nf_conntrack_tcp_timeout_time_wait (whole seconds).")
    @Size(max = 32)
    @ValidationRule(value = DURATION_RULE, message = "conntrack.tcpTimeWait " + DURATION_MESSAGE)
    private String tcpTimeWait;

    @JsonPropertyDescription("Timeout for TCP connections in CLOSE_WAIT (kernel default 60s; kube-proxy sets 1h), as a duration (\"30s\", \"24h\"), 1s to 596h. Sets net.netfilter.nf_conntrack_tcp_timeout_close_wait (whole seconds).")
    @Size(max = 32)
    @ValidationRule(value = DURATION_RULE, message = "conntrack.tcpCloseWait " + DURATION_MESSAGE)
    private String tcpCloseWait;

    @JsonPropertyDescription("Timeout for TCP connections in SYN_SENT (kernel default 120s), as a duration (\"30s\", \"24h\"), 1s to 596h. Sets net.netfilter.nf_conntrack_tcp_timeout_syn_sent (whole seconds).")
    @Size(max = 32)
    @ValidationRule(value = DURATION_RULE, message = "conntrack.tcpSynSent " + DURATION_MESSAGE)
    private String tcpSynSent;

    @JsonPropertyDescription("Timeout for TCP connections in SYN_RECV (kernel default 60s), as a duration (\"30s\", \"24h\"), 1s to 596h. Sets net.netfilter.nf_conntrack_tcp_timeout_syn_recv (whole seconds).")
    @Size(max = 32)
    @ValidationRule(value = DURATION_RULE, message = "conntrack.tcpSynRecv " + DURATION_MESSAGE)
    private String tcpSynRecv;

    @JsonPropertyDescription("Timeout for TCP connections in FIN_WAIT (kernel default 120s), as a duration (\"30s\", \"24h\"), 1s to 596h. Sets net.netfilter.nf_conntrack_tcp_timeout_fin_wait (whole seconds).")
    @Size(max = 32)
    @ValidationRule(value = DURATION_RULE, message = "conntrack.tcpFinWait " + DURATION_MESSAGE)
    private String tcpFinWait;

    @JsonPropertyDescription("Timeout for UDP flows seen in one direction only (kernel default 30s), as a duration (\"30s\", \"24h\"), 1s to 596h. Sets net.netfilter.nf_conntrack_udp_timeout (whole seconds).")
    @Size(max = 32)
    @ValidationRule(value = DURATION_RULE, message = "conntrack.udp " + DURATION_MESSAGE)
    private String udp;

    @JsonPropertyDescription("Timeout for UDP flows seen in both directions (kernel default 120s), as a duration (\"30s\", \"24h\"), 1s to 596h. Sets net.netfilter.nf_conntrack_udp_timeout_stream (whole seconds).")
    @Size(max = 32)
    @ValidationRule(value = DURATION_RULE, message = "conntrack.udpStream " + DURATION_MESSAGE)
    private String udpStream;

    @JsonPropertyDescription("Timeout for other protocols (kernel default 600s), as a duration (\"30s\", \"24h\"), 1s to 596h. Sets net.netfilter.nf_conntrack_generic_timeout (whole seconds).")
    @Size(max = 32)
    @ValidationRule(value = DURATION_RULE, message = "conntrack.generic " + DURATION_MESSAGE)
    private String generic;

    @JsonPropertyDescription("net.netfilter.nf_conntrack_tcp_be_liberal: accept out-of-window TCP packets instead of marking them INVALID (helps with some cloud load balancers).")
    private Boolean tcpBeLiberal;

    @JsonPropertyDescription("Let the agent raise max (and buckets) by itself when usage crosses a watermark or drops appear, within a ceiling and a memory budget. Raised values are reported in the node state and restored like any applied value.")
    private AutoscaleSpec autoscale;

    @JsonPropertyDescription("net.netfilter.nf_conntrack_tcp_loose: pick up already established TCP connections (kernel default true).")
    private Boolean tcpLoose;

    @JsonPropertyDescription("Opt-in stateless traffic: packets to these ports (and the replies) skip conntrack entirely, through notrack rules the agent keeps in its own nftables table (inet conntrack_operator, raw priority). For traffic that needs no state, e.g. DNS to a node-local cache. Such traffic gets no NAT and no conntrack-based filtering (kube-proxy Services, many NetworkPolicy implementations): see docs/notrack.md. Taken whole from the highest-priority policy that sets it; an empty list removes the rules from the selected nodes.")
    @Size(max = MAX_NOTRACK_RULES)
    private List<NotrackRule> notrack;

    public Integer getMax() { return max; }
    public void setMax(Integer max) { this.max = max; }
    public Integer getMaxPerCore() { return maxPerCore; }
    public void setMaxPerCore(Integer maxPerCore) { this.maxPerCore = maxPerCore; }
    public Integer getMin() { return min; }
    public void setMin(Integer min) { this.min = min; }
    public Integer getBuckets() { return buckets; }
    public void setBuckets(Integer buckets) { this.buckets = buckets; }
    public String getTcpEstablished() { return tcpEstablished; }
    public void setTcpEstablished(String tcpEstablished) { this.tcpEstablished = tcpEstablished; }
    public String getTcpTimeWait() { return tcpTimeWait; }
    public void setTcpTimeWait(String tcpTimeWait) { this.tcpTimeWait = tcpTimeWait; }
    public String getTcpCloseWait() { return tcpCloseWait; }
    public void setTcpCloseWait(String tcpCloseWait) { this.tcpCloseWait = tcpCloseWait; }
    public String getTcpSynSent() { return tcpSynSent; }
    public void setTcpSynSent(String tcpSynSent) { this.tcpSynSent = tcpSynSent; }
    public String getTcpSynRecv() { return tcpSynRecv; }
    public void setTcpSynRecv(String tcpSynRecv) { this.tcpSynRecv = tcpSynRecv; }
    public String getTcpFinWait() { return tcpFinWait; }
    public void setTcpFinWait(String tcpFinWait) { this.tcpFinWait = tcpFinWait; }
    public String getUdp() { return udp; }
    public void setUdp(String udp) { this.udp = udp; }
    public String getUdpStream() { return udpStream; }
    public void setUdpStream(String udpStream) { this.udpStream = udpStream; }
    public String getGeneric() { return generic; }
    public void setGeneric(String generic) { this.generic = generic; }
    public Boolean getTcpBeLiberal() { return tcpBeLiberal; }
    public void setTcpBeLiberal(Boolean tcpBeLiberal) { this.tcpBeLiberal = tcpBeLiberal; }
    public AutoscaleSpec getAutoscale() { return autoscale; }
    public void setAutoscale(AutoscaleSpec autoscale) { this.autoscale = autoscale; }
    public List<NotrackRule> getNotrack() { return notrack; }
    public void setNotrack(List<NotrackRule> notrack) { this.notrack = notrack; }
    public Boolean getTcpLoose() { return tcpLoose; }
    public void setTcpLoose(Boolean tcpLoose) { this.tcpLoose = tcpLoose; }
}
