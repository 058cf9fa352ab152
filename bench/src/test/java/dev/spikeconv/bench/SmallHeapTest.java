package dev.spikeconv.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.bench.SyntheticCheckpoint.Dimensions;
import dev.spikeconv.formats.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Convert, calibrate and verify of a 300 MB bf16 checkpoint (150M weights) in a JVM whose heap is 128 MB: a
 * regression to holding a model as floats (600 MB here) fails this, long before anyone tries a 7B model.
 */
class SmallHeapTest {
    private static final Dimensions MODEL = new Dimensions(1024, 2816, 1, 16, 4, 8000).withLayersForBytes(300L << 20, DType.BF16);

    @TempDir
    Path directory;

    @Test
    void aModelOfTwiceTheHeapIsConvertedCalibratedAndVerified() throws IOException, InterruptedException {
        Path source = directory.resolve("source");
        long bytes = SyntheticCheckpoint.write(source, MODEL, DType.BF16, 3);
        assertThat(bytes).isGreaterThan(250L << 20);
        Path ids = directory.resolve("ids.txt");
        SplittableRandom random = new SplittableRandom(5);
        Files.writeString(ids, IntStream.range(0, 512).mapToObj(i -> Integer.toString(1 + random.nextInt(MODEL.vocabularySize() - 1)))
                .collect(Collectors.joining(" ")));
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), SmallHeapSteps.class.getName(), source.toString(), directory.resolve("bundle").toString(),
                ids.toString()));
        Path log = directory.resolve("steps.log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertThat(process.waitFor(10, TimeUnit.MINUTES)).as("finished").isTrue();
        String output = Files.readString(log);
        assertThat(process.exitValue()).as(output).isZero();
        assertThat(output).contains("converted", "calibrated", "verified").doesNotContain("OutOfMemoryError");
        assertThat(directory.resolve("bundle").resolve("calibration.json")).exists();
    }
}
