package dev.conntrack.agent.core;

import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.FailureReason;
import dev.conntrack.kernel.FakeHost;
import dev.conntrack.kernel.KernelSettings;
import dev.conntrack.kernel.ReadResult;
import dev.conntrack.kernel.SysctlFiles;
import dev.conntrack.kernel.WriteResult;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The real SysctlFiles on a fake tree, plus what the fake tree cannot do by itself: the kernel's
 * hashsize handling (a write moves nf_conntrack_buckets, rounded up to 512) and refusals such as
 * EROFS or EINVAL (as root in a temp dir, chmod cannot make a file refuse a write).
 */
final class FakeKernel implements KernelSettings {
    final FakeHost host;
    private final SysctlFiles files;
    private final Map<ConntrackKey, WriteResult> refusals = new EnumMap<>(ConntrackKey.class);
    final List<String> writes = new ArrayList<>();

    FakeKernel(FakeHost host) {
        this.host = host;
        this.files = new SysctlFiles(host.paths());
    }

    void refuse(ConntrackKey key, FailureReason reason, String errnoText) {
        refusals.put(key, WriteResult.failed(reason, errnoText));
    }

    void accept(ConntrackKey key) {
        refusals.remove(key);
    }

    @Override
    public ReadResult read(ConntrackKey key) {
        return files.read(key);
    }

    @Override
    public WriteResult write(ConntrackKey key, String value) {
        WriteResult refusal = refusals.get(key);
        if (refusal != null) {
            return refusal;
        }
        WriteResult result = files.write(key, value);
        if (result.ok()) {
            writes.add(key.fieldName() + "=" + value);
            if (key == ConntrackKey.BUCKETS) {
                long requested = Long.parseLong(value);
                host.set(ConntrackKey.BUCKETS, Long.toString((requested + 511) / 512 * 512));
            }
        }
        return result;
    }
}
