package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {

    @ParameterizedTest
    @CsvSource({
            "30s, PT30S",
            "24h, PT24H",
            "1h30m, PT1H30M",
            "500ms, PT0.5S",
            "1.5h, PT1H30M",
            "0.1h, PT6M",
            "90m, PT1H30M",
            "1m1s, PT1M1S",
            "2us, PT0.000002S",
            "7ns, PT0.000000007S",
            "596h, PT596H",
            "1h1h, PT2H"
    })
    void parsesGoDurations(String text, String iso) {
        assertThat(Durations.parse(text)).isEqualTo(Duration.parse(iso));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "30", "0", "s", "1.s", ".5s", "-1s", "1 s", "1d", "1hm", "1h 30m", "1S", "30s ", "1.5.5s", "1.", "1.5"})
    void rejectsWhatTheCrdRejects(String text) {
        assertThatThrownBy(() -> Durations.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("invalid duration")
                .hasMessageContaining("\"" + text + "\"");
    }

    @ParameterizedTest
    @CsvSource({"500ms, 1", "499ms, 0", "1.4s, 1", "1.5s, 2", "2m, 120", "24h, 86400", "1h30m, 5400"})
    void roundsToNearestWholeSecond(String text, long seconds) {
        assertThat(Durations.toKernelSeconds(Durations.parse(text))).isEqualTo(seconds);
    }

    @org.junit.jupiter.api.Test
    void nullIsRejectedWithAMessage() {
        assertThatThrownBy(() -> Durations.parse(null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty");
    }
}
