package dev.conntrack.kernel;

/** Why the kernel refused a read or a write, named after what an operator can do about it. */
public enum FailureReason {
    /** EROFS: /proc/sys or /sys mounted read-only (kind, LXC, some hardened nodes). */
    ReadOnlyFileSystem,
    /**
     * EACCES/EPERM: not in the initial network namespace (the file is 0444 there) or missing
     * CAP_NET_ADMIN. Also EOPNOTSUPP, which is how the hashsize module parameter refuses a write
     * from any other network namespace.
     */
    PermissionDenied,
    /** EINVAL: the kernel rejected the value (out of range). */
    InvalidValue,
    /** The file does not exist: nf_conntrack not loaded (yet), or a kernel without this parameter. */
    NotFound,
    /** The write was accepted but reading back shows another value. */
    NotVerified,
    Other
}
