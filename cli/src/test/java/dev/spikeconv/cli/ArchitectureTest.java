package dev.spikeconv.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The package structure as a test: no cycles between packages, and dependencies only downwards, from the command line
 * through the bench harness and the jobs (convert, calibrate, verify, ...) to the engines, their shared interfaces, the
 * numeric foundations and the formats.
 */
class ArchitectureTest {
    /** spikeconv's own main classes: neither test classes nor the formats test jar the cli tests see. */
    private static final JavaClasses CLASSES = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(location -> !location.contains("-tests.jar")).importPackages("dev.spikeconv");

    @Test
    void everyModuleIsImported() {
        for (String module : new String[] {"dev.spikeconv.formats", "dev.spikeconv.converter", "dev.spikeconv.bench", "dev.spikeconv.cli"}) {
            assertThat(CLASSES.stream().filter(type -> type.getPackageName().startsWith(module)).count()).as(module).isGreaterThan(10);
        }
    }

    @Test
    void packagesHaveNoCycles() {
        slices().matching("dev.spikeconv.(**)").should().beFreeOfCycles().check(CLASSES);
    }

    @Test
    void dependenciesPointDownwards() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("command line").definedBy("dev.spikeconv.cli..")
                .layer("bench harness").definedBy("dev.spikeconv.bench..")
                .layer("jobs").definedBy("dev.spikeconv.converter.bundle..", "dev.spikeconv.converter.calibration..", "dev.spikeconv.converter.verify..",
                        "dev.spikeconv.converter.transfer..", "dev.spikeconv.converter.hardware..", "dev.spikeconv.converter.inspect..",
                        "dev.spikeconv.converter.planner..")
                .layer("engine selection").definedBy("dev.spikeconv.converter.engines..")
                .layer("engines").definedBy("dev.spikeconv.converter.reference..", "dev.spikeconv.converter.onnx..")
                .layer("execution").definedBy("dev.spikeconv.converter.execution..")
                .layer("foundations").definedBy("dev.spikeconv.converter", "dev.spikeconv.converter.kernels..", "dev.spikeconv.converter.quantization..",
                        "dev.spikeconv.converter.report..", "dev.spikeconv.converter.plan..", "dev.spikeconv.converter.layers..",
                        "dev.spikeconv.converter.metrics..", "dev.spikeconv.converter.spiking..")
                .layer("formats").definedBy("dev.spikeconv.formats..")
                .whereLayer("command line").mayNotBeAccessedByAnyLayer()
                .whereLayer("bench harness").mayOnlyBeAccessedByLayers("command line")
                .whereLayer("jobs").mayOnlyBeAccessedByLayers("command line", "bench harness")
                .whereLayer("engine selection").mayOnlyBeAccessedByLayers("command line", "bench harness", "jobs")
                .whereLayer("engines").mayOnlyBeAccessedByLayers("command line", "bench harness", "jobs", "engine selection")
                .whereLayer("execution").mayOnlyBeAccessedByLayers("command line", "bench harness", "jobs", "engine selection", "engines")
                .whereLayer("foundations").mayOnlyBeAccessedByLayers("command line", "bench harness", "jobs", "engine selection", "engines", "execution")
                .check(CLASSES);
    }

    /** The engine knows nothing of picocli: commands parse options and hand plain option records over. */
    @Test
    void onlyTheCommandLineKnowsPicocli() {
        noClasses().that().resideOutsideOfPackage("dev.spikeconv.cli..").should().dependOnClassesThat().resideInAPackage("picocli..").check(CLASSES);
    }
}
