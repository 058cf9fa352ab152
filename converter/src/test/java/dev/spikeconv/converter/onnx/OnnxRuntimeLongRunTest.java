package dev.spikeconv.converter.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Thousands of runs in one process: every tensor, result and session is closed, so memory stays flat
 * and no folder is left. Resident memory moves by some megabytes as the heap's pages are touched; a
 * leaked logits tensor per run would add about 100 MiB between the two readings.
 */
class OnnxRuntimeLongRunTest {
    private static final int RUNS = 2000;
    private static final int WARM_UP = 500;
    /** A leaked logits tensor of these (256 x 64 floats) is 64 KiB per run. */
    private static final int[] TOKENS = tokens(256);

    private static int[] tokens(int count) {
        int[] tokens = new int[count];
        for (int i = 0; i < count; i++) {
            tokens[i] = (i * 7 + 1) % 64;
        }
        return tokens;
    }

    /** Graphs built in memory over the model's files, and graphs written to a temporary folder (removed on close). */
    @ParameterizedTest(name = "written to a folder {0}")
    @ValueSource(booleans = {false, true})
    void thousandsOfRunsKeepMemoryFlatAndLeaveNoFolders(boolean toFolder) throws IOException {
        List<String> before = exportFolders();
        long afterWarmUp = 0;
        List<String> traced = List.of(DecoderGraphWriter.hiddenStates(0));
        try (ModelDescription model = CheckpointLoader.open(TestModels.testdata("reference", "tiny-llama"));
                OnnxRuntimeEngine engine = toFolder ? OnnxRuntimeEngine.exportToFolder(model, OnnxRuntimeOptions.DEFAULT, GraphOptions.STANDARD, traced)
                        : OnnxRuntimeEngine.export(model, OnnxRuntimeOptions.DEFAULT, GraphOptions.STANDARD, traced)) {
            for (int run = 0; run < RUNS; run++) {
                try (OnnxRuntimeEngine.RuntimeSession session = engine.newSession()) {
                    if (run % 2 == 0) {
                        session.forward(TOKENS);
                        session.forward(new int[] {4});
                    }
                    else {
                        session.forwardTraced(TOKENS, List.of(DecoderGraphWriter.hiddenStates(0)));
                    }
                }
                if (run == WARM_UP - 1) {
                    afterWarmUp = residentKib();
                }
            }
            assertThat(exportFolders()).hasSize(before.size() + (toFolder ? 1 : 0));
            long growth = residentKib() - afterWarmUp;
            assertThat(growth).as("resident memory growth over %d runs, KiB", RUNS - WARM_UP).isLessThan(32 * 1024);
        }
        assertThat(exportFolders()).isEqualTo(before);
    }

    private static long residentKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    private static List<String> exportFolders() throws IOException {
        try (Stream<Path> entries = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return entries.map(path -> path.getFileName().toString()).filter(name -> name.startsWith("spikeconv-onnx-")).sorted().toList();
        }
    }
}
