package dev.spikeconv.converter.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.testing.CheckpointWriters;
import dev.spikeconv.formats.testing.TinyModel;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a conversion does when its input changes, another conversion writes the same output, or an earlier run was killed. */
class BundleWriterFaultsTest {
    @TempDir
    Path directory;

    private final TinyModel model = TinyModels.llama();

    private Path source() throws IOException {
        Path source = directory.resolve("source");
        if (!Files.exists(source)) {
            CheckpointWriters.writeSafetensors(model, source, DType.F32, 1);
        }
        return source;
    }

    private BundleWriter.Summary convert(Path output, ConversionProgress progress) throws IOException {
        try (ModelDescription description = CheckpointLoader.open(source())) {
            return BundleWriter.convert(description, source(), output, Bundles.options("alternate", 8, 0, QuantizationOptions.DEFAULT, Bundles.DYNAMIC, model),
                    progress);
        }
    }

    private List<String> entries() throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(path -> path.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aSourceThatChangesDuringTheConversionIsRefused() throws IOException {
        Path output = directory.resolve("out");
        Path weights = source().resolve("model.safetensors");
        ConversionProgress appending = new StageAction(stage -> {
            if (stage.startsWith("writing model.safetensors")) {
                Files.write(weights, new byte[] {0}, StandardOpenOption.APPEND);
            }
        });
        assertThatThrownBy(() -> convert(output, appending)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("model.safetensors: changed while it was being converted");
        assertThat(entries()).containsExactly("source");
    }

    @Test
    void aSecondConversionToTheSameOutputIsRefusedWhileTheFirstRuns() throws Exception {
        Path output = directory.resolve("out");
        CountDownLatch writing = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ConversionProgress blocking = new StageAction(stage -> {
            if (stage.startsWith("writing model.safetensors")) {
                writing.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                }
                catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        CompletableFuture<BundleWriter.Summary> first = CompletableFuture.supplyAsync(() -> {
            try {
                return convert(output, blocking);
            }
            catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        assertThat(writing.await(30, TimeUnit.SECONDS)).isTrue();
        assertThatThrownBy(() -> convert(output, ConversionProgress.NONE)).isInstanceOf(FileSystemException.class)
                .hasMessageContaining("another spikeconv is writing it");
        release.countDown();
        assertThat(first.get(60, TimeUnit.SECONDS).output()).isEqualTo(output.toAbsolutePath());
        try (ModelDescription bundle = CheckpointLoader.open(output)) {
            assertThat(bundle.tensors()).isNotEmpty();
        }
    }

    @Test
    void stagingLeftByAKilledRunIsRemovedByTheNextOne() throws IOException {
        Path output = directory.resolve("out");
        Files.createDirectories(directory.resolve(".out.tmp-12345").resolve("half"));
        Files.writeString(directory.resolve(".out.tmp-12345").resolve("half").resolve("model.safetensors"), "half written");
        Files.createDirectories(directory.resolve(".out.old-999"));
        convert(output, ConversionProgress.NONE);
        assertThat(entries()).containsExactly("out", "source");
    }

    /** Runs an action at each stage, as a test's window into a conversion. */
    private record StageAction(IoAction action) implements ConversionProgress {
        @Override
        public void stage(String description) {
            try {
                action.run(description);
            }
            catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        @Override
        public void tensor(String name, long bytesDone, long bytesTotal) {
        }

        @Override
        public void warning(String message) {
        }
    }

    @FunctionalInterface
    private interface IoAction {
        void run(String stage) throws IOException;
    }
}
