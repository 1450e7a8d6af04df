package dev.conntrack.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * What users follow in the docs exists: every relative link in README.md, docs/ and the other
 * READMEs resolves (the file, and the anchor when it names one), and every hack/ or bench/ script
 * the docs name is in the repository and executable.
 */
class DocsLinksTest {
    private static final Path PROJECT = Path.of(System.getProperty("project.basedir", ".")).toAbsolutePath();
    private static final Pattern LINK = Pattern.compile("\\[[^\\]]*\\]\\(([^)\\s]+)\\)");
    private static final Pattern SCRIPT = Pattern.compile("(?<![\\w/.-])((?:hack|bench)/[\\w./-]+\\.(?:sh|py))");
    private static final Pattern EXPLICIT_ANCHOR = Pattern.compile("<a id=\"([^\"]+)\"");
    private static final Pattern INLINE_CODE = Pattern.compile("`[^`]*`");
    private static final Pattern FENCE = Pattern.compile("^\\s*(```|~~~)");

    @Test
    void everyRelativeLinkResolves() throws IOException {
        List<String> broken = new ArrayList<>();
        for (Path doc : documents()) {
            for (String target : links(doc)) {
                String problem = problem(doc, target);
                if (problem != null) {
                    broken.add(PROJECT.relativize(doc) + ": (" + target + ") " + problem);
                }
            }
        }
        assertThat(broken).as("broken links in the docs").isEmpty();
    }

    @Test
    void everyScriptTheDocsNameExists() throws IOException {
        List<String> missing = new ArrayList<>();
        for (Path doc : documents()) {
            Matcher m = SCRIPT.matcher(Files.readString(doc));
            Set<String> seen = new LinkedHashSet<>();
            while (m.find()) {
                seen.add(m.group(1));
            }
            for (String script : seen) {
                Path file = PROJECT.resolve(script);
                if (!Files.isRegularFile(file) || !Files.isExecutable(file)) {
                    missing.add(PROJECT.relativize(doc) + ": " + script);
                }
            }
        }
        assertThat(missing).as("scripts the docs name that are not executable files of the repository").isEmpty();
    }

    @Test
    void headingSlugsFollowGitHub() {
        assertThat(slug("Auto-raise (`conntrack.autoscale`)")).isEqualTo("auto-raise-conntrackautoscale");
        assertThat(slug("Stateless traffic (notrack)")).isEqualTo("stateless-traffic-notrack");
        assertThat(slug("Install in a real cluster")).isEqualTo("install-in-a-real-cluster");
    }

    /** README.md, every page under docs/, and the READMEs of the chart and the benchmarks. */
    static List<Path> documents() throws IOException {
        List<Path> docs = new ArrayList<>();
        docs.add(PROJECT.resolve("README.md"));
        for (String other : List.of("helm/conntrack-operator/README.md", "bench/README.md")) {
            if (Files.exists(PROJECT.resolve(other))) {
                docs.add(PROJECT.resolve(other));
            }
        }
        try (Stream<Path> pages = Files.walk(PROJECT.resolve("docs"))) {
            pages.filter(p -> p.toString().endsWith(".md")).sorted().forEach(docs::add);
        }
        return docs;
    }

    /** Link targets outside code blocks, without external addresses. */
    private static List<String> links(Path doc) throws IOException {
        List<String> targets = new ArrayList<>();
        for (String line : prose(Files.readAllLines(doc))) {
            Matcher m = LINK.matcher(INLINE_CODE.matcher(line).replaceAll("``"));
            while (m.find()) {
                String target = m.group(1);
                if (!target.matches("^[a-z][a-z0-9+.-]*:.*")) {
                    targets.add(target);
                }
            }
        }
        return targets;
    }

    private static String problem(Path doc, String target) throws IOException {
        int hash = target.indexOf('#');
        String file = hash < 0 ? target : target.substring(0, hash);
        String anchor = hash < 0 ? null : target.substring(hash + 1);
        Path resolved = file.isEmpty() ? doc : doc.getParent().resolve(file).normalize();
        if (!Files.exists(resolved)) {
            return "no such file";
        }
        if (anchor != null && resolved.toString().endsWith(".md") && !anchors(resolved).contains(anchor)) {
            return "no such anchor in " + PROJECT.relativize(resolved);
        }
        return null;
    }

    private static final Map<Path, Set<String>> ANCHORS = new HashMap<>();

    /** The anchors GitHub makes for a page's headings (outside code blocks), and explicit ids. */
    static Set<String> anchors(Path page) throws IOException {
        Set<String> cached = ANCHORS.get(page);
        if (cached != null) {
            return cached;
        }
        Set<String> anchors = new LinkedHashSet<>();
        Map<String, Integer> counts = new HashMap<>();
        for (String line : prose(Files.readAllLines(page))) {
            if (line.startsWith("#")) {
                String base = slug(line.replaceFirst("^#+\\s*", ""));
                int n = counts.merge(base, 1, Integer::sum) - 1;
                anchors.add(n == 0 ? base : base + "-" + n);
            }
            Matcher m = EXPLICIT_ANCHOR.matcher(line);
            while (m.find()) {
                anchors.add(m.group(1));
            }
        }
        ANCHORS.put(page, anchors);
        return anchors;
    }

    /** The lines of a page outside fenced code blocks. */
    static List<String> prose(List<String> lines) {
        List<String> prose = new ArrayList<>();
        boolean code = false;
        for (String line : lines) {
            if (FENCE.matcher(line).find()) {
                code = !code;
            } else if (!code) {
                prose.add(line);
            }
        }
        return prose;
    }

    /** GitHub's heading anchor: lower case, punctuation other than - and _ dropped, spaces as dashes. */
    static String slug(String heading) {
        return heading.strip().toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{N} _-]", "").replace(' ', '-');
    }
}
