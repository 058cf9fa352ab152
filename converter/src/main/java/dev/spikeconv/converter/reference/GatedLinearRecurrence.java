package dev.spikeconv.converter.reference;

import dev.spikeconv.converter.kernels.VectorKernels;

/**
 * The GLA recurrence of one key/value head, token by token: {@code S_t = diag(α_t) S_{t-1} + k_tᵀ v_t},
 * {@code o_t = q_t S_t} for each query head of its group (docs/design.md §4).
 */
public final class GatedLinearRecurrence {
    private GatedLinearRecurrence() {}

    /**
     * Runs key/value head {@code keyHead} over {@code inputs}, continuing from {@code state} ({@code d·d},
     * updated), and writes its query heads' outputs into {@code output} {@code [count, heads·d]}.
     */
    public static void run(GatedLinearInputs inputs, int heads, int keyValueHeads, int d, int keyHead, float[] state, float[] output) {
        int group = heads / keyValueHeads;
        float[] queries = inputs.queries();
        float[] keys = inputs.keys();
        float[] values = inputs.values();
        float[] decays = inputs.decays();
        float[] read = new float[d];
        for (int t = 0; t < inputs.count(); t++) {
            int channel = (t * keyValueHeads + keyHead) * d;
            for (int i = 0; i < d; i++) {
                // S[i, :] = α_i S[i, :] + k_i v
                VectorKernels.scaleAndAdd(state, i * d, decays[channel + i], keys[channel + i], values, channel, d);
            }
            for (int member = 0; member < group; member++) {
                int offset = (t * heads + keyHead * group + member) * d;
                // o = Σ_i q_i S[i, :]
                java.util.Arrays.fill(read, 0f);
                for (int i = 0; i < d; i++) {
                    VectorKernels.addScaled(read, 0, queries[offset + i], state, i * d, d);
                }
                System.arraycopy(read, 0, output, offset, d);
            }
        }
    }
}
