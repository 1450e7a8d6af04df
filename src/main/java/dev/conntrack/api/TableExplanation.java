package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.List;
import java.util.Map;

/**
 * What the table held the last time the agent listed it (on pressure, at most every few minutes,
 * or on request): the breakdown the classic conntrack -L | awk diagnosis gives, and advice.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TableExplanation {
    @JsonPropertyDescription("When the table was listed (RFC 3339).")
    private String time;

    @JsonPropertyDescription("Which table: the node's own (initial) network namespace, or net:[INODE] of another one.")
    private String namespace;

    @JsonPropertyDescription("Entries listed; truncated says whether the listing stopped at its time or size bound.")
    private Long entries;

    @JsonPropertyDescription("The listing stopped at its time or entry bound: shares are of what was listed.")
    private Boolean truncated;

    @JsonPropertyDescription("Entries by TCP state (TIME_WAIT, ESTABLISHED, ...).")
    private Map<String, Long> byTcpState;

    @JsonPropertyDescription("Entries by layer-4 protocol.")
    private Map<String, Long> byProtocol;

    @JsonPropertyDescription("Percent of entries marked ASSURED (never evicted early: the table stays full until they expire).")
    private Double assuredPercent;

    @JsonPropertyDescription("Top source addresses of the original direction, as ADDRESS=COUNT.")
    private List<String> topSources;

    @JsonPropertyDescription("Top destination addresses of the original direction, as ADDRESS=COUNT.")
    private List<String> topDestinations;

    @JsonPropertyDescription("Top destination ports of the original direction, as PORT=COUNT.")
    private List<String> topDestinationPorts;

    @JsonPropertyDescription("Advice derived from the listing, e.g. a shorter tcpTimeWait and the entries it frees.")
    private List<String> recommendations;

    public String getTime() { return time; }
    public void setTime(String time) { this.time = time; }
    public String getNamespace() { return namespace; }
    public void setNamespace(String namespace) { this.namespace = namespace; }
    public Long getEntries() { return entries; }
    public void setEntries(Long entries) { this.entries = entries; }
    public Boolean getTruncated() { return truncated; }
    public void setTruncated(Boolean truncated) { this.truncated = truncated; }
    public Map<String, Long> getByTcpState() { return byTcpState; }
    public void setByTcpState(Map<String, Long> byTcpState) { this.byTcpState = byTcpState; }
    public Map<String, Long> getByProtocol() { return byProtocol; }
    public void setByProtocol(Map<String, Long> byProtocol) { this.byProtocol = byProtocol; }
    public Double getAssuredPercent() { return assuredPercent; }
    public void setAssuredPercent(Double assuredPercent) { this.assuredPercent = assuredPercent; }
    public List<String> getTopSources() { return topSources; }
    public void setTopSources(List<String> topSources) { this.topSources = topSources; }
    public List<String> getTopDestinations() { return topDestinations; }
    public void setTopDestinations(List<String> topDestinations) { this.topDestinations = topDestinations; }
    public List<String> getTopDestinationPorts() { return topDestinationPorts; }
    public void setTopDestinationPorts(List<String> topDestinationPorts) { this.topDestinationPorts = topDestinationPorts; }
    public List<String> getRecommendations() { return recommendations; }
    public void setRecommendations(List<String> recommendations) { this.recommendations = recommendations; }
}
