package dev.spikeconv.jmh;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/** Runs every benchmark method once, set up as JMH would with each parameter's first value: a benchmark that breaks fails here, not at make bench. */
class BenchmarksRunOnceTest {
    static Stream<Method> benchmarks() {
        List<Method> methods = new ArrayList<>();
        for (Class<?> type : List.of(Int8QuantizerBenchmark.class, SpikeProductBenchmark.class, GatedLinearChunkBenchmark.class, TensorReadBenchmark.class,
                StatisticsBenchmark.class, ProjectionBenchmark.class)) {
            for (Method method : type.getDeclaredMethods()) {
                if (method.isAnnotationPresent(Benchmark.class)) {
                    methods.add(method);
                }
            }
        }
        return methods.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("benchmarks")
    void runsOnce(Method benchmark) throws Exception {
        Class<?> type = benchmark.getDeclaringClass();
        Object state = type.getDeclaredConstructor().newInstance();
        for (Field field : type.getDeclaredFields()) {
            Param param = field.getAnnotation(Param.class);
            if (param != null) {
                field.set(state, field.getType() == int.class ? Integer.parseInt(param.value()[0]) : param.value()[0]);
            }
        }
        invokeAnnotated(state, Setup.class);
        try {
            assertThat(benchmark.invoke(state)).isNotNull();
        }
        finally {
            invokeAnnotated(state, TearDown.class);
        }
    }

    private static void invokeAnnotated(Object state, Class<? extends java.lang.annotation.Annotation> annotation) throws Exception {
        for (Method method : state.getClass().getDeclaredMethods()) {
            if (method.isAnnotationPresent(annotation)) {
                method.invoke(state);
            }
        }
    }
}
