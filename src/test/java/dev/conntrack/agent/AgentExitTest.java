package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** An error that kills one of the agent's threads ends the whole process (issue 15.1). */
class AgentExitTest {
    @Test
    void anUncaughtErrorInAnAgentThreadEndsTheProcess() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
                UncaughtErrorMain.class.getName())).redirectErrorStream(true).start();
        boolean ended = p.waitFor(30, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readAllBytes());
        if (!ended) {
            p.destroyForcibly();
        }
        assertThat(ended).as("the process ended (its main thread sleeps a minute): " + out).isTrue();
        assertThat(p.exitValue()).isEqualTo(70);
        assertThat(out).contains("uncaught in conntrack-poll; exiting").contains("NoClassDefFoundError");
    }
}
