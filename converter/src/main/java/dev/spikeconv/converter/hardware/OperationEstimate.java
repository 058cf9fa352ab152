package dev.spikeconv.converter.hardware;

import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.SpikeSettings;

/**
 * Operations per decoded token at a given context, dense against spiking, and their energy from the
 * target's table. A spiking projection replaces its multiply-accumulates with one int8 add per spike
 * event and weight row: {@code outputs · inputs · events per input}, plus one float multiply per output
 * and group for the scales. Without measured activity, events per input are estimated from the dynamic
 * threshold: {@code θ = mean|a|/k} makes the mean count k (ternary), or its set bits (bitwise).
 */
public record OperationEstimate(double denseMacs, double spikingAdds, double floatMacsWhenSpiking, double eventsPerInput, String activitySource,
        double denseJoules, double spikingJoules) {
    public static OperationEstimate of(ModelFootprint model, TargetProfile target, ManifestOptions options, Double measuredEventsPerInput) {
        ModelConfig config = model.config();
        SpikeSettings spike = config.spike();
        double events = measuredEventsPerInput != null ? measuredEventsPerInput
                : switch (spike.coding()) {
                    case BINARY, TERNARY -> spike.k();
                    case BITWISE -> Long.bitCount(Math.round(spike.k()));
                };
        String source = measuredEventsPerInput != null ? "measured by calibrate" : "estimate: dynamic threshold mean|a|/k gives mean |count| = k";
        long d = config.headDimension();
        long kvWidth = (long) config.keyValueHeadCount() * d;
        double dense = (double) config.vocabularySize() * config.hiddenSize();
        double adds = 0;
        double scaleMacs = 0;
        double spikingProjectionMacs = 0;
        for (ModelFootprint.LayerNeeds layer : model.layers()) {
            for (ModelFootprint.Projection projection : layer.projections()) {
                double macs = (double) projection.outputs() * projection.inputs();
                dense += macs;
                if (projection.spiking()) {
                    spikingProjectionMacs += macs;
                    adds += macs * events;
                    long groups = projection.group() == 0 ? 1 : (projection.inputs() + projection.group() - 1) / projection.group();
                    scaleMacs += (double) projection.outputs() * (groups + 1);
                }
            }
            dense += layer.kind().mixingMacsPerToken(config, options.context());
        }
        double floatWhenSpiking = dense - spikingProjectionMacs + scaleMacs;
        TargetProfile.Energy energy = target.energy();
        double denseJoules = dense * energy.fp16Mac() * 1e-12;
        double spikingJoules = (floatWhenSpiking * energy.fp16Mac() + adds * energy.int8Add()) * 1e-12;
        return new OperationEstimate(dense, adds, floatWhenSpiking, spike.spiking() ? events : 0, spike.spiking() ? source : "no spikes",
                denseJoules, spike.spiking() ? spikingJoules : denseJoules);
    }
}
