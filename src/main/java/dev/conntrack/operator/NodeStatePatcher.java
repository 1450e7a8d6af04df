package dev.conntrack.operator;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Sends the JSON patch of a node state's spec and does not decode the answer. The typed client
 * parses the whole object the API server sends back into a ConntrackNodeState on every patch,
 * which nobody here reads (the shared watch brings the new object anyway): at 2,000 nodes that
 * parsing was about a tenth of the operator's CPU during a rollout. Errors carry the HTTP code,
 * so the reconcile fails and is retried like any client error.
 */
final class NodeStatePatcher {
    static final String JSON_PATCH = "application/json-patch+json";
    private static final long TIMEOUT_SECONDS = 60;

    private final String fieldManager;

    NodeStatePatcher(String fieldManager) {
        this.fieldManager = fieldManager;
    }

    /** The path of one node state on the API server, field manager included. */
    String path(String name) {
        return "/apis/" + ConntrackPolicy.GROUP + "/" + ConntrackPolicy.VERSION + "/"
                + HasMetadata.getPlural(ConntrackNodeState.class) + "/" + URLEncoder.encode(name, StandardCharsets.UTF_8)
                + "?fieldManager=" + URLEncoder.encode(fieldManager, StandardCharsets.UTF_8);
    }

    void send(KubernetesClient client, String name, String jsonPatch) {
        String master = client.getMasterUrl().toString();
        if (master.endsWith("/")) {
            master = master.substring(0, master.length() - 1);
        }
        HttpRequest request = client.getHttpClient().newHttpRequestBuilder()
                .uri(master + path(name))
                .method("PATCH", JSON_PATCH, jsonPatch)
                .build();
        HttpResponse<byte[]> response;
        try {
            response = client.getHttpClient().sendAsync(request, byte[].class).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KubernetesClientException("interrupted while patching node state " + name, e);
        } catch (ExecutionException e) {
            throw new KubernetesClientException("patching node state " + name + " failed: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new KubernetesClientException("patching node state " + name + " timed out after " + TIMEOUT_SECONDS + " s", e);
        }
        if (response.code() >= 300) {
            byte[] body = response.body();
            throw new KubernetesClientException("patching node state " + name + ": HTTP " + response.code() + " "
                    + (body == null ? "" : new String(body, StandardCharsets.UTF_8)), response.code(), null);
        }
    }
}
