package dev.spikeconv.formats.hf;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.json.JsonFields;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.SequencedSet;

/**
 * The {@code weight_map} of a sharded checkpoint ({@code model.safetensors.index.json} or
 * {@code pytorch_model.bin.index.json}): which shard file holds each tensor. Shard names must be plain
 * file names in the index's folder.
 */
public record ShardIndex(Path indexFile, Map<String, String> shardByTensor) {
    static final long MAX_INDEX_BYTES = 64L << 20;

    public ShardIndex {
        shardByTensor = Collections.unmodifiableMap(new LinkedHashMap<>(shardByTensor));
    }

    public static ShardIndex read(Path indexFile) throws IOException {
        JsonFields root = JsonFields.of(indexFile, JsonDocuments.read(indexFile, MAX_INDEX_BYTES), "");
        JsonFields weightMap = root.object("weight_map");
        Map<String, String> shardByTensor = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> entry : weightMap.node().properties()) {
            String shard = weightMap.requireString(entry.getKey());
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.contains("\0") || shard.equals(".") || shard.equals("..")) {
                throw InvalidInputException.forField(indexFile, "weight_map." + entry.getKey(), "a file name in the index's folder", "'" + shard + "'");
            }
            shardByTensor.put(entry.getKey(), shard);
        }
        if (shardByTensor.isEmpty()) {
            throw InvalidInputException.forField(indexFile, "weight_map", "at least one tensor", "none");
        }
        return new ShardIndex(indexFile, shardByTensor);
    }

    /** Shard file names in order of first appearance. */
    public SequencedSet<String> shards() {
        return new LinkedHashSet<>(shardByTensor.values());
    }

    public Path shardPath(String shard) {
        return indexFile.resolveSibling(shard);
    }
}
