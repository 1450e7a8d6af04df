package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.Objects;

/**
 * Traffic the node must not track: packets to PORT (or the range PORT-ENDPORT), optionally only to
 * CIDR, and the replies from there. The agent exempts both directions, because a reply that is
 * tracked creates an entry as surely as the request would.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!has(self.endPort) || self.endPort >= self.port",
        message = "conntrack.notrack[].endPort must be at least port")
public class NotrackRule {

    @JsonPropertyDescription("udp or tcp.")
    @Required
    private NotrackProtocol protocol;

    @JsonPropertyDescription("Destination port of the requests (the replies come from it), 1 to 65535.")
    @Required
    @Min(1)
    @Max(65535)
    private Integer port;

    @JsonPropertyDescription("Last port of a range port..endPort (like NetworkPolicy's endPort); absent means the single port.")
    @Min(1)
    @Max(65535)
    private Integer endPort;

    @JsonPropertyDescription("Only requests to this IPv4 or IPv6 network (and replies from it), e.g. 169.254.20.10/32 for a node-local DNS cache; written as a network address (no host bits set). Absent: any address of both families.")
    @Size(max = 43)
    @ValidationRule(value = "isCIDR(self) && cidr(self) == cidr(self).masked()",
            message = "conntrack.notrack[].cidr must be an IPv4 or IPv6 network such as 10.96.0.0/12 or fd00::/64, with no host bits set")
    private String cidr;

    public NotrackRule() {
    }

    public NotrackRule(NotrackProtocol protocol, Integer port, Integer endPort, String cidr) {
        this.protocol = protocol;
        this.port = port;
        this.endPort = endPort;
        this.cidr = cidr;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NotrackRule r && protocol == r.protocol && Objects.equals(port, r.port)
                && Objects.equals(endPort, r.endPort) && Objects.equals(cidr, r.cidr);
    }

    @Override
    public int hashCode() {
        return Objects.hash(protocol, port, endPort, cidr);
    }

    @Override
    public String toString() {
        return protocol + " " + port + (endPort == null || endPort.equals(port) ? "" : "-" + endPort)
                + (cidr == null ? "" : " " + cidr);
    }

    public NotrackProtocol getProtocol() { return protocol; }
    public void setProtocol(NotrackProtocol protocol) { this.protocol = protocol; }
    public Integer getPort() { return port; }
    public void setPort(Integer port) { this.port = port; }
    public Integer getEndPort() { return endPort; }
    public void setEndPort(Integer endPort) { this.endPort = endPort; }
    public String getCidr() { return cidr; }
    public void setCidr(String cidr) { this.cidr = cidr; }
}
