package dev.conntrack.agent.kube;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Where the API server is and how the agent proves who it is, read the way fabric8 and client-go
 * read it for the cases the agent meets: in a pod, the service account's token file and CA; in
 * tests and on a workstation, a kubeconfig (server, CA file or data, client certificate and key
 * files or data, or a token); and the environment variables the tests and the benchmark set
 * ({@code KUBERNETES_MASTER}, {@code KUBERNETES_AUTH_TOKEN}, {@code KUBERNETES_CERTS_CA_FILE},
 * {@code KUBERNETES_CERTS_CA_DATA}, {@code KUBERNETES_IMPERSONATE_USERNAME},
 * {@code KUBERNETES_AUTH_TRYKUBECONFIG}, {@code KUBERNETES_AUTH_TRYSERVICEACCOUNT}), which win.
 *
 * @param server the API server's base URI, without a trailing slash
 * @param caPem the CA certificates (PEM) the server's certificate must chain to: only these are trusted
 * @param clientCertPem client certificate (PEM) or null
 * @param clientKeyPem its private key (PEM) or null
 * @param token bearer token or null
 * @param impersonate user to impersonate (Impersonate-User header) or null
 * @param caFile where caPem was read from, or null: read again when it changes (a rotated cluster CA)
 */
public record ApiServerConfig(URI server, String caPem, String clientCertPem, String clientKeyPem, BearerToken token,
        String impersonate, Path caFile) {

    /** With the CA given inline (a kubeconfig's certificate-authority-data, tests). */
    public ApiServerConfig(URI server, String caPem, String clientCertPem, String clientKeyPem, BearerToken token, String impersonate) {
        this(server, caPem, clientCertPem, clientKeyPem, token, impersonate, null);
    }

    /** The same configuration with another CA (read again from {@link #caFile()}). */
    ApiServerConfig withCa(String pem) {
        return new ApiServerConfig(server, pem, clientCertPem, clientKeyPem, token, impersonate, caFile);
    }
    static final Path SERVICE_ACCOUNT = Path.of("/var/run/secrets/kubernetes.io/serviceaccount");

    public static ApiServerConfig fromEnvironment(Map<String, String> env) {
        return fromEnvironment(env, SERVICE_ACCOUNT, Path.of(System.getProperty("user.home", "/"), ".kube", "config"));
    }

    static ApiServerConfig fromEnvironment(Map<String, String> env, Path serviceAccount, Path defaultKubeconfig) {
        ApiServerConfig base = null;
        if (!"false".equalsIgnoreCase(env.get("KUBERNETES_AUTH_TRYKUBECONFIG"))) {
            String list = env.get("KUBECONFIG");
            Path file = list == null || list.isBlank() ? defaultKubeconfig : Path.of(list.split(":")[0]);
            if (Files.isRegularFile(file)) {
                base = fromKubeconfig(file);
            }
        }
        if (base == null && !"false".equalsIgnoreCase(env.get("KUBERNETES_AUTH_TRYSERVICEACCOUNT"))
                && env.get("KUBERNETES_SERVICE_HOST") != null) {
            base = inCluster(env, serviceAccount);
        }
        String master = env.get("KUBERNETES_MASTER");
        if (base == null && master == null) {
            throw new IllegalArgumentException("no API server: not in a pod (KUBERNETES_SERVICE_HOST unset), "
                    + "no kubeconfig and no KUBERNETES_MASTER");
        }
        URI server = master != null ? uri(master) : base.server();
        String ca = env.get("KUBERNETES_CERTS_CA_DATA") != null ? decodeMaybe(env.get("KUBERNETES_CERTS_CA_DATA"))
                : env.get("KUBERNETES_CERTS_CA_FILE") != null ? read(Path.of(env.get("KUBERNETES_CERTS_CA_FILE")))
                : base == null ? null : base.caPem();
        Path caFile = env.get("KUBERNETES_CERTS_CA_DATA") != null ? null
                : env.get("KUBERNETES_CERTS_CA_FILE") != null ? Path.of(env.get("KUBERNETES_CERTS_CA_FILE"))
                : base == null ? null : base.caFile();
        BearerToken token = env.get("KUBERNETES_AUTH_TOKEN") != null ? BearerToken.fixed(env.get("KUBERNETES_AUTH_TOKEN"))
                : base == null ? null : base.token();
        String impersonate = env.get("KUBERNETES_IMPERSONATE_USERNAME") != null ? env.get("KUBERNETES_IMPERSONATE_USERNAME")
                : base == null ? null : base.impersonate();
        return new ApiServerConfig(server, ca, base == null ? null : base.clientCertPem(),
                base == null ? null : base.clientKeyPem(), token, impersonate, caFile);
    }

    /** In a pod: the service's address from the environment, the mounted CA and the projected token. */
    static ApiServerConfig inCluster(Map<String, String> env, Path serviceAccount) {
        String host = env.get("KUBERNETES_SERVICE_HOST");
        String port = env.getOrDefault("KUBERNETES_SERVICE_PORT", "443");
        String hostPart = host.contains(":") ? "[" + host + "]" : host;
        return new ApiServerConfig(URI.create("https://" + hostPart + ":" + port), read(serviceAccount.resolve("ca.crt")),
                null, null, BearerToken.fromFile(serviceAccount.resolve("token"), Clock.systemUTC()), null,
                serviceAccount.resolve("ca.crt"));
    }

    /** The current context of a kubeconfig file; relative file names are relative to the file's directory. */
    @SuppressWarnings("unchecked")
    static ApiServerConfig fromKubeconfig(Path file) {
        Map<String, Object> root;
        try (InputStream in = Files.newInputStream(file)) {
            root = new Yaml(new SafeConstructor(new LoaderOptions())).load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("kubeconfig " + file + " not readable", e);
        }
        String contextName = (String) root.get("current-context");
        Map<String, Object> context = named(root, "contexts", contextName, "context");
        Map<String, Object> cluster = named(root, "clusters", (String) context.get("cluster"), "cluster");
        Map<String, Object> user = context.get("user") == null ? Map.of()
                : named(root, "users", (String) context.get("user"), "user");
        Path dir = file.toAbsolutePath().getParent();
        String ca = inlineOrFile(cluster, "certificate-authority-data", "certificate-authority", dir);
        String cert = inlineOrFile(user, "client-certificate-data", "client-certificate", dir);
        String key = inlineOrFile(user, "client-key-data", "client-key", dir);
        BearerToken token = user.get("token") != null ? BearerToken.fixed((String) user.get("token"))
                : user.get("tokenFile") != null ? BearerToken.fromFile(dir.resolve((String) user.get("tokenFile")), Clock.systemUTC())
                : null;
        if (user.get("exec") != null || user.get("auth-provider") != null) {
            throw new IllegalArgumentException("kubeconfig " + file + ": exec and auth-provider credentials are not supported by the agent");
        }
        return new ApiServerConfig(uri((String) cluster.get("server")), ca, cert, key, token, (String) user.get("as"));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> named(Map<String, Object> root, String list, String name, String field) {
        for (Map<String, Object> entry : (List<Map<String, Object>>) root.getOrDefault(list, List.of())) {
            if (name != null && name.equals(entry.get("name"))) {
                return (Map<String, Object>) entry.get(field);
            }
        }
        throw new IllegalArgumentException("kubeconfig has no " + list + " entry named " + name);
    }

    private static String inlineOrFile(Map<String, Object> map, String dataKey, String fileKey, Path dir) {
        if (map.get(dataKey) != null) {
            return new String(Base64.getMimeDecoder().decode((String) map.get(dataKey)), StandardCharsets.US_ASCII);
        }
        return map.get(fileKey) == null ? null : read(dir.resolve((String) map.get(fileKey)));
    }

    /** CA data in the environment is base64 in fabric8's convention; plain PEM is accepted too. */
    private static String decodeMaybe(String data) {
        return data.contains("-----BEGIN") ? data
                : new String(Base64.getMimeDecoder().decode(data), StandardCharsets.US_ASCII);
    }

    private static URI uri(String server) {
        String s = server.contains("://") ? server : "https://" + server;
        return URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    @Override
    public String toString() {
        return server + " (" + (clientCertPem != null ? "client certificate" : token != null ? token.toString() : "anonymous")
                + (impersonate != null ? ", as " + impersonate : "") + ")";
    }
}
