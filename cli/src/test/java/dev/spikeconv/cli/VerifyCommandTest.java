package dev.spikeconv.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.converter.bundle.BundleFileHashes;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.safetensors.SafetensorsFile;
import dev.spikeconv.formats.safetensors.SafetensorsWriter;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class VerifyCommandTest {
    @TempDir
    Path directory;

    private static String source() {
        return TestModels.stories260K().toString();
    }

    private static String text() {
        return TestModels.tinyStories().toString();
    }

    private Path convert(String name, String... options) {
        Path bundle = directory.resolve(name);
        List<String> arguments = new ArrayList<>(List.of("convert", source(), "-o", bundle.toString(), "--target", "cpu-x86-avx2"));
        arguments.addAll(List.of(options));
        CommandRun run = CommandRun.of(arguments.toArray(String[]::new));
        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCodes.OK);
        return bundle;
    }

    private CommandRun verify(Path bundle, String... options) {
        List<String> arguments = new ArrayList<>(List.of("verify", bundle.toString(), "--reference", source(), "--data", text(), "--tokens", "128",
                "--seq-len", "128", "--engine-tokens", "16"));
        arguments.addAll(List.of(options));
        return CommandRun.of(arguments.toArray(String[]::new));
    }

    /** Rewrites the bundle's safetensors with {@code edit} applied to each tensor's bytes (null drops it); the ONNX graph is rebuilt to match. */
    private static void editWeights(Path bundle, BiFunction<String, ByteBuffer, ByteBuffer> edit) throws IOException {
        Path file = bundle.resolve("model.safetensors");
        Path rewritten = bundle.resolve("rewritten.tmp");
        try (SafetensorsFile safetensors = SafetensorsFile.open(file)) {
            List<SafetensorsWriter.TensorEntry> entries = new ArrayList<>();
            Map<String, ByteBuffer> contents = new java.util.LinkedHashMap<>();
            for (StoredTensor tensor : safetensors.tensors().values()) {
                ByteBuffer bytes = ByteBuffer.allocate((int) tensor.byteSize()).order(ByteOrder.LITTLE_ENDIAN).put(tensor.data().asByteBuffer()).flip();
                ByteBuffer edited = edit.apply(tensor.name(), bytes);
                if (edited != null) {
                    entries.add(new SafetensorsWriter.TensorEntry(tensor.name(), tensor.dtype(), tensor.shape()));
                    contents.put(tensor.name(), edited);
                }
            }
            SafetensorsWriter.write(rewritten, entries, Map.of("format", "pt"), (entry, channel) -> SafetensorsWriter.writeFully(channel, contents.get(entry.name())));
        }
        Files.move(rewritten, file, StandardCopyOption.REPLACE_EXISTING);
        // An edit on purpose, recorded as spikeconv records its own writes: the structure check then looks at the tensors.
        BundleFileHashes.record(bundle);
    }

    private static void rebuildGraph(Path bundle) throws IOException {
        Files.delete(bundle.resolve(DecoderGraphWriter.MODEL_FILE));
        Files.deleteIfExists(bundle.resolve(DecoderGraphWriter.DATA_FILE));
        try (ModelDescription model = CheckpointLoader.open(bundle)) {
            DecoderGraphWriter.write(model, bundle);
        }
        BundleFileHashes.record(bundle);
    }

    @Test
    void aGoodBundlePassesAndWritesEveryReport() throws Exception {
        Path bundle = convert("good", "--plan", "dense");
        Path json = directory.resolve("report.json");
        Path junit = directory.resolve("report.xml");
        Path html = directory.resolve("report.html");
        CommandRun run = verify(bundle, "--report", json.toString(), "--junit", junit.toString(), "--html", html.toString());
        assertThat(run.exitCode()).as(run.out() + run.err()).isEqualTo(ExitCodes.OK);
        // a spiking dense bundle: the engine goals are the same-count logits, the count agreement and the flip distance
        assertThat(run.out()).contains("all 8 goals met", "distance   KL mean", "counts 1.000000 identical");
        assertThat(Files.readString(json)).contains("\"passed\" : true", "\"kl_p99\"", "\"hidden_cosine\"", "\"identical_share\" : 1.0", "\"cpu_features\"");
        Document document = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(junit.toFile());
        NodeList cases = document.getElementsByTagName("testcase");
        assertThat(cases.getLength()).isEqualTo(8);
        assertThat(document.getElementsByTagName("failure").getLength()).isZero();
        assertThat(((Element) cases.item(0)).getAttribute("name")).isEqualTo("structure");
        assertRendersInChromium(html, 5);
    }

    @Test
    void missedGoalsExitOneWithFailuresInTheJunitReport() throws Exception {
        Path bundle = convert("hybrid", "--plan", "spikingbrain");
        Path junit = directory.resolve("report.xml");
        CommandRun run = verify(bundle, "--junit", junit.toString());
        assertThat(run.exitCode()).isEqualTo(ExitCodes.GOAL_MISSED);
        assertThat(run.out()).contains("FAIL max_kl", "FAIL linear_branch_useful", "USELESS");
        // one reason, said once: the GLA layers were never fitted
        assertThat(run.out().lines().filter(line -> line.startsWith("next: "))).containsExactly(
                "next: fit its GLA and hybrid layers first: spikeconv calibrate " + bundle + " --reference SOURCE --data TEXT");
        Document document = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(junit.toFile());
        assertThat(document.getElementsByTagName("testcase").getLength()).isEqualTo(9);
        assertThat(document.getElementsByTagName("failure").getLength()).isEqualTo(5);
        assertThat(verify(bundle, "--max-kl", "100", "--max-kl-p99", "100", "--min-top1", "0", "--max-ppl-ratio", "1000", "--allow-useless-linear-branch")
                .exitCode()).isEqualTo(ExitCodes.OK);
    }

    @Test
    void aFlippedWeightByteFailsTheStructureCheck() throws IOException {
        Path bundle = convert("flipped", "--plan", "dense");
        byte[] bytes = Files.readAllBytes(bundle.resolve("model.safetensors"));
        bytes[bytes.length - 100] ^= 0x10;
        Files.write(bundle.resolve("model.safetensors"), bytes);
        CommandRun run = verify(bundle);
        assertThat(run.exitCode()).isEqualTo(ExitCodes.GOAL_MISSED);
        assertThat(run.out()).contains("FAIL structure", "model.safetensors: SHA-256 differs",
                "manifest.cpu-x86-avx2.json: tensor model.norm.weight has SHA-256");
        // run and generate refuse it, unless told not to check
        CommandRun refused = CommandRun.of("run", bundle.toString(), "--tokens", "1,2,3");
        assertThat(refused.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(refused.err()).contains("model.safetensors: SHA-256 differs");
        assertThat(CommandRun.of("run", bundle.toString(), "--tokens", "1,2,3", "--no-check").exitCode()).isEqualTo(ExitCodes.OK);
    }

    @Test
    void anotherModelAsReferenceIsRefusedUnlessAllowed() throws IOException {
        Path bundle = convert("bundle", "--plan", "dense");
        String other = TestModels.shared("stories260K-gguf", "stories260K.gguf").toString();
        CommandRun refused = CommandRun.of("verify", bundle.toString(), "--reference", other, "--data", text(), "--tokens", "64", "--engine-tokens", "8");
        assertThat(refused.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(refused.err()).contains("stories260K.gguf: is not the checkpoint bundle was converted from");
        CommandRun allowed = CommandRun.of("verify", bundle.toString(), "--reference", other, "--data", text(), "--tokens", "64", "--engine-tokens", "8",
                "--allow-other-reference");
        assertThat(allowed.exitCode()).as(allowed.err()).isIn(ExitCodes.OK, ExitCodes.GOAL_MISSED);
    }

    @Test
    void aZeroedLayerFailsTheKlGoal() throws IOException {
        Path bundle = convert("zeroed", "--plan", "dense", "--quant", "none", "--spike", "off");
        Files.delete(bundle.resolve("manifest.cpu-x86-avx2.json"));
        editWeights(bundle, (name, bytes) -> name.startsWith("model.layers.2.mlp.") || name.startsWith("model.layers.2.attn.")
                ? ByteBuffer.allocate(bytes.remaining()) : bytes);
        rebuildGraph(bundle);
        CommandRun run = verify(bundle);
        assertThat(run.exitCode()).isEqualTo(ExitCodes.GOAL_MISSED);
        assertThat(run.out()).contains("ok   structure", "FAIL max_kl");
    }

    @Test
    void aNanFailsTheStructureCheck() throws IOException {
        Path bundle = convert("nan", "--plan", "dense");
        Files.delete(bundle.resolve("manifest.cpu-x86-avx2.json"));
        editWeights(bundle, (name, bytes) -> name.equals("model.layers.1.mlp_norm.weight") ? bytes.putFloat(8, Float.NaN) : bytes);
        CommandRun run = verify(bundle);
        assertThat(run.exitCode()).isEqualTo(ExitCodes.GOAL_MISSED);
        assertThat(run.out()).contains("tensor model.layers.1.post_attention_layernorm.weight has 1 NaN or infinite value(s)");
    }

    /** int8 weights are checked from their scales: a NaN scale spoils its group, a huge one the codes it overflows. */
    @Test
    void badInt8ScalesFailTheStructureCheckWithTheCountOfBadWeights() throws IOException {
        Path bundle = convert("scales", "--plan", "dense");
        Files.delete(bundle.resolve("manifest.cpu-x86-avx2.json"));
        String scale = "model.layers.0.attn.q_proj.weight_scale";
        editWeights(bundle, (name, bytes) -> name.equals(scale) ? bytes.putFloat(0, Float.NaN).putFloat(bytes.capacity() - 4, 3e38f) : bytes);
        long expected = 0;
        try (ModelDescription model = CheckpointLoader.open(bundle)) {
            var weight = model.tensor("model.layers.0.self_attn.q_proj.weight");
            float[] values = new float[(int) weight.shape().elementCount()];
            weight.readFloats(0, values, 0, values.length);
            for (float value : values) {
                expected += Float.isFinite(value) ? 0 : 1;
            }
        }
        assertThat(expected).isGreaterThan(1);
        CommandRun run = verify(bundle);
        assertThat(run.exitCode()).isEqualTo(ExitCodes.GOAL_MISSED);
        assertThat(run.out()).contains("tensor model.layers.0.self_attn.q_proj.weight has " + expected + " NaN or infinite value(s)");
    }

    @Test
    void aMissingTensorIsInvalidInput() throws IOException {
        Path bundle = convert("missing", "--plan", "dense");
        editWeights(bundle, (name, bytes) -> name.equals("model.layers.3.mlp.up_proj.weight") ? null : bytes);
        CommandRun run = verify(bundle);
        assertThat(run.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(run.err()).contains("missing 1 tensor(s) the config requires: model.layers.3.mlp.up_proj.weight");
    }

    @Test
    void aManifestOfAnotherBundleFailsTheStructureCheck() throws IOException {
        Path bundle = convert("one", "--plan", "dense");
        Path other = convert("other", "--plan", "dense", "--group", "row");
        Files.copy(other.resolve("manifest.cpu-x86-avx2.json"), bundle.resolve("manifest.cpu-x86-avx2.json"), StandardCopyOption.REPLACE_EXISTING);
        CommandRun run = verify(bundle);
        assertThat(run.exitCode()).isEqualTo(ExitCodes.GOAL_MISSED);
        assertThat(run.out()).contains("FAIL structure", "the manifest says");
    }

    @Test
    void usageErrors() {
        Path bundle = directory.resolve("nothing");
        assertThat(CommandRun.of("verify", bundle.toString(), "--data", text()).exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(CommandRun.of("verify", bundle.toString(), "--reference", source(), "--reference-logits", "x", "--data", text()).exitCode())
                .isEqualTo(ExitCodes.USAGE);
        assertThat(CommandRun.of("verify", bundle.toString(), "--reference", source(), "--data", text()).exitCode()).isEqualTo(ExitCodes.IO_ERROR);
        CommandRun unknownBaseline = CommandRun.of("verify", bundle.toString(), "--reference", source(), "--data", text(), "--baseline", "softmax");
        assertThat(unknownBaseline.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(unknownBaseline.err()).contains("'softmax' is not a baseline; expected no-gla-attention or all-swa");
        CommandRun withoutWeights = CommandRun.of("verify", bundle.toString(), "--reference-logits", "saved", "--data", text(), "--baseline", "all-swa");
        assertThat(withoutWeights.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(withoutWeights.err()).contains("all-swa runs the dense model's attention");
        CommandRun unknownProbe = CommandRun.of("verify", bundle.toString(), "--reference", source(), "--data", text(), "--probes", "passkey,needle");
        assertThat(unknownProbe.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(unknownProbe.err()).contains("'needle' is not a probe; expected passkey or kv-recall");
        CommandRun probesWithoutWeights = CommandRun.of("verify", bundle.toString(), "--reference-logits", "saved", "--data", text(), "--probes", "passkey");
        assertThat(probesWithoutWeights.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(probesWithoutWeights.err()).contains("the probes run the dense model first");
        CommandRun layerKlWithoutWeights = CommandRun.of("verify", bundle.toString(), "--reference-logits", "saved", "--data", text(), "--layer-kl");
        assertThat(layerKlWithoutWeights.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(layerKlWithoutWeights.err()).contains("--layer-kl runs the dense model with one bundle layer at a time");
        assertThat(CommandRun.of("verify", bundle.toString(), "--reference", source(), "--data", text(), "--probes", "passkey", "--probe-distances", "8")
                .err()).contains("must be at least 16 tokens, found 8");
    }

    /** Opens the page in headless Chromium and checks that every chart drew. */
    private static void assertRendersInChromium(Path html, int charts) throws Exception {
        Path chromium = Path.of("/usr/bin/chromium");
        if (!Files.isExecutable(chromium)) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new AssertionError("headless Chromium (Debian package chromium) is missing; make test installs it");
            }
            Assumptions.abort("chromium is not installed");
        }
        Path profile = Files.createTempDirectory("spikeconv-chromium-");
        Process process = new ProcessBuilder(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile, "--dump-dom",
                html.toUri().toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String dom = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(dom.split("<svg class=\"chart\"", -1).length - 1).isEqualTo(charts);
        assertThat(dom).contains("<polyline class=\"series\"", "<polyline class=\"running-mean\"", "<rect class=\"bar\"", "All 8 goals met",
                "no integer GEMM kernel", "<table id=\"distance\">", "<table id=\"spike-sites\">");
        try (var paths = Files.walk(profile)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
    }
}
