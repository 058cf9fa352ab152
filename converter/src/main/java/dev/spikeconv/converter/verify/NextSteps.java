package dev.spikeconv.converter.verify;

/** What to do about a missed goal, in one line: a failing report says what to try next, not only what failed. */
final class NextSteps {
    private NextSteps() {}

    /**
     * The next step for goal {@code goal} of {@code bundle}; {@code unfittedGla}: the bundle has GLA layers calibrate
     * never fitted (then that is the first thing to do about any distance); {@code costliestLayer}: the layer whose
     * conversion alone costs the most KL, as "layer 4 (gla, KL 0.2140 alone)", or null when that was not measured.
     */
    static String forGoal(String goal, String bundle, boolean unfittedGla, String costliestLayer) {
        String calibrate = "fit its GLA and hybrid layers first: spikeconv calibrate " + bundle + " --reference SOURCE --data TEXT";
        return switch (goal) {
            case "structure" -> "convert the checkpoint again: a file changed or cannot be read since spikeconv wrote it";
            case "max_engine_diff", "min_engine_count_agreement", "max_engine_flip_distance", "max_engine_kl" ->
                    "the engines disagree on this machine: report it with the JSON report (--report), which records the CPU and ONNX Runtime";
            case "max_kl", "max_kl_p99", "min_top1", "max_ppl_ratio" -> unfittedGla ? calibrate
                    : (costliestLayer != null ? costliestLayer + " costs the most when converted alone; keep it softmax or a window, or "
                            : "the per-layer cosines show where the distance grows (verify --layer-kl: what each layer costs alone); ")
                            + "measure which layers to keep softmax: spikeconv plan SOURCE --data TEXT --max-kl K -o plan.json, then convert --plan @plan.json";
            case "min_sparsity" -> "calibrate static thresholds toward it: spikeconv calibrate " + bundle + " --method mse --target-sparsity S";
            case "max_long_range_nll_ratio", "gla_beyond_window" -> unfittedGla ? calibrate
                    : "memory past the window is lost: a larger window, fewer GLA layers or hybrid layers (--plan)";
            case "linear_branch_useful" -> unfittedGla ? calibrate : "the GLA layers do no better than leaving them out: fewer of them or hybrid layers (--plan)";
            default -> null;
        };
    }
}
