package dev.spikeconv.converter.hardware;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.layers.OpFamily;
import dev.spikeconv.formats.io.FileHashes;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.json.JsonFields;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The target profiles shipped in the jar ({@code targets.list} names them) and user profiles read from
 * files. A profile is checked field by field: unknown fields and op families, missing fields and
 * implausible units (a capacity in gigabytes where bytes belong, energies far from picojoules) are
 * input errors naming the file and the field.
 */
public final class TargetProfiles {
    private static final String RESOURCES = "/dev/spikeconv/converter/hardware/";
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");
    private static final Set<String> TOP_LEVEL = Set.of("id", "name", "source", "kernel_libraries", "dtypes", "memory", "constraints", "ops", "energy_pj");
    private static final Set<String> MEMORY = Set.of("capacity_bytes", "cores", "per_core_bytes", "neurons_per_core");
    private static final Set<String> CONSTRAINTS = Set.of("head_dim_multiple", "weight_row_multiple", "max_time_steps", "threshold_bits",
            "threshold_modes", "max_fan_in");
    private static final Set<String> ENERGY = Set.of("fp32_mac", "fp16_mac", "int8_mac", "int8_add", "int32_add", "source");
    private static final Set<String> PHASED = Set.of("prefill", "decode", "state_dtype", "kv_dtype", "window_convention");
    private static final Set<String> KERNEL = Set.of("kernel", "layout", "chunk", "availability", "note");
    private static final Set<String> WINDOW_CONVENTIONS = Set.of("keys_including_self", "flash_attn_left_window");
    /** Smallest capacity taken as bytes: anything below is surely gigabytes or megabytes. */
    private static final long MINIMUM_CAPACITY = 1 << 20;
    private static final long MAX_PROFILE_BYTES = 1 << 20;

    private TargetProfiles() {}

    /** Ids of the shipped profiles, in listing order. */
    public static List<String> shippedIds() {
        String listing = resource("targets.list");
        return listing.lines().map(String::strip).filter(line -> !line.isEmpty()).toList();
    }

    public static List<TargetProfile> shipped() {
        return shippedIds().stream().map(TargetProfiles::shipped).toList();
    }

    /** A shipped profile by id; an unknown id is an {@link IllegalArgumentException} listing the known ones. */
    public static TargetProfile shipped(String id) {
        if (!shippedIds().contains(id)) {
            throw new InvalidOptionException("target", "unknown target '" + id + "'; the shipped targets are " + String.join(", ", shippedIds()));
        }
        String text = resource(id + ".json");
        return parse(text.getBytes(StandardCharsets.UTF_8), Path.of("target profile " + id));
    }

