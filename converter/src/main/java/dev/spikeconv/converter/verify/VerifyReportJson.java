package dev.spikeconv.converter.verify;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.converter.SpikeconvVersion;
import dev.spikeconv.converter.onnx.RuntimePlatform;
import dev.spikeconv.converter.spiking.SpikeStatistics;

/** {@code --report FILE.json}: every number of the report, machine-readable. */
public final class VerifyReportJson {
    private VerifyReportJson() {}

    public static ObjectNode toJson(VerifyReport report) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("spikeconv_version", SpikeconvVersion.get());
        root.put("bundle", report.bundle()).put("reference", report.reference()).put("tokens", report.tokens()).put("sequence_length", report.sequenceLength());
        root.put("passed", report.passed());
        ArrayNode structure = root.putArray("structure_problems");
        report.structureProblems().forEach(structure::add);
        engines(root.putObject("engines"), report.engines());
        VerifyReport.Distance distance = report.distance();
        root.putObject("distance").put("kl_mean", distance.meanKl()).put("kl_median", distance.medianKl()).put("kl_p90", distance.p90Kl())
                .put("kl_p99", distance.p99Kl()).put("top1_agreement", distance.topOne()).put("perplexity_reference", distance.referencePerplexity())
                .put("perplexity_bundle", distance.bundlePerplexity()).put("perplexity_ratio", distance.perplexityRatio())
                .put("true_token_probability_change", distance.meanTrueTokenProbabilityChange());
        if (report.beyondWindow() != null) {
            VerifyReport.BeyondWindow beyond = report.beyondWindow();
            root.putObject("beyond_window").put("window", beyond.window()).put("positions", beyond.positions())
                    .put("perplexity_reference", beyond.referencePerplexity()).put("perplexity_bundle", beyond.bundlePerplexity()).put("ratio", beyond.ratio());
        }
        else {
            root.putNull("beyond_window");
        }
        VerifyReport.LongRange longRange = report.longRange();
        ObjectNode recurrence = root.putObject("recurrence").put("horizon", longRange.horizon()).put("longest_sequence", longRange.longestSequence());
        ArrayNode buckets = recurrence.putArray("distance_buckets");
        longRange.buckets().forEach(bucket -> bucket(buckets.addObject(), bucket));
        bucket(recurrence.putObject("first_occurrences"), longRange.firstOccurrences());
        bucket(recurrence.putObject("within_horizon"), longRange.withinHorizon());
        bucket(recurrence.putObject("only_beyond_horizon"), longRange.onlyBeyondHorizon());
        if (report.baseline() != null) {
            VerifyReport.Baseline baseline = report.baseline();
            ObjectNode node = root.putObject("baseline").put("kind", baseline.kind().id()).put("model", baseline.model()).put("kl_mean", baseline.meanKl())
                    .put("gla_better", baseline.glaBetter());
            bucket(node.putObject("only_beyond_horizon"), baseline.onlyBeyondHorizon());
        }
        else {
            root.putNull("baseline");
        }
        if (report.probes() != null) {
            probes(root.putObject("probes"), report.probes());
        }
        else {
            root.putNull("probes");
        }
        if (report.calibration() != null) {
            VerifyReport.Calibration calibration = report.calibration();
            ObjectNode node = root.putObject("calibration").put("method", calibration.method()).put("data", calibration.data()).put("tokens", calibration.tokens());
            ArrayNode transfer = node.putArray("attention_transfer");
            calibration.transfer().forEach(fit -> transfer.addObject().put("layer", fit.layer()).put("error_before", fit.before()).put("error_after", fit.after()));
        }
        else {
            root.putNull("calibration");
        }
        ObjectNode quantization = root.putObject("quantization_errors");
        report.quantizationErrors().forEach(quantization::put);
        ArrayNode layers = root.putArray("layers");
        for (VerifyReport.LayerReport layer : report.layers()) {
            layers.addObject().put("index", layer.index()).put("attention", layer.attention()).put("hidden_cosine", layer.cosine())
                    .put("attention_share", layer.attentionShare()).put("attention_share_reference", layer.referenceAttentionShare())
                    .put("negligible_gla_contribution", layer.negligible()).put("kl_alone", layer.klAlone());
        }
        ObjectNode spikes = root.putObject("spikes");
        spikes.put("sparsity", report.totalSparsity()).put("saturation", report.totalSaturation()).put("silent_channels", report.totalSilentChannels());
        ArrayNode sites = spikes.putArray("sites");
        for (SpikeStatistics site : report.spikes()) {
            sites.addObject().put("site", site.site()).put("sparsity", site.sparsity()).put("firing_rate", site.firingRate())
                    .put("zero_counts", site.zeroCountShare()).put("saturation", site.saturation()).put("mean_count", site.meanCount())
                    .put("events_per_input", site.eventsPerInput()).put("silent_channels", site.silentChannels()).put("channels", site.channels());
        }
        ArrayNode klPerPosition = root.putArray("kl_per_position");
        for (double kl : distance.klPerPosition()) {
            klPerPosition.add(kl);
        }
        ArrayNode goals = root.putArray("goals");
        for (GoalResult goal : report.goals()) {
            goals.addObject().put("name", goal.name()).put("passed", goal.passed()).put("detail", goal.detail()).put("next_step", goal.nextStep());
        }
        return root;
    }

    private static void engines(ObjectNode node, VerifyReport.EngineAgreement engines) {
        node.put("tokens", engines.tokens()).put("logits_max_difference_same_counts", engines.largestLogitDifference())
                .put("logits_max_abs", engines.largestLogit());
        if (engines.freeRunningMeanKl() != null) {
            node.put("free_running_mean_kl", engines.freeRunningMeanKl());
        }
        else {
            node.putNull("free_running_mean_kl");
        }
        if (engines.counts().isEmpty()) {
            node.putNull("spike_counts");
        }
        else {
            ObjectNode counts = node.putObject("spike_counts");
            counts.put("values", engines.countValues()).put("identical_share", engines.identicalCountShare())
                    .put("largest_flip_edge_distance", engines.largestEdgeDistance()).put("worst_site", engines.worstSite());
            ArrayNode sites = counts.putArray("sites");
            for (SpikeCountAgreement site : engines.counts()) {
                sites.addObject().put("site", site.site()).put("values", site.values()).put("identical", site.identical())
                        .put("largest_flip_edge_distance", site.largestEdgeDistance());
            }
        }
        RuntimePlatform platform = engines.platform();
        ObjectNode machine = node.putObject("platform");
        machine.put("cpu", platform.cpu()).put("onnxruntime", platform.onnxRuntime()).put("float_gemm", platform.floatGemm())
                .put("integer_products", RuntimePlatform.INTEGER_PRODUCTS);
        ArrayNode features = machine.putArray("cpu_features");
        platform.features().forEach(features::add);
    }

    private static void probes(ObjectNode node, VerifyReport.Probes probes) {
        node.put("trials", probes.trials()).put("passing_accuracy", probes.passingAccuracy());
        ArrayNode results = node.putArray("results");
        for (VerifyReport.ProbeResult result : probes.results()) {
            results.addObject().put("kind", result.kind().id()).put("distance", result.distance()).put("answers", result.answers())
                    .put("accuracy_reference", result.referenceAccuracy()).put("accuracy_bundle", result.bundleAccuracy())
                    .put("accuracy_baseline", result.baselineAccuracy()).put("skipped", result.skipped());
        }
        ArrayNode notes = node.putArray("notes");
        probes.notes().forEach(notes::add);
    }

    private static void bucket(ObjectNode node, VerifyReport.Bucket bucket) {
        node.put("name", bucket.name()).put("positions", bucket.positions());
        if (bucket.positions() == 0) {
            node.putNull("nll_reference").putNull("nll_bundle").putNull("nll_ratio").putNull("kl_mean");
            return;
        }
        node.put("nll_reference", bucket.referenceNll()).put("nll_bundle", bucket.bundleNll()).put("nll_ratio", bucket.nllRatio()).put("kl_mean", bucket.meanKl());
    }
}
