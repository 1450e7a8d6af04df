package dev.conntrack.kernel;

/**
 * Traffic to exempt from connection tracking, as nftables matches it: a protocol ("udp" or
 * "tcp"), a port range and an optional network. The agent builds these from the node's spec.
 *
 * @param cidr a network in CIDR notation, or null for any address
 */
public record NotrackMatch(String protocol, int port, int endPort, String cidr) {
    public NotrackMatch {
        if (!"udp".equals(protocol) && !"tcp".equals(protocol)) {
            throw new IllegalArgumentException("protocol must be udp or tcp, not " + protocol);
        }
        if (port < 1 || port > 65535 || endPort < port || endPort > 65535) {
            throw new IllegalArgumentException("ports must be 1-65535 with endPort >= port, not " + port + "-" + endPort);
        }
    }

    /** ENDPORT null or equal to PORT: that one port. */
    public static NotrackMatch of(String protocol, int port, Integer endPort, String cidr) {
        return new NotrackMatch(protocol, port, endPort == null ? port : endPort, cidr);
    }

    /** "udp 53 169.254.20.10/32", "tcp 30000-30100": how status and events name the rule. */
    @Override
    public String toString() {
        return protocol + " " + port + (endPort == port ? "" : "-" + endPort) + (cidr == null ? "" : " " + cidr);
    }
}
