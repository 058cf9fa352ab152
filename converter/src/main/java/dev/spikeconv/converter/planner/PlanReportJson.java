package dev.spikeconv.converter.planner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.json.JsonDocuments;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/** The plan report as JSON ({@code plan -o PLAN.json}), and the plan read back from it ({@code convert --plan @PLAN.json}). */
public final class PlanReportJson {
    public static final int FORMAT_VERSION = 1;
    /** Plan files are small: a larger one is not a plan file. */
    private static final int MAX_BYTES = 1 << 24;

    private PlanReportJson() {}

    public static ObjectNode toJson(PlanReport report) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("format_version", FORMAT_VERSION);
        root.put("plan", report.plan());
        root.put("source", report.source().toString());
        root.put("budget", report.budget());
        root.put("fitting_tokens", report.fittingTokens());
        root.put("scoring_tokens", report.scoringTokens());
        root.put("window", report.window());
        root.put("sinks", report.sinks());
        root.put("local_window", report.localWindow());
        root.put("context", report.context());
        root.putObject("long_range").put("horizon", report.localWindow()).put("positions", report.longRange().positions())
                .put("dense_nll", report.longRange().denseNll());
        ArrayNode layers = root.putArray("layers");
        for (PlanReport.LayerScore layer : report.layers()) {
            ObjectNode node = layers.addObject().put("layer", layer.layer()).put("locality", layer.locality()).put("least_local_head", layer.leastLocalHead())
                    .put("kl_alone", layer.aloneKullbackLeibler()).put("kind", layer.kind());
            candidates(node.putArray("alone"), layer.alone());
        }
        ArrayNode steps = root.putArray("steps");
        for (PlanReport.SearchStep step : report.steps()) {
            ObjectNode node = steps.addObject().put("step", step.step());
            step.convertedLayers().forEach(node.putArray("converted_layers")::add);
            node.put("added", step.added()).put("added_kind", step.addedKind()).put("mean_kl", step.meanKullbackLeibler())
                    .put("long_range_nll", step.longRangeNll()).put("cache_bytes", step.cacheBytes());
            candidates(node.putArray("candidates"), step.candidates());
        }
        ArrayNode windows = root.putArray("window_trials");
        report.windows().forEach(trial -> windows.addObject().put("window", trial.window()).put("mean_kl", trial.meanKullbackLeibler())
                .put("long_range_nll", trial.longRangeNll()).put("cache_bytes", trial.cacheBytes()).put("kept", trial.kept()));
        root.putObject("confirmed").put("mean_kl", report.confirmed().meanKullbackLeibler()).put("long_range_nll", report.confirmed().longRangeNll())
                .put("cache_bytes", report.confirmed().cacheBytes());
        PlanReport.Cost cost = report.cost();
        root.putObject("cost").put("layer_fits", cost.layerFits()).put("passes", cost.passes()).put("seconds", cost.nanos() / 1e9)
                .put("confirming_pass_seconds", cost.confirmingNanos() / 1e9);
        return root;
    }

    private static void candidates(ArrayNode array, List<PlanReport.Candidate> candidates) {
        candidates.forEach(candidate -> array.addObject().put("layer", candidate.layer()).put("kind", candidate.kind())
                .put("mean_kl", candidate.meanKullbackLeibler()).put("long_range_nll", candidate.longRangeNll()));
    }

    /** The plan string of a plan file: its {@code plan} field. A missing file is the user's option; an unreadable one, bad input. */
    public static String readPlan(Path file) throws IOException {
        if (!Files.exists(file)) {
            throw new InvalidOptionException("plan", "@" + file + ": no such plan file (write one with spikeconv plan -o)");
        }
        if (Files.size(file) > MAX_BYTES) {
            throw InvalidInputException.forFile(file, "is not a plan file: it is larger than " + MAX_BYTES + " bytes");
        }
        JsonNode root;
        try {
            root = JsonDocuments.read(file, MAX_BYTES);
        }
        catch (NoSuchFileException e) {
            throw new InvalidOptionException("plan", "@" + file + ": no such plan file");
        }
        JsonNode plan = root.path("plan");
        if (!plan.isTextual() || plan.asText().isBlank()) {
            throw InvalidInputException.forFile(file, "is not a plan file: it has no \"plan\" string (write one with spikeconv plan -o)");
        }
        return plan.asText();
    }
}
