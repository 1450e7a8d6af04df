package dev.conntrack.testing;

import dev.conntrack.agent.kube.ApiServerConfig;
import dev.conntrack.agent.kube.BearerToken;
import dev.conntrack.agent.kube.KubeClient;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;

/** The agent's own API client, for the same server and identity as a fabric8 client's (tests that drive agent code directly). */
public final class AgentKubeClients {
    private AgentKubeClients() {
    }

    public static KubeClient like(KubernetesClient client, Duration connectTimeout, Duration requestTimeout) {
        return new KubeClient(config(client), connectTimeout, requestTimeout);
    }

    /** The agent client's settings for the same server and identity as a fabric8 client's. */
    public static ApiServerConfig config(KubernetesClient client) {
        Config c = client.getConfiguration();
        String token = c.getAutoOAuthToken() != null ? c.getAutoOAuthToken() : c.getOauthToken();
        ApiServerConfig config = new ApiServerConfig(URI.create(c.getMasterUrl().replaceAll("/$", "")),
                pem(c.getCaCertData(), c.getCaCertFile()), pem(c.getClientCertData(), c.getClientCertFile()),
                pem(c.getClientKeyData(), c.getClientKeyFile()), token == null ? null : BearerToken.fixed(token),
                c.getImpersonateUsername());
        return config;
    }

    private static String pem(String data, String file) {
        if (data != null) {
            return new String(Base64.getMimeDecoder().decode(data), StandardCharsets.US_ASCII);
        }
        try {
            return file == null ? null : Files.readString(Path.of(file), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
