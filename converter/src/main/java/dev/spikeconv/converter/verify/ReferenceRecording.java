package dev.spikeconv.converter.verify;

import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.safetensors.SafetensorsFile;
import dev.spikeconv.formats.safetensors.SafetensorsWriter;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The dense model's side of a verification, saved once ({@code --save-reference}) so CI runs can skip
 * the dense model ({@code --reference-logits}): the tokens, the logits, every layer's hidden states and
 * attention shares, in a safetensors file.
 */
public record ReferenceRecording(int[] tokens, float[][] logits, float[][][] hiddenStates, double[] attentionShares, String description) {
    static final String TOKENS = "tokens";
    static final String LOGITS = "logits";
    static final String HIDDEN_STATES = "hidden_states";
    static final String ATTENTION_SHARES = "attention_shares";

    public void write(Path file) throws IOException {
        int count = tokens.length;
        int vocabulary = logits[0].length;
        int layers = hiddenStates.length;
        int hidden = layers == 0 ? 0 : hiddenStates[0][0].length;
        List<SafetensorsWriter.TensorEntry> entries = List.of(
                new SafetensorsWriter.TensorEntry(TOKENS, DType.I64, Shape.of(count)),
                new SafetensorsWriter.TensorEntry(LOGITS, DType.F32, Shape.of(count, vocabulary)),
                new SafetensorsWriter.TensorEntry(HIDDEN_STATES, DType.F32, Shape.of(layers, count, hidden)),
                new SafetensorsWriter.TensorEntry(ATTENTION_SHARES, DType.F64, Shape.of(layers)));
        Path temporary = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.deleteIfExists(temporary);
        SafetensorsWriter.write(temporary, entries, Map.of("format", "spikeconv-verify-reference", "reference", description), (entry, channel) -> {
            switch (entry.name()) {
                case TOKENS -> {
                    ByteBuffer bytes = ByteBuffer.allocate(count * 8).order(ByteOrder.LITTLE_ENDIAN);
                    for (int token : tokens) {
                        bytes.putLong(token);
                    }
                    SafetensorsWriter.writeFully(channel, bytes.flip());
                }
                case LOGITS -> writeRows(channel, logits);
                case HIDDEN_STATES -> {
                    for (float[][] layer : hiddenStates) {
                        writeRows(channel, layer);
                    }
                }
                default -> {
                    ByteBuffer bytes = ByteBuffer.allocate(layers * 8).order(ByteOrder.LITTLE_ENDIAN);
                    for (double share : attentionShares) {
                        bytes.putDouble(share);
                    }
                    SafetensorsWriter.writeFully(channel, bytes.flip());
                }
            }
        });
        Files.move(temporary, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static void writeRows(java.nio.channels.WritableByteChannel channel, float[][] rows) throws IOException {
        for (float[] row : rows) {
            ByteBuffer bytes = ByteBuffer.allocate(row.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(row);
            SafetensorsWriter.writeFully(channel, bytes);
        }
    }

    public static ReferenceRecording read(Path file) throws IOException {
        try (SafetensorsFile safetensors = SafetensorsFile.open(file)) {
            Map<String, StoredTensor> tensors = safetensors.tensors();
            for (String name : new String[] {TOKENS, LOGITS, HIDDEN_STATES, ATTENTION_SHARES}) {
                if (!tensors.containsKey(name)) {
                    throw InvalidInputException.forFile(file, "is not a saved verify reference: it has no " + name + " tensor");
                }
            }
            StoredTensor logitsTensor = tensors.get(LOGITS);
            StoredTensor hiddenTensor = tensors.get(HIDDEN_STATES);
            int count = (int) tensors.get(TOKENS).shape().elementCount();
            if (logitsTensor.shape().rank() != 2 || logitsTensor.shape().dimension(0) != count || hiddenTensor.shape().rank() != 3
                    || hiddenTensor.shape().dimension(1) != count) {
                throw InvalidInputException.forFile(file, "has tensors of inconsistent shapes for " + count + " tokens");
            }
            float[] tokenValues = tensors.get(TOKENS).toFloats();
            int[] tokenIds = new int[count];
            for (int i = 0; i < count; i++) {
                tokenIds[i] = (int) tokenValues[i];
            }
            int vocabulary = (int) logitsTensor.shape().dimension(1);
            float[][] logitRows = new float[count][vocabulary];
            for (int t = 0; t < count; t++) {
                logitsTensor.readFloats((long) t * vocabulary, logitRows[t], 0, vocabulary);
            }
            int layers = (int) hiddenTensor.shape().dimension(0);
            int hidden = (int) hiddenTensor.shape().dimension(2);
            float[][][] states = new float[layers][count][hidden];
            for (int layer = 0; layer < layers; layer++) {
                for (int t = 0; t < count; t++) {
                    hiddenTensor.readFloats(((long) layer * count + t) * hidden, states[layer][t], 0, hidden);
                }
            }
            float[] shares = tensors.get(ATTENTION_SHARES).toFloats();
            double[] attentionShares = new double[shares.length];
            for (int i = 0; i < shares.length; i++) {
                attentionShares[i] = shares[i];
            }
            return new ReferenceRecording(tokenIds, logitRows, states, attentionShares, safetensors.metadata().getOrDefault("reference", file.toString()));
        }
    }
}
