package dev.spikeconv.converter.hardware;

import dev.spikeconv.formats.hf.ShardIndex;
import dev.spikeconv.formats.io.FileHashes;
import dev.spikeconv.formats.safetensors.SafetensorsFile;
import dev.spikeconv.formats.tensor.StoredTensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** The tensors of a bundle's safetensors file(s) as stored, with the SHA-256 of each one's bytes. */
public final class BundleTensorHashes {
    private static final long CHUNK = 1 << 24;

    /** One stored tensor. */
    public record TensorHash(String name, String dtype, long[] shape, String sha256) {}

    private BundleTensorHashes() {}

    public static List<TensorHash> of(Path bundle) throws IOException {
        List<Path> files = new ArrayList<>();
        Path index = bundle.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(index)) {
            ShardIndex.read(index).shards().forEach(shard -> files.add(bundle.resolve(shard)));
        }
        else {
            files.add(bundle.resolve("model.safetensors"));
        }
        List<TensorHash> hashes = new ArrayList<>();
        for (Path file : files) {
            try (SafetensorsFile safetensors = SafetensorsFile.open(file)) {
                for (StoredTensor tensor : safetensors.tensors().values()) {
                    hashes.add(new TensorHash(tensor.name(), tensor.dtype().name(), tensor.shape().dimensions(), sha256(tensor.data())));
                }
            }
        }
        return hashes;
    }

    /** One SHA-256 over every tensor's name, dtype, shape and hash: what calibration.json is bound to. */
    public static String digest(List<TensorHash> hashes) {
        MessageDigest digest = FileHashes.newDigest();
        for (TensorHash hash : hashes) {
            digest.update((hash.name() + " " + hash.dtype() + " " + java.util.Arrays.toString(hash.shape()) + " " + hash.sha256() + "\n")
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    static String sha256(MemorySegment data) {
        MessageDigest digest = FileHashes.newDigest();
        for (long offset = 0; offset < data.byteSize(); offset += CHUNK) {
            digest.update(data.asSlice(offset, Math.min(CHUNK, data.byteSize() - offset)).asByteBuffer());
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
