package dev.spikeconv.converter.verify;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.json.JsonFields;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * The thresholds {@code verify} gates on. Defaults suit a first CI gate: they pass an int8, spiking
 * conversion that kept its quality (stories260K dense plan: KL 0.04, top-1 0.89, perplexity x1.04) and
 * fail a broken one. {@code minSparsity} 0 means unchecked.
 *
 * @param maxKl              mean KL(dense || bundle) per token, nats
 * @param maxKlP99           99th percentile of the per-token KL
 * @param minTopOne          share of positions where both models' most likely token agrees
 * @param maxPerplexityRatio bundle perplexity over dense perplexity
 * @param minSparsity        share of silent spike slots
 * @param maxEngineDifference largest logit difference between ONNX Runtime and the Java reference, both on the same
 *                           spike counts (so a float tolerance, whatever the model's size)
 * @param minEngineCountAgreement share of spike counts ONNX Runtime and the Java rule compute alike from the same inputs
 * @param maxEngineFlipDistance largest distance of a differing count's {@code a/θ} from its rounding edge, in counts:
 *                           near 0 is arithmetic, far from 0 a different computation
 * @param maxEngineKl        mean KL between the two free-running spiking engines; infinite (the default): not checked,
 *                           since count flips compound with depth
 * @param requireLinearBranch a hybrid must beat the same model with its GLA attention removed
 */
public record Goals(double maxKl, double maxKlP99, double minTopOne, double maxPerplexityRatio, double minSparsity, double maxEngineDifference,
        double minEngineCountAgreement, double maxEngineFlipDistance, double maxEngineKl, boolean requireLinearBranch, double maxLongRangeNllRatio) {
    public static final Goals DEFAULT = new Goals(0.5, 5.0, 0.5, 2.0, 0.0, 1e-3, 0.999, 1e-3, Double.POSITIVE_INFINITY, true, Double.POSITIVE_INFINITY);
    private static final Set<String> FIELDS = Set.of("max_kl", "max_kl_p99", "min_top1", "max_ppl_ratio", "min_sparsity", "max_engine_diff",
            "min_engine_count_agreement", "max_engine_flip_distance", "max_engine_kl", "require_linear_branch", "max_long_range_nll_ratio");

    public Goals {
        atLeastZero("max-kl", maxKl);
        atLeastZero("max-kl-p99", maxKlP99);
        share("min-top1", minTopOne);
        atLeastZero("max-ppl-ratio", maxPerplexityRatio);
        share("min-sparsity", minSparsity);
        atLeastZero("max-engine-diff", maxEngineDifference);
        share("min-engine-count-agreement", minEngineCountAgreement);
        atLeastZero("max-engine-flip-distance", maxEngineFlipDistance);
        atLeastZero("max-engine-kl", maxEngineKl);
        atLeastZero("max-long-range-nll-ratio", maxLongRangeNllRatio);
    }

    /** Whether the long-range goal is checked (it is not by default: its bar depends on the model and the text). */
    public boolean checksLongRange() {
        return maxLongRangeNllRatio != Double.POSITIVE_INFINITY;
    }

    /** A bound that can be met: a number at least 0 (an upper bound below 0 could never pass). */
    private static void atLeastZero(String option, double value) {
        if (!(value >= 0)) {
            throw new InvalidOptionException(option, "must be a number >= 0, found " + value);
        }
    }

    private static void share(String option, double value) {
        if (!(value >= 0 && value <= 1)) {
            throw new InvalidOptionException(option, "must be a share in [0, 1], found " + value);
        }
    }

    /** Whether the free-running spiking engines are compared at all. */
    public boolean checksFreeRunningEngines() {
        return maxEngineKl != Double.POSITIVE_INFINITY;
    }

    /** Goals from a JSON file; fields it lacks keep {@code defaults}. */
    public static Goals read(Path file, Goals defaults) throws IOException {
        JsonFields fields = JsonFields.of(file, JsonDocuments.read(file, 1 << 20), "");
        for (Map.Entry<String, JsonNode> entry : fields.node().properties()) {
            if (!FIELDS.contains(entry.getKey())) {
                throw InvalidInputException.forField(file, entry.getKey(), "one of " + String.join(", ", FIELDS.stream().sorted().toList()), "an unknown goal");
            }
        }
        return new Goals(
                nonNegative(fields, "max_kl", defaults.maxKl()),
                nonNegative(fields, "max_kl_p99", defaults.maxKlP99()),
                fraction(fields, "min_top1", defaults.minTopOne()),
                nonNegative(fields, "max_ppl_ratio", defaults.maxPerplexityRatio()),
                fraction(fields, "min_sparsity", defaults.minSparsity()),
                nonNegative(fields, "max_engine_diff", defaults.maxEngineDifference()),
                fraction(fields, "min_engine_count_agreement", defaults.minEngineCountAgreement()),
                nonNegative(fields, "max_engine_flip_distance", defaults.maxEngineFlipDistance()),
                nonNegative(fields, "max_engine_kl", defaults.maxEngineKl()),
                fields.optionalBoolean("require_linear_branch").orElse(defaults.requireLinearBranch()),
                nonNegative(fields, "max_long_range_nll_ratio", defaults.maxLongRangeNllRatio()));
    }

    private static double nonNegative(JsonFields fields, String name, double fallback) {
        double value = fields.optionalDouble(name).orElse(fallback);
        if (value < 0) {
            throw InvalidInputException.forField(fields.file(), name, "a number >= 0", value);
        }
        return value;
    }

    private static double fraction(JsonFields fields, String name, double fallback) {
        double value = fields.optionalDouble(name).orElse(fallback);
        if (value < 0 || value > 1) {
            throw InvalidInputException.forField(fields.file(), name, "a fraction in [0, 1]", value);
        }
        return value;
    }
}
