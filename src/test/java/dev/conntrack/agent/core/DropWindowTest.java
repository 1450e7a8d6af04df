package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class DropWindowTest {
    private static final Duration SECOND = Duration.ofSeconds(1);
    private static final long MS = 1_000_000;

    private static DropRate drops(long n) {
        return new DropRate(Duration.ofMillis(200), OptionalLong.of(n), OptionalDouble.of(n * 5.0), OptionalLong.of(0));
    }

    @Test
    void dropsSeenWithinTheWindowKeepTheTableFullUntilTheWindowPasses() {
        DropWindow window = new DropWindow();
        assertThat(window.forConditions(drops(0), 0, SECOND).tableFull()).isFalse();
        DropRate dropping = drops(500);
        assertThat(window.forConditions(dropping, 100 * MS, SECOND)).isSameAs(dropping);
        // Faster polls without new drops: still the episode.
        assertThat(window.forConditions(drops(0), 300 * MS, SECOND)).isSameAs(dropping);
        assertThat(window.forConditions(drops(0), 1099 * MS, SECOND)).isSameAs(dropping);
        // A full interval without drops: over.
        assertThat(window.forConditions(drops(0), 1100 * MS, SECOND).tableFull()).isFalse();
        assertThat(window.forConditions(drops(0), 1300 * MS, SECOND).tableFull()).isFalse();
    }

    @Test
    void newDropsRestartTheWindow() {
        DropWindow window = new DropWindow();
        window.forConditions(drops(10), 0, SECOND);
        DropRate later = drops(20);
        assertThat(window.forConditions(later, 900 * MS, SECOND)).isSameAs(later);
        assertThat(window.forConditions(drops(0), 1800 * MS, SECOND)).isSameAs(later);
        assertThat(window.forConditions(drops(0), 1900 * MS, SECOND).tableFull()).isFalse();
    }
}
