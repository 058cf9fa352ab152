package dev.spikeconv.converter.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spikeconv.converter.hardware.ManifestOptions;
import dev.spikeconv.converter.hardware.TargetProfiles;
import dev.spikeconv.converter.plan.LayerPlans;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.testing.TinyModel;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A bundle records the SHA-256 of each of its files and proves its own integrity: one flipped byte in any file is found and named. */
class BundleFileHashesTest {
    @TempDir
    Path directory;

    @Test
    void aFlippedByteInAnyFileIsNamed() throws IOException {
        TinyModel model = TinyModels.llama();
        ConversionOptions options = new ConversionOptions(LayerPlans.parse("alternate", 8, 0, model.config()), QuantizationOptions.DEFAULT, Bundles.DYNAMIC,
                false, ConversionOptions.DEFAULT_MAX_SHARD_BYTES, false, List.of(TargetProfiles.shipped("cpu-x86-avx2")), ManifestOptions.DEFAULT);
        Path bundle = Bundles.convert(model, directory, "bundle", options);
        Map<String, String> recorded = BundleFileHashes.recorded(bundle);
        assertThat(recorded).containsKeys("model.safetensors", "model.onnx", "manifest.cpu-x86-avx2.json").doesNotContainKey("config.json");
        assertThat(BundleFileHashes.mismatches(bundle)).isEmpty();
        BundleFileHashes.checkOnce(bundle, directory.resolve("cache.json"));
        for (String file : recorded.keySet()) {
            Path copy = copyOf(bundle, "flipped-" + file.replace('/', '-'));
            byte[] bytes = Files.readAllBytes(copy.resolve(file));
            bytes[bytes.length / 2] ^= 0x10;
            Files.write(copy.resolve(file), bytes);
            assertThat(BundleFileHashes.mismatches(copy)).as(file).singleElement().asString().startsWith(file + ": SHA-256 differs");
            assertThatThrownBy(() -> BundleFileHashes.checkOnce(copy, directory.resolve("cache.json"))).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining(file + ": SHA-256 differs");
        }
        Path missing = copyOf(bundle, "missing");
        Files.delete(missing.resolve("model.onnx"));
        assertThat(BundleFileHashes.mismatches(missing)).containsExactly("model.onnx: missing (config.json records it)");
    }

    @Test
    void aCheckedStateIsRememberedAndAChangeIsStillFound() throws IOException {
        TinyModel model = TinyModels.llama();
        Path bundle = Bundles.convert(model, directory, "bundle", Bundles.options("dense", 8, 0, QuantizationOptions.DEFAULT, Bundles.DYNAMIC, model));
        Path cache = directory.resolve("cache.json");
        BundleFileHashes.checkOnce(bundle, cache);
        assertThat(Files.readString(cache)).contains(bundle.resolve("model.safetensors").toAbsolutePath().toString());
        // the same bytes rewritten with another time: hashed again, and still intact
        Path safetensors = bundle.resolve("model.safetensors");
        Files.setLastModifiedTime(safetensors, java.nio.file.attribute.FileTime.fromMillis(0));
        BundleFileHashes.checkOnce(bundle, cache);
        byte[] bytes = Files.readAllBytes(safetensors);
        bytes[bytes.length - 1] ^= 1;
        Files.write(safetensors, bytes);
        assertThatThrownBy(() -> BundleFileHashes.checkOnce(bundle, cache)).hasMessageContaining("model.safetensors: SHA-256 differs");
    }

    private Path copyOf(Path bundle, String name) throws IOException {
        Path copy = directory.resolve(name);
        try (Stream<Path> paths = Files.walk(bundle)) {
            for (Path path : paths.toList()) {
                Path target = copy.resolve(bundle.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(target);
                }
                else {
                    Files.copy(path, target);
                }
            }
        }
        return copy;
    }
}
