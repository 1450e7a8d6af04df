package dev.conntrack.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.FieldValidateable.Validation;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every file in examples/ is accepted by the real API server as committed (schema and CEL rules),
 * with strict field validation (no invented fields), and reads back with the fields it was written with.
 */
class ExamplesApiServerTest {
    private static KubernetesClient client;

    @BeforeAll
    static void connect() {
        client = TestApiServer.newClient();
    }

    @AfterAll
    static void close() {
        client.close();
    }

    static Stream<Path> examples() throws IOException {
        List<Path> files;
        try (Stream<Path> list = Files.list(TestApiServer.projectDir().resolve("examples"))) {
            files = list.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml")).sorted().toList();
        }
        assertThat(files).extracting(f -> f.getFileName().toString())
                .contains("policy.yaml", "ingress-nat-nodes.yaml", "dns-heavy-nodes.yaml", "observe-only-audit.yaml");
        return files.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("examples")
    void isAcceptedAsWritten(Path file) throws IOException {
        List<HasMetadata> items;
        try (InputStream in = Files.newInputStream(file)) {
            items = client.load(in).items();
        }
        assertThat(items).as(file + " holds objects").isNotEmpty();
        for (HasMetadata item : items) {
            assertThat(item.getKind()).as(file + ": only ConntrackPolicy examples").isEqualTo("ConntrackPolicy");
            GenericKubernetesResource written = (GenericKubernetesResource) item;
            // Strict: a field the API does not have is an error, not silently pruned.
            GenericKubernetesResource created = client.resource(written).fieldValidation(Validation.STRICT).create();
            try {
                Map<String, Object> spec = written.get("spec");
                Map<String, Object> stored = created.get("spec");
                assertContains(stored, spec, file + " spec");
                assertThat(client.getKubernetesSerialization().convertValue(created, ConntrackPolicy.class).getSpec()).isNotNull();
            } finally {
                client.resource(created).delete();
            }
        }
    }

    /** Every field written comes back with the same value (the server may add defaults). */
    @SuppressWarnings("unchecked")
    private static void assertContains(Map<String, Object> stored, Map<String, Object> written, String path) {
        for (Map.Entry<String, Object> e : written.entrySet()) {
            Object back = stored.get(e.getKey());
            if (e.getValue() instanceof Map<?, ?> m && !m.isEmpty()) {
                assertThat(back).as(path + "." + e.getKey()).isInstanceOf(Map.class);
                assertContains((Map<String, Object>) back, (Map<String, Object>) m, path + "." + e.getKey());
            } else if (!(e.getValue() instanceof Map<?, ?>)) {
                assertThat(back).as(path + "." + e.getKey()).isEqualTo(e.getValue());
            }
        }
    }
}
