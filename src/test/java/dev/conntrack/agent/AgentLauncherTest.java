package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which jars of a fast-jar layout the agent's class path takes. */
class AgentLauncherTest {
    @TempDir
    Path root;

    private Path layout(String... libJars) throws IOException {
        Path app = Files.createDirectories(root.resolve("app")).resolve("conntrack-operator-1.0.jar");
        Files.createFile(app);
        Path lib = Files.createDirectories(root.resolve("lib/main"));
        for (String jar : libJars) {
            Files.createFile(lib.resolve(jar));
        }
        return app;
    }

    private static final String[] NEEDED = {
        "com.fasterxml.jackson.core.jackson-core-2.21.2.jar",
        "com.fasterxml.jackson.core.jackson-databind-2.21.2.jar",
        "com.fasterxml.jackson.core.jackson-annotations-2.21.jar",
        "io.prometheus.prometheus-metrics-core-1.3.10.jar",
        "io.prometheus.prometheus-metrics-model-1.3.10.jar",
        "org.yaml.snakeyaml-2.5.jar",
        "io.fabric8.kubernetes-model-common-7.5.2.jar",
        "io.fabric8.kubernetes-model-core-7.5.2.jar",
        "io.fabric8.kubernetes-client-api-7.5.2.jar",
        "io.fabric8.generator-annotations-7.5.2.jar",
        "org.slf4j.slf4j-api-2.0.17.jar",
    };

    @Test
    void takesTheAppJarThenOneJarPerListedArtifactAndNothingElse() throws IOException {
        String[] all = java.util.stream.Stream.concat(java.util.Arrays.stream(NEEDED), java.util.stream.Stream.of(
                "io.quarkus.quarkus-core-3.33.2.jar", "io.fabric8.kubernetes-model-apps-7.5.2.jar",
                "com.fasterxml.jackson.core.jackson-core-extras-1.0.jar", "io.vertx.vertx-core-4.5.jar")).toArray(String[]::new);
        Path app = layout(all);
        List<Path> cp = AgentLauncher.classPath(app);
        assertThat(cp.get(0)).isEqualTo(app);
        // Exactly the needed jars, in the order of AgentLauncher.JARS (NEEDED lists them in that order).
        assertThat(cp.subList(1, cp.size())).extracting(p -> p.getFileName().toString()).containsExactly(NEEDED);
    }

    @Test
    void aMissingJarStopsTheStartNamingIt() throws IOException {
        Path app = layout(java.util.Arrays.stream(NEEDED).filter(j -> !j.contains("snakeyaml")).toArray(String[]::new));
        assertThatThrownBy(() -> AgentLauncher.classPath(app)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("org.yaml.snakeyaml-");
    }

    @Test
    void twoVersionsOfOneJarAreRefused() throws IOException {
        String[] jars = java.util.Arrays.copyOf(NEEDED, NEEDED.length + 1);
        jars[NEEDED.length] = "org.slf4j.slf4j-api-1.7.36.jar";
        Path app = layout(jars);
        assertThatThrownBy(() -> AgentLauncher.classPath(app)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("more than one org.slf4j.slf4j-api-");
    }

    @Test
    void withoutTheFastJarLayoutItSaysSo() throws IOException {
        Path app = Files.createFile(root.resolve("lonely.jar"));
        assertThatThrownBy(() -> AgentLauncher.classPath(app)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("lib/main");
    }
}
