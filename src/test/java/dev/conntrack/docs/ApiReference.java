package dev.conntrack.docs;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.api.model.apiextensions.v1.ValidationRule;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Renders docs/api.md from the committed CRDs in crds/: one section per object of each kind's
 * schema (spec, status and every nested object), a table of its fields with type, whether it is
 * required, the description users also get from {@code kubectl explain}, and what the API server
 * checks (enum, bounds, pattern, default, CEL rules). Generated from the CRDs, not the Java
 * classes, so it shows exactly what the API server serves.
 */
public final class ApiReference {
    /** The CRD files in the order their kinds are documented: what users write first. */
    public static final List<String> CRD_FILES = List.of(
            "crds/conntrackpolicies.conntrack.dev.yaml",
            "crds/conntracknodestates.conntrack.dev.yaml");

    private final StringBuilder out = new StringBuilder();

    private ApiReference() {
    }

    /** The whole of docs/api.md for the CRDs under {@code projectDir}. */
    public static String render(Path projectDir) throws IOException {
        List<CustomResourceDefinition> crds = new ArrayList<>();
        for (String file : CRD_FILES) {
            try (InputStream in = Files.newInputStream(projectDir.resolve(file))) {
                crds.add(Serialization.unmarshal(in, CustomResourceDefinition.class));
            }
        }
        ApiReference doc = new ApiReference();
        doc.header(crds);
        for (CustomResourceDefinition crd : crds) {
            doc.kind(crd);
        }
        return doc.out.toString();
    }

    private void header(List<CustomResourceDefinition> crds) {
        line("# API reference");
        line();
        line("<!-- Generated from crds/ by hack/update-crds.sh (src/test/java/dev/conntrack/docs/ApiReference.java). "
                + "Do not edit: ApiReferenceTest fails when this file and the CRDs differ. -->");
        line();
        line("Every field of the two custom resources as the API server serves them: types, bounds, defaults and the "
                + "validation rules it enforces (`kubectl explain` shows the same descriptions). "
                + "The [policy guide](policy-guide.md) explains how to use them.");
        line();
        for (CustomResourceDefinition crd : crds) {
            String kind = crd.getSpec().getNames().getKind();
            line("- [" + kind + "](#" + anchor(kind) + ")");
        }
        line();
    }

    private void kind(CustomResourceDefinition crd) {
        String kind = crd.getSpec().getNames().getKind();
        for (CustomResourceDefinitionVersion version : crd.getSpec().getVersions()) {
            line("<a id=\"" + anchor(kind) + "\"></a>");
            line();
            line("## " + kind);
            line();
            List<String> facts = new ArrayList<>();
            facts.add("`apiVersion: " + crd.getSpec().getGroup() + "/" + version.getName() + "`");
            facts.add(crd.getSpec().getScope().toLowerCase(Locale.ROOT) + "-scoped");
            facts.add("plural `" + crd.getSpec().getNames().getPlural() + "`");
            List<String> shortNames = crd.getSpec().getNames().getShortNames();
            if (shortNames != null && !shortNames.isEmpty()) {
                facts.add("short name" + (shortNames.size() > 1 ? "s " : " ") + "`" + String.join("`, `", shortNames) + "`");
            }
            if (version.getSubresources() != null && version.getSubresources().getStatus() != null) {
                facts.add("status subresource");
            }
            line(String.join(", ", facts) + ".");
            line();
            List<CustomResourceColumnDefinition> columns = version.getAdditionalPrinterColumns();
            if (columns != null && !columns.isEmpty()) {
                line("`kubectl get` columns:");
                line();
                line("| Column | Value |");
                line("|---|---|");
                for (CustomResourceColumnDefinition c : columns) {
                    line("| " + c.getName() + " | `" + cell(c.getJsonPath()) + "` |");
                }
                line();
            }
            JSONSchemaProps root = version.getSchema().getOpenAPIV3Schema();
            for (String top : List.of("spec", "status")) {
                JSONSchemaProps part = root.getProperties() == null ? null : root.getProperties().get(top);
                if (part != null) {
                    object(kind, "." + top, part);
                }
            }
        }
    }

    /** One section for the object at {@code path}, then one for each object below it, depth first. */
    private void object(String kind, String path, JSONSchemaProps schema) {
        line("<a id=\"" + anchor(kind + path) + "\"></a>");
        line();
        line("### " + kind + " `" + path + "`");
        line();
        if (schema.getDescription() != null) {
            line(text(schema.getDescription()));
            line();
        }
        rules(schema);
        Map<String, JSONSchemaProps> properties = schema.getProperties();
        if (properties == null || properties.isEmpty()) {
            return;
        }
        Set<String> required = schema.getRequired() == null ? Set.of() : new TreeSet<>(schema.getRequired());
        line("| Field | Type | Description | Checked by the API server |");
        line("|---|---|---|---|");
        List<String[]> nested = new ArrayList<>();
        for (Map.Entry<String, JSONSchemaProps> e : properties.entrySet()) {
            String name = e.getKey();
            JSONSchemaProps field = e.getValue();
            String childPath = path + "." + name;
            JSONSchemaProps objectBelow = objectBelow(field);
            String suffix = field.getType() != null && field.getType().equals("array") ? "[]" : "";
            if (objectBelow != null) {
                nested.add(new String[] {childPath + suffix});
            }
            String type = type(field, objectBelow == null ? null : anchor(kind + childPath + suffix));
            line("| `" + name + "`" + (required.contains(name) ? " (required)" : "") + " | " + type + " | "
                    + cell(text(field.getDescription())) + " | " + cell(checks(field, objectBelow != field)) + " |");
        }
        line();
        for (String[] n : nested) {
            String childPath = n[0];
            String fieldName = childPath.substring(path.length() + 1).replace("[]", "");
            object(kind, childPath, objectBelow(properties.get(fieldName)));
        }
    }

