package dev.conntrack.agent;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.net.MalformedURLException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts the agent role on a class path of the few jars it uses, instead of through
 * {@code java -jar quarkus-run.jar}: the agent never boots Quarkus, yet the Quarkus runner
 * installed the JBoss log manager (its classes and a reference-reaper thread) and kept the
 * resource index of all ~200 operator jars in the heap. Measured on the agent: 2 MiB of RSS, 140
 * classes and a thread (bench/RESULTS.md, Agent footprint).
 *
 * <p>The DaemonSet runs {@code java -cp /deployments/app/* dev.conntrack.agent.AgentLauncher}: the
 * application jar alone on the class path; this class finds the jars listed in {@link #JARS} in
 * {@code lib/main} beside it (the fast-jar layout of the image and of target/quarkus-app) and runs
 * {@link AgentMain} in a class loader over them. A listed jar that is missing or ambiguous stops
 * the start with a message naming it rather than failing later on the first class it holds.
 */
public final class AgentLauncher {
    /**
     * File name prefixes (fast-jar names: GROUP.ARTIFACT-VERSION.jar) of the jars the agent role
     * loads classes from: JSON, metrics, the kubeconfig reader, and the fabric8 model and API
     * classes that the shared {@code dev.conntrack.api} types extend (with the SLF4J API their
     * base class logs through). The agent's process tests (API server and kernel tiers) start it
     * through this class, so a class from a jar missing here fails them.
     */
    static final List<String> JARS = List.of(
            "com.fasterxml.jackson.core.jackson-core-",
            "com.fasterxml.jackson.core.jackson-databind-",
            "com.fasterxml.jackson.core.jackson-annotations-",
            "io.prometheus.prometheus-metrics-",
            "org.yaml.snakeyaml-",
            "io.fabric8.kubernetes-model-common-",
            "io.fabric8.kubernetes-model-core-",
            "io.fabric8.kubernetes-client-api-",
            "io.fabric8.generator-annotations-",
            "org.slf4j.slf4j-api-");

    private AgentLauncher() {
    }

    public static void main(String... args) throws Throwable {
        Path appJar;
        try {
            appJar = Path.of(AgentLauncher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the application jar", e);
        }
        List<Path> classPath;
        try {
            classPath = classPath(appJar);
        } catch (IllegalStateException | IOException e) {
            System.err.println("conntrack agent: " + e.getMessage());
            System.exit(2);
            return;
        }
        // The fabric8 base class logs through SLF4J; without a provider SLF4J prints three lines
        // of warning at every start. Its own no-op provider, named, says the same thing quietly
        // (the verbosity setting drops the line that reports the choice).
        if (System.getProperty("slf4j.provider") == null) {
            System.setProperty("slf4j.provider", "org.slf4j.helpers.NOP_FallbackServiceProvider");
            System.setProperty("slf4j.internal.verbosity", "WARN");
        }
        URLClassLoader loader = new URLClassLoader("conntrack-agent", urls(classPath), ClassLoader.getPlatformClassLoader());
        Thread.currentThread().setContextClassLoader(loader);
        try {
            loader.loadClass(AgentMain.class.getName()).getMethod("main", String[].class).invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /**
     * The application jar first, then one jar per prefix of {@link #JARS} (several for a prefix
     * that names a family, such as the Prometheus client's modules) from APPJAR/../../lib/main.
     */
    static List<Path> classPath(Path appJar) throws IOException {
        Path root = appJar.toAbsolutePath().getParent() == null ? null : appJar.toAbsolutePath().getParent().getParent();
        Path lib = root == null ? null : root.resolve("lib").resolve("main");
        if (lib == null || !Files.isDirectory(lib)) {
            throw new IllegalStateException("no lib/main beside " + appJar + ": the agent launcher needs the fast-jar layout"
                    + " (target/quarkus-app or /deployments)");
        }
        List<Path> jars = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(lib, "*.jar")) {
            for (Path p : dir) {
                jars.add(p);
            }
        }
        jars.sort(null);
        List<Path> out = new ArrayList<>();
        out.add(appJar);
        for (String prefix : JARS) {
            List<Path> matching = new ArrayList<>();
            for (Path jar : jars) {
                String name = jar.getFileName().toString();
                // The version follows the prefix: "jackson-core-" must not take "jackson-core-extra-1.jar".
                if (name.startsWith(prefix) && (prefix.endsWith("metrics-") || startsWithDigit(name, prefix.length()))) {
                    matching.add(jar);
                }
            }
            if (matching.isEmpty()) {
                throw new IllegalStateException("no " + prefix + "*.jar in " + lib + ": the agent cannot start without it");
            }
            if (!prefix.endsWith("metrics-") && matching.size() > 1) {
                throw new IllegalStateException("more than one " + prefix + "*.jar in " + lib + ": " + matching);
            }
            out.addAll(matching);
        }
        return out;
    }

    private static boolean startsWithDigit(String name, int at) {
        return name.length() > at && Character.isDigit(name.charAt(at));
    }

    private static URL[] urls(List<Path> paths) throws MalformedURLException {
        URL[] urls = new URL[paths.size()];
        for (int i = 0; i < urls.length; i++) {
            urls[i] = paths.get(i).toUri().toURL();
        }
        return urls;
    }
}
