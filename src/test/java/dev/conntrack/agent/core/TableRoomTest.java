package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TableRoomTest {
    @Test
    void roomIsRegainedOncePerEpisodeAfterAFullTable() {
        TableRoom room = new TableRoom();
        assertThat(room.regained(500, 1000)).as("never full: nothing regained").isFalse();
        assertThat(room.regained(1000, 1000)).isFalse();
        assertThat(room.regained(960, 1000)).as("still at the edge").isFalse();
        assertThat(room.regained(949, 1000)).isTrue();
        assertThat(room.regained(400, 1000)).as("once per episode").isFalse();
        assertThat(room.regained(995, 1000)).isFalse();
        assertThat(room.regained(1000, 131072)).as("a raise gives room too").isTrue();
    }

    @Test
    void anUnknownMaxSaysNothing() {
        TableRoom room = new TableRoom();
        assertThat(room.regained(1000, 0)).isFalse();
        assertThat(room.regained(0, 0)).isFalse();
    }
}
