package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

@EnableKubernetesMockClient
class NodeStatePatcherTest {
    private static final String PATH = "/apis/conntrack.dev/v1alpha1/conntracknodestates/node-a?fieldManager=conntrack-operator";
    private static final String PATCH = "[{\"op\":\"add\",\"path\":\"/spec\",\"value\":{\"mode\":\"Enforce\"}}]";

    KubernetesMockServer server;
    KubernetesClient client;

    @Test
    void sendsTheJsonPatchToTheNodeStateAsTheFieldManager() throws Exception {
        // The answer is not a node state: the patcher must not try to read it.
        server.expect().patch().withPath(PATH).andReturn(200, "not json at all").once();

        new NodeStatePatcher("conntrack-operator").send(client, "node-a", PATCH);

        RecordedRequest request = server.takeRequest(5, TimeUnit.SECONDS);
        assertThat(request.getMethod()).isEqualTo("PATCH");
        assertThat(request.getPath()).isEqualTo(PATH);
        assertThat(request.getHeader("Content-Type")).startsWith(NodeStatePatcher.JSON_PATCH);
        assertThat(request.getUtf8Body()).isEqualTo(PATCH);
    }

    @Test
    void aRefusedPatchFailsWithTheCodeAndTheServersWords() {
        server.expect().patch().withPath(PATH)
                .andReturn(422, "{\"kind\":\"Status\",\"message\":\"spec.conntrack.max: Invalid value\"}").once();

        assertThatThrownBy(() -> new NodeStatePatcher("conntrack-operator").send(client, "node-a", PATCH))
                .isInstanceOf(KubernetesClientException.class)
                .hasMessageContaining("HTTP 422").hasMessageContaining("spec.conntrack.max: Invalid value")
                .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422));
    }

    @Test
    void nodeNamesWithDotsAreUsedAsTheyAre() {
        assertThat(new NodeStatePatcher("conntrack-operator").path("ip-10-0-1-7.eu-west-1.compute.internal"))
                .isEqualTo("/apis/conntrack.dev/v1alpha1/conntracknodestates/ip-10-0-1-7.eu-west-1.compute.internal"
                        + "?fieldManager=conntrack-operator");
    }
}
