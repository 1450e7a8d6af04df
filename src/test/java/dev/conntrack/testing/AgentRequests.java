package dev.conntrack.testing;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Patches sent the way the agent sends them: one PATCH, no read first. The typed client reads an
 * object before some patches, which the agent's RBAC (no get) rightly refuses.
 */
public final class AgentRequests {
    public static final String MERGE_PATCH = "application/merge-patch+json";
    public static final String JSON_PATCH = "application/json-patch+json";

    private AgentRequests() {
    }

    /** Merge-patches the status of the node state NAME. */
    public static void patchNodeStateStatus(KubernetesClient client, String name, String mergePatch) {
        patch(client, "/apis/conntrack.dev/v1alpha1/conntracknodestates/" + name + "/status", MERGE_PATCH, mergePatch);
    }

    /** Merge-patches the Event NAME in NAMESPACE. */
    public static void patchEvent(KubernetesClient client, String namespace, String name, String mergePatch) {
        patch(client, "/api/v1/namespaces/" + namespace + "/events/" + name, MERGE_PATCH, mergePatch);
    }

    /** One PATCH; a refusal throws with the API server's code and message, as the typed client does. */
    public static void patch(KubernetesClient client, String path, String contentType, String body) {
        String master = client.getMasterUrl().toString().replaceAll("/$", "");
        HttpRequest request = client.getHttpClient().newHttpRequestBuilder()
                .uri(master + path).method("PATCH", contentType, body).build();
        try {
            HttpResponse<byte[]> response = client.getHttpClient().sendAsync(request, byte[].class).get(30, TimeUnit.SECONDS);
            if (response.code() >= 300) {
                String text = response.body() == null ? "" : new String(response.body(), StandardCharsets.UTF_8);
                throw new KubernetesClientException("PATCH " + path + ": " + text, response.code(), null);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("PATCH " + path + " failed", e);
        }
    }
}
