package dev.conntrack.api;

/** Transport protocol of a notrack rule; lower case, as nftables and NetworkPolicy write it. */
public enum NotrackProtocol {
    udp,
    tcp
}
