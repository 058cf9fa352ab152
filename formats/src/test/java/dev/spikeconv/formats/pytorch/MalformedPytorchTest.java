package dev.spikeconv.formats.pytorch;

import static dev.spikeconv.formats.testing.InputErrors.assertInvalid;
import static dev.spikeconv.formats.testing.InputErrors.assertLoadsOrRefuses;
import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.testing.CheckpointWriters;
import dev.spikeconv.formats.testing.PickleWriter;
import dev.spikeconv.formats.testing.TinyModels;
import dev.spikeconv.formats.testing.TorchZipWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.zip.ZipEntry;
import org.apache.commons.compress.archivers.zip.UnixStat;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MalformedPytorchTest {
    @TempDir
    Path directory;

    private Path path() {
        return directory.resolve("pytorch_model.bin");
    }

    private static TorchZipWriter oneTensor() {
        return new TorchZipWriter().add("w", DType.F32, Shape.of(2), new byte[8]);
    }

    /** A zip with the given entries, each STORED unless its name ends in ".deflated". */
    private Path zip(String... namesAndContents) throws IOException {
        try (ZipArchiveOutputStream zip = new ZipArchiveOutputStream(path())) {
            for (int i = 0; i < namesAndContents.length; i += 2) {
                ZipArchiveEntry entry = new ZipArchiveEntry(namesAndContents[i]);
                entry.setMethod(namesAndContents[i].endsWith(".deflated") ? ZipEntry.DEFLATED : ZipEntry.STORED);
                byte[] content = namesAndContents[i + 1].getBytes(StandardCharsets.ISO_8859_1);
                if (entry.getMethod() == ZipEntry.STORED) {
                    entry.setSize(content.length);
                    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
                    crc.update(content);
                    entry.setCrc(crc.getValue());
                }
                zip.putArchiveEntry(entry);
                zip.write(content);
                zip.closeArchiveEntry();
            }
        }
        return path();
    }

    @Test
    void readsATorchSaveArchive() throws IOException {
        oneTensor().write(path());
        try (PytorchCheckpoint checkpoint = PytorchCheckpoint.open(path())) {
            assertThat(checkpoint.tensors()).containsOnlyKeys("w");
        }
    }

    @Test
    void legacyFormatAndNonZipFiles() throws IOException {
        Files.write(path(), new PickleWriter().protocol().emptyDict().stop().toByteArray());
        assertInvalid(() -> PytorchCheckpoint.open(path()), "legacy (pre-1.6)");
        Files.writeString(path(), "definitely not a zip");
        assertInvalid(() -> PytorchCheckpoint.open(path()), "magic");
    }

    @Test
    void entriesThatEscapeTheirFolder() throws IOException {
        for (String name : new String[] {"../evil", "archive/../../evil", "/etc/passwd", "C:/evil", "archive\\..\\evil"}) {
            zip("archive/data.pkl", "x", name, "y");
            assertInvalid(() -> PytorchCheckpoint.open(path()), "entry name", "a relative path inside the archive");
        }
    }

    @Test
    void symbolicLinkEntries() throws IOException {
        try (ZipArchiveOutputStream zip = new ZipArchiveOutputStream(path())) {
            ZipArchiveEntry link = new ZipArchiveEntry("archive/data/0");
            link.setUnixMode(UnixStat.LINK_FLAG | 0777);
            zip.putArchiveEntry(link);
            zip.write("/etc/shadow".getBytes(StandardCharsets.US_ASCII));
            zip.closeArchiveEntry();
        }
        assertInvalid(() -> PytorchCheckpoint.open(path()), "archive/data/0", "symbolic link");
    }

    @Test
    void duplicateEntries() throws IOException {
        zip("archive/data.pkl", "x", "archive/data.pkl", "y");
        assertInvalid(() -> PytorchCheckpoint.open(path()), "archive/data.pkl", "duplicate");
    }

    @Test
    void entriesInSeveralFolders() throws IOException {
        zip("archive/data.pkl", "x", "other/data/0", "y");
        assertInvalid(() -> PytorchCheckpoint.open(path()), "one top-level folder");
    }

    @Test
    void noPickle() throws IOException {
        zip("archive/version", "3");
        assertInvalid(() -> PytorchCheckpoint.open(path()), "archive/data.pkl", "not a torch.save checkpoint");
    }

    @Test
    void hostilePickleInAnArchive() throws IOException {
        byte[] evil = new PickleWriter().protocol().global("os", "system").mark().string("rm -rf ~").tupleFromMark().reduce().stop().toByteArray();
        oneTensor().write(path(), "archive", evil);
        assertInvalid(() -> PytorchCheckpoint.open(path()), "'os.system'", "refused");
    }

    @Test
    void declaredSizeFarFromTheRealOne() throws IOException {
        // A deflated pickle whose central directory claims 2 bytes: inflating more than declared is refused.
        byte[] pickle = oneTensor().pickle();
        try (ZipArchiveOutputStream zip = new ZipArchiveOutputStream(path())) {
            ZipArchiveEntry entry = new ZipArchiveEntry("archive/data.pkl");
            entry.setMethod(ZipEntry.DEFLATED);
            zip.putArchiveEntry(entry);
            zip.write(pickle);
            zip.closeArchiveEntry();
        }
        byte[] bytes = Files.readAllBytes(path());
        patchUncompressedSize(bytes, 2);
        Files.write(path(), bytes);
        assertInvalid(() -> PytorchCheckpoint.open(path()));
        // and one that claims gigabytes is refused before inflating anything
        patchUncompressedSize(bytes, 3_000_000_000L);
        Files.write(path(), bytes);
        assertInvalid(() -> PytorchCheckpoint.open(path()), "archive/data.pkl size");
    }

    /** Sets the uncompressed size in every local and central header of the file. */
    private static void patchUncompressedSize(byte[] zip, long size) {
        ByteBuffer buffer = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i + 4 <= zip.length; i++) {
            int signature = buffer.getInt(i);
            if (signature == 0x04034b50) {
                buffer.putInt(i + 22, (int) size);
            }
            else if (signature == 0x02014b50) {
                buffer.putInt(i + 24, (int) size);
            }
        }
    }

    @Test
    void compressedStorage() throws IOException {
        byte[] pickle = oneTensor().pickle();
        String latin1 = new String(pickle, StandardCharsets.ISO_8859_1);
        try (ZipArchiveOutputStream zip = new ZipArchiveOutputStream(path())) {
            for (String[] entry : new String[][] {{"archive/data.pkl", latin1}, {"archive/data/0", "\0".repeat(8)}}) {
                ZipArchiveEntry zipEntry = new ZipArchiveEntry(entry[0]);
                zipEntry.setMethod(ZipEntry.DEFLATED);
                zip.putArchiveEntry(zipEntry);
                zip.write(entry[1].getBytes(StandardCharsets.ISO_8859_1));
                zip.closeArchiveEntry();
            }
        }
        assertInvalid(() -> PytorchCheckpoint.open(path()), "archive/data/0", "STORED");
    }

    @Test
    void missingStorageAndTensorsBeyondTheirStorage() throws IOException {
        byte[] pickle = new TorchZipWriter().addStorage("7", DType.F32, new byte[8])
                .addView(new TorchZipWriter.Tensor("w", DType.F32, Shape.of(2), "7", 0))
                .pickle();
        new TorchZipWriter().addStorage("0", DType.F32, new byte[8]).write(path(), "archive", pickle);
        assertInvalid(() -> PytorchCheckpoint.open(path()), "tensor w refers to storage 7, which the archive lacks");
        TorchZipWriter beyond = new TorchZipWriter().addStorage("0", DType.F32, new byte[8])
                .addView(new TorchZipWriter.Tensor("w", DType.F32, Shape.of(2), "0", 1));
        beyond.write(path());
        assertInvalid(() -> PytorchCheckpoint.open(path()), "tensor w", "within its storage of 2");
    }

    @Test
    void storageKeyThatIsAPath() throws IOException {
        TorchZipWriter writer = new TorchZipWriter().addStorage("0", DType.F32, new byte[8])
                .addView(new TorchZipWriter.Tensor("w", DType.F32, Shape.of(2), "0", 0));
        String pickle = new String(writer.pickle(), StandardCharsets.ISO_8859_1).replace("X\u0001\u0000\u0000\u00000", "X\u0004\u0000\u0000\u0000../0");
        writer.write(path(), "archive", pickle.getBytes(StandardCharsets.ISO_8859_1));
        assertInvalid(() -> PytorchCheckpoint.open(path()), "storage key '../0'");
    }

    @Test
    void bigEndianArchive() throws IOException {
        zip("archive/data.pkl", new String(oneTensor().pickle(), StandardCharsets.ISO_8859_1), "archive/byteorder", "big", "archive/data/0", "\0".repeat(8));
        assertInvalid(() -> PytorchCheckpoint.open(path()), "byteorder", "little", "big");
    }

    @Test
    void everyTruncationAndByteFlipIsRefusedCleanly() throws IOException {
        Path folder = CheckpointWriters.writePytorch(TinyModels.llamaTied(), directory.resolve("valid"), DType.F32, 1);
        Path file = folder.resolve("pytorch_model.bin");
        byte[] valid = Files.readAllBytes(file);
        for (int length = 0; length < valid.length; length += Math.max(1, valid.length / 200)) {
            Files.write(file, Arrays.copyOf(valid, length));
            assertInvalid(() -> CheckpointLoader.open(folder).close());
        }
        SplittableRandom random = new SplittableRandom(13);
        for (int trial = 0; trial < 300; trial++) {
            byte[] flipped = valid.clone();
            int position = random.nextInt(flipped.length);
            flipped[position] ^= (byte) (1 << random.nextInt(8));
            Files.write(file, flipped);
            assertLoadsOrRefuses(() -> {
                try (ModelDescription model = CheckpointLoader.open(folder)) {
                    model.tensors().values().forEach(tensor -> tensor.toFloats());
                }
            }, "byte " + position + " flipped");
        }
    }
}
