package dev.conntrack.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * docs/api.md must be what {@link ApiReference} renders from the committed CRDs, like the CRD drift
 * test for crds/. {@code hack/update-crds.sh} rewrites it (it runs this test with
 * -Dconntrack.docs.write=true after copying the CRDs).
 */
class ApiReferenceTest {
    private static final Path PROJECT = Path.of(System.getProperty("project.basedir", ".")).toAbsolutePath();
    private static final Path API_MD = PROJECT.resolve("docs/api.md");

    @Test
    void apiReferenceMatchesTheCommittedCrds() throws IOException {
        String rendered = ApiReference.render(PROJECT);
        if (Boolean.getBoolean("conntrack.docs.write")) {
            Files.writeString(API_MD, rendered);
        }
        assertThat(API_MD).as("docs/api.md is missing: run hack/update-crds.sh").exists();
        assertThat(Files.readString(API_MD))
                .as("docs/api.md differs from the CRDs in crds/: run hack/update-crds.sh and commit the result")
                .isEqualTo(rendered);
    }

    @Test
    void everyFieldOfTheSchemaIsDocumentedWithItsChecks() throws IOException {
        String doc = ApiReference.render(PROJECT);
        // A leaf deep in each kind, its description, and each kind of check the API server makes.
        assertThat(doc)
                .contains("### ConntrackPolicy `.spec.conntrack.autoscale`")
                .contains("| `ceiling` | integer | The largest nf_conntrack_max the agent may set. | at least 1; at most 2147483647 |")
                .contains("one of `Reapply`, `Report`")
                .contains("### ConntrackPolicy `.spec.conntrack.notrack[]`")
                .contains("### ConntrackNodeState `.status`")
                .contains("Rules (CEL, checked by the API server on the whole object):")
                .contains("short name `ctp`")
                .contains("| Ready | `.status.conditions[?(@.type==\"Ready\")].status` |");
    }

    @Test
    void anchorsAreStableAndUrlSafe() {
        assertThat(ApiReference.anchor("ConntrackPolicy.spec.conntrack.notrack[]"))
                .isEqualTo("conntrackpolicy-spec-conntrack-notrack-items");
        assertThat(ApiReference.anchor("ConntrackNodeState.status")).isEqualTo("conntracknodestate-status");
    }
}