    private void rules(JSONSchemaProps schema) {
        List<ValidationRule> rules = schema.getXKubernetesValidations();
        if (rules == null || rules.isEmpty()) {
            return;
        }
        line("Rules (CEL, checked by the API server on the whole object):");
        line();
        line("| Rule | Message |");
        line("|---|---|");
        for (ValidationRule r : rules) {
            line("| `" + cell(r.getRule()) + "` | " + cell(text(r.getMessage())) + " |");
        }
        line();
    }

    /** The object schema documented in a section of its own: the field's, or its items' when a list of objects. */
    private static JSONSchemaProps objectBelow(JSONSchemaProps field) {
        JSONSchemaProps target = field;
        if ("array".equals(field.getType()) && field.getItems() != null) {
            target = field.getItems().getSchema();
        }
        if (target == null || target.getProperties() == null || target.getProperties().isEmpty()) {
            return null;
        }
        return target;
    }

    private static String type(JSONSchemaProps field, String anchor) {
        if (Boolean.TRUE.equals(field.getXKubernetesIntOrString())) {
            return "integer or string";
        }
        String type = field.getType() == null ? "any" : field.getType();
        if ("array".equals(type)) {
            JSONSchemaProps items = field.getItems() == null ? null : field.getItems().getSchema();
            return "list of " + (anchor != null ? "[object](#" + anchor + ")" : items == null ? "any" : type(items, null));
        }
        if ("object".equals(type) && field.getAdditionalProperties() != null
                && field.getAdditionalProperties().getSchema() != null && anchor == null) {
            return "map of string to " + type(field.getAdditionalProperties().getSchema(), null);
        }
        if (anchor != null) {
            return "[object](#" + anchor + ")";
        }
        return field.getFormat() != null ? type + " (" + field.getFormat() + ")" : type;
    }

    /** What the API server checks of one field; an object's own rules are listed in its section instead. */
    private static String checks(JSONSchemaProps field, boolean withRules) {
        List<String> c = new ArrayList<>();
        if (field.getEnum() != null && !field.getEnum().isEmpty()) {
            List<String> values = new ArrayList<>();
            field.getEnum().forEach(v -> values.add("`" + v.asText() + "`"));
            c.add("one of " + String.join(", ", values));
        }
        if (field.getDefault() != null) {
            c.add("default `" + field.getDefault().asText(field.getDefault().toString()) + "`");
        }
        bound(c, "at least", field.getMinimum(), Boolean.TRUE.equals(field.getExclusiveMinimum()) ? "more than" : null);
        bound(c, "at most", field.getMaximum(), Boolean.TRUE.equals(field.getExclusiveMaximum()) ? "less than" : null);
        if (field.getMinLength() != null) {
            c.add("at least " + field.getMinLength() + " characters");
        }
        if (field.getMaxLength() != null) {
            c.add("at most " + field.getMaxLength() + " characters");
        }
        if (field.getMinItems() != null) {
            c.add("at least " + field.getMinItems() + " items");
        }
        if (field.getMaxItems() != null) {
            c.add("at most " + field.getMaxItems() + " items");
        }
        if (field.getPattern() != null) {
            c.add("matches `" + field.getPattern() + "`");
        }
        if (withRules && field.getXKubernetesValidations() != null) {
            for (ValidationRule r : field.getXKubernetesValidations()) {
                c.add("`" + r.getRule() + "`" + (r.getMessage() == null ? "" : ": " + text(r.getMessage())));
            }
        }
        return String.join("; ", c);
    }

    private static void bound(List<String> c, String words, Double value, String exclusiveWords) {
        if (value != null) {
            c.add((exclusiveWords != null ? exclusiveWords : words) + " " + new BigDecimal(value.toString()).stripTrailingZeros().toPlainString());
        }
    }

    /** The anchor of a section: lower case, dots and brackets as dashes, as stable as the path it names. */
    static String anchor(String text) {
        return text.toLowerCase(Locale.ROOT).replace("[]", "-items").replaceAll("[^a-z0-9]+", "-").replaceAll("^-|-$", "");
    }

    private static String text(String s) {
        return s == null ? "" : s.strip().replaceAll("\\s*\\n\\s*", " ");
    }

    /** Table cells: pipes would end the cell. */
    private static String cell(String s) {
        return s.replace("|", "\\|");
    }

    private void line(String s) {
        out.append(s).append('\n');
    }

    private void line() {
        out.append('\n');
    }
}
