package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.kernel.FakeHost;
import dev.conntrack.kernel.FakeNft;
import dev.conntrack.kernel.NftablesNotrack;
import dev.conntrack.kernel.OriginalsStore;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one enforcer: kernel values and notrack rules from one intent. */
class EnforcerTest {
    @Test
    void anUnknownSpecNeverTouchesTheNotrackTable(@TempDir Path dir) {
        FakeHost host = FakeHost.withConntrack(dir.resolve("host"));
        FakeNft nft = new FakeNft();
        Enforcer enforcer = new Enforcer(new SettingsApplier(new FakeKernel(host),
                OriginalsStore.open(dir.resolve("originals"), null)), new NotrackEnforcer(new NftablesNotrack(nft, List.of("nft")), () -> 0L));

        Enforcer.Result unknown = enforcer.enforce(Enforcer.Intent.UNKNOWN);
        assertThat(unknown.notrack()).isEqualTo(NotrackEnforcer.Outcome.NONE);
        assertThat(nft.commands).as("no nft run before the spec is known").isEmpty();

        // A known spec without rules looks (and would remove a table of ours).
        enforcer.enforce(new Enforcer.Intent(true, DesiredValues.NONE, Mode.Enforce, DriftPolicy.Reapply, null));
        assertThat(nft.commands).isNotEmpty();
    }
}
