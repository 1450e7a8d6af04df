package dev.conntrack.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * crds/ must be exactly what the build generates from the Java API classes (the build runs before
 * this tier), and the API server must serve them as committed.
 */
class GeneratedCrdsApiServerTest {
    private static final String FIX = "CRDs in crds/ differ from the Java API classes: run hack/update-crds.sh and commit the result";

    @Test
    void committedCrdsMatchTheGeneratedOnes() throws IOException {
        Path generated = TestApiServer.projectDir().resolve("target/kubernetes");
        for (String plural : new String[] {"conntrackpolicies", "conntracknodestates"}) {
            Path committed = TestApiServer.projectDir().resolve("crds/" + plural + ".conntrack.dev.yaml");
            assertThat(committed).as(FIX).exists();
            assertThat(generated.resolve(plural + ".conntrack.dev-v1.yml"))
                    .as("the build generated no CRD for %s (quarkus.operator-sdk.crd.generate-all off?)", plural)
                    .exists();
            assertThat(Files.readString(committed))
                    .as(FIX)
                    .isEqualTo(Files.readString(generated.resolve(plural + ".conntrack.dev-v1.yml")));
            Path chartCopy = TestApiServer.projectDir().resolve("helm/conntrack-operator/crds/" + plural + ".conntrack.dev.yaml");
            if (Files.exists(chartCopy.getParent())) {
                assertThat(Files.readString(chartCopy)).as(FIX).isEqualTo(Files.readString(committed));
            }
        }
    }

    @Test
    void apiServerServesBothKindsClusterScopedWithShortNamesAndColumns() {
        try (KubernetesClient client = TestApiServer.newClient()) {
            CustomResourceDefinition policies = client.apiextensions().v1().customResourceDefinitions()
                    .withName("conntrackpolicies.conntrack.dev").get();
            CustomResourceDefinition states = client.apiextensions().v1().customResourceDefinitions()
                    .withName("conntracknodestates.conntrack.dev").get();

            assertThat(policies.getSpec().getScope()).isEqualTo("Cluster");
            assertThat(states.getSpec().getScope()).isEqualTo("Cluster");
            assertThat(policies.getSpec().getNames().getShortNames()).containsExactly("ctp");
            assertThat(states.getSpec().getNames().getShortNames()).containsExactly("ctns");
            assertThat(policies.getSpec().getVersions().get(0).getAdditionalPrinterColumns())
                    .extracting(CustomResourceColumnDefinition::getName)
                    .contains("Selected", "Applied", "Dropping", "Ready", "Age");
            assertThat(policies.getSpec().getVersions().get(0).getSubresources().getStatus()).isNotNull();
            assertThat(states.getSpec().getVersions().get(0).getSubresources().getStatus()).isNotNull();
        }
    }
}