    /** A user profile from {@code file}. */
    public static TargetProfile read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_PROFILE_BYTES) {
            throw InvalidInputException.forField(file, "size", "a profile of at most " + MAX_PROFILE_BYTES + " bytes", size);
        }
        return parse(Files.readAllBytes(file), file);
    }

    static TargetProfile parse(byte[] json, Path file) {
        JsonFields root = JsonFields.of(file, JsonDocuments.parse(json, file, "profile"), "");
        refuseUnknown(root, TOP_LEVEL);
        String id = root.requireString("id");
        if (!ID.matcher(id).matches()) {
            throw InvalidInputException.forField(file, "id", "lowercase letters, digits and dashes", "'" + id + "'");
        }
        Map<String, String> libraries = new LinkedHashMap<>();
        JsonFields libraryFields = root.object("kernel_libraries");
        for (Map.Entry<String, JsonNode> entry : libraryFields.node().properties()) {
            libraries.put(entry.getKey(), libraryFields.requireString(entry.getKey()));
        }
        List<String> dtypes = strings(root, "dtypes");
        return new TargetProfile(id, root.requireString("name"), root.requireString("source"), libraries, dtypes,
                memory(root.object("memory")), constraints(root.object("constraints")), ops(root.object("ops")), energy(root.object("energy_pj")),
                HexFormat.of().formatHex(FileHashes.newDigest().digest(json)));
    }

    private static TargetProfile.Memory memory(JsonFields memory) {
        refuseUnknown(memory, MEMORY);
        long capacity = positiveLong(memory, "capacity_bytes");
        if (capacity < MINIMUM_CAPACITY) {
            throw InvalidInputException.forField(memory.file(), memory.fieldPath("capacity_bytes"),
                    "bytes (at least " + MINIMUM_CAPACITY + "; " + capacity + " looks like gigabytes or megabytes)", capacity);
        }
        Integer cores = memory.has("cores") ? positiveInt(memory, "cores") : null;
        Long perCore = memory.has("per_core_bytes") ? positiveLong(memory, "per_core_bytes") : null;
        Integer neurons = memory.has("neurons_per_core") ? positiveInt(memory, "neurons_per_core") : null;
        if ((cores == null) != (perCore == null)) {
            throw InvalidInputException.forField(memory.file(), memory.fieldPath("cores"), "cores and per_core_bytes together", "only one of them");
        }
        return new TargetProfile.Memory(capacity, cores, perCore, neurons);
    }

    private static TargetProfile.Constraints constraints(JsonFields constraints) {
        refuseUnknown(constraints, CONSTRAINTS);
        int maxTimeSteps = positiveInt(constraints, "max_time_steps");
        int thresholdBits = positiveInt(constraints, "threshold_bits");
        if (thresholdBits > 32) {
            throw InvalidInputException.forField(constraints.file(), constraints.fieldPath("threshold_bits"), "at most 32", thresholdBits);
        }
        List<String> modes = strings(constraints, "threshold_modes");
        for (String mode : modes) {
            if (!mode.equals("dynamic") && !mode.equals("static")) {
                throw InvalidInputException.forField(constraints.file(), constraints.fieldPath("threshold_modes"), "dynamic and/or static", mode);
            }
        }
        Integer fanIn = constraints.has("max_fan_in") ? positiveInt(constraints, "max_fan_in") : null;
        return new TargetProfile.Constraints(positiveInt(constraints, "head_dim_multiple"), positiveInt(constraints, "weight_row_multiple"),
                maxTimeSteps, thresholdBits, modes, fanIn);
    }

    private static Map<OpFamily, OpSupport> ops(JsonFields ops) {
        Map<OpFamily, OpSupport> supported = new EnumMap<>(OpFamily.class);
        for (Map.Entry<String, JsonNode> entry : ops.node().properties()) {
            OpFamily family = OpFamily.fromId(entry.getKey());
            if (family == null) {
                List<String> known = new ArrayList<>();
                for (OpFamily value : OpFamily.values()) {
                    known.add(value.id());
                }
                throw InvalidInputException.forField(ops.file(), ops.fieldPath(entry.getKey()), "an op family: " + String.join(", ", known), "unknown op family");
            }
            JsonFields fields = JsonFields.of(ops.file(), entry.getValue(), ops.fieldPath(entry.getKey()));
            if (family.phased()) {
                refuseUnknown(fields, PHASED);
                String convention = fields.optionalString("window_convention").orElse(null);
                if (convention != null && !WINDOW_CONVENTIONS.contains(convention)) {
                    throw InvalidInputException.forField(fields.file(), fields.fieldPath("window_convention"), String.join(" or ", WINDOW_CONVENTIONS), convention);
                }
                if (family == OpFamily.SWA && convention == null) {
                    throw InvalidInputException.forField(fields.file(), fields.fieldPath("window_convention"), "a value", "nothing");
                }
                supported.put(family, new OpSupport(family, kernel(fields.object("prefill")), kernel(fields.object("decode")),
                        fields.optionalString("state_dtype").orElse(null), fields.optionalString("kv_dtype").orElse(null), convention));
            }
            else {
                refuseUnknown(fields, KERNEL);
                KernelChoice kernel = kernel(fields);
                supported.put(family, new OpSupport(family, kernel, kernel, null, null, null));
            }
        }
        return supported;
    }

    private static KernelChoice kernel(JsonFields fields) {
        refuseUnknown(fields, KERNEL);
        Integer chunk = fields.has("chunk") ? positiveInt(fields, "chunk") : null;
        return new KernelChoice(fields.requireString("kernel"), fields.optionalString("layout").orElse(null), chunk,
                fields.optionalString("availability").orElse("library"), fields.optionalString("note").orElse(null));
    }

    private static TargetProfile.Energy energy(JsonFields energy) {
        refuseUnknown(energy, ENERGY);
        return new TargetProfile.Energy(picojoules(energy, "fp32_mac"), picojoules(energy, "fp16_mac"), picojoules(energy, "int8_mac"),
                picojoules(energy, "int8_add"), picojoules(energy, "int32_add"), energy.requireString("source"));
    }

    /** Energies per operation are between a femtojoule and a nanojoule; outside that the units are wrong. */
    private static double picojoules(JsonFields fields, String field) {
        double value = fields.requireDouble(field);
        if (!(value >= 1e-3 && value <= 1e3)) {
            throw InvalidInputException.forField(fields.file(), fields.fieldPath(field), "picojoules per operation, between 0.001 and 1000", value);
        }
        return value;
    }

    private static void refuseUnknown(JsonFields fields, Set<String> known) {
        for (Map.Entry<String, JsonNode> entry : fields.node().properties()) {
            if (!known.contains(entry.getKey())) {
                throw InvalidInputException.forField(fields.file(), fields.fieldPath(entry.getKey()), "one of " + String.join(", ", known.stream().sorted().toList()),
                        "an unknown field");
            }
        }
    }

    private static List<String> strings(JsonFields fields, String field) {
        List<String> values = new ArrayList<>();
        for (JsonNode value : fields.requireArray(field)) {
            if (!value.isTextual()) {
                throw InvalidInputException.forField(fields.file(), fields.fieldPath(field), "strings", JsonFields.describe(value));
            }
            values.add(value.textValue());
        }
        return values;
    }

    private static int positiveInt(JsonFields fields, String field) {
        int value = fields.requireInt(field);
        if (value <= 0) {
            throw InvalidInputException.forField(fields.file(), fields.fieldPath(field), "a positive integer", value);
        }
        return value;
    }

    private static long positiveLong(JsonFields fields, String field) {
        JsonNode value = fields.require(field);
        if (!value.isIntegralNumber() || !value.canConvertToLong() || value.longValue() <= 0) {
            throw InvalidInputException.forField(fields.file(), fields.fieldPath(field), "a positive integer number of bytes", JsonFields.describe(value));
        }
        return value.longValue();
    }

    private static String resource(String name) {
        try (InputStream stream = TargetProfiles.class.getResourceAsStream(RESOURCES + name)) {
            if (stream == null) {
                throw new IllegalStateException("missing resource " + RESOURCES + name);
            }
            return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
