# spikeconv build. Finds a JDK 25 by itself (bin/find-java) and drives the Maven wrapper.
SHELL := /bin/sh

JAVA_HOME := $(shell bin/find-java)
ifeq ($(JAVA_HOME),)
$(error no JDK 25 found: see the message above)
endif
export JAVA_HOME

MVN := ./mvnw -B -ntp
# The shared test models live beside the repository (../shared/testmodels, or one level further up); SPIKECONV_TESTMODELS overrides.
TESTMODELS ?= $(firstword $(SPIKECONV_TESTMODELS) $(wildcard $(abspath $(CURDIR)/../shared/testmodels) $(abspath $(CURDIR)/../../shared/testmodels)))
DEMO_MODEL ?= $(TESTMODELS)/stories260K-llama2c/stories260K.bin
DEMO_BUNDLE ?= target/demo/stories260K-spiking
DEMO_DATA ?= $(TESTMODELS)/corpus-tinystories-valid/tinystories_valid_head.txt
DEMO_CALIBRATION_TOKENS ?= 4096
# plan scores its plans on the 4096 tokens after the calibration text; verify reads the 2048 after those, which chose nothing.
DEMO_PLAN_TOKENS ?= 4096
DEMO_VERIFY_SKIP ?= 8192

.PHONY: build test test-tools demo bench fuzz clean

build:
	$(MVN) -q -DskipTests package

test: test-tools
	$(MVN) verify

# The verify HTML report is checked in headless Chromium (Debian package chromium); install it when it is missing.
test-tools:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "make test: installing Debian's chromium for the HTML report test"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; \
		elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; \
		else echo "make test: chromium is missing and cannot be installed without root; install the Debian package chromium" >&2; exit 1; fi; }

demo: build
	@if [ ! -f "$(DEMO_MODEL)" ]; then \
		echo "make demo: default model not found at '$(DEMO_MODEL)'; set SPIKECONV_TESTMODELS or DEMO_MODEL" >&2; exit 66; fi
	bin/spikeconv inspect "$(DEMO_MODEL)"
	@echo
	@echo "== greedy story from the dense model (ONNX Runtime)"
	bin/spikeconv generate "$(DEMO_MODEL)" --temperature 0 --max-tokens 120
	@echo
	@echo "== plan: which 3 of the 5 layers lose least as GLA (each fitted and scored by KL to the dense model; report: $(DEMO_BUNDLE).plan.html)"
	@mkdir -p "$(dir $(DEMO_BUNDLE))"
	bin/spikeconv plan "$(DEMO_MODEL)" --data "$(DEMO_DATA)" --gla 3 --tokens $(DEMO_CALIBRATION_TOKENS) --eval-tokens $(DEMO_PLAN_TOKENS) \
		-o "$(DEMO_BUNDLE).plan.json" --html "$(DEMO_BUNDLE).plan.html"
	@echo
	@echo "== convert to SpikingBrain's hybrid per that plan: GLA and sliding-window layers, int8 weights, integer spikes"
	bin/spikeconv convert "$(DEMO_MODEL)" -o "$(DEMO_BUNDLE)" --plan "@$(DEMO_BUNDLE).plan.json" --target neuromorphic-event --force
	@echo
	@echo "== calibrate on $(DEMO_CALIBRATION_TOKENS) TinyStories tokens: fit the GLA layers to the dense model, static integer thresholds"
	bin/spikeconv calibrate "$(DEMO_BUNDLE)" --reference "$(DEMO_MODEL)" --data "$(DEMO_DATA)" --tokens $(DEMO_CALIBRATION_TOKENS) \
		--method mse --target-sparsity 0.97 --target neuromorphic-event
	@echo
	@echo "== greedy story from the calibrated bundle (its own ONNX graph)"
	bin/spikeconv generate "$(DEMO_BUNDLE)" --temperature 0 --max-tokens 120
	@echo
	@echo "== verify against the dense model on text neither calibration nor plan saw (report: $(DEMO_BUNDLE).verify.html)"
	bin/spikeconv verify "$(DEMO_BUNDLE)" --reference "$(DEMO_MODEL)" --data "$(DEMO_DATA)" --skip-tokens $(DEMO_VERIFY_SKIP) --tokens 2048 \
		--layer-kl --html "$(DEMO_BUNDLE).verify.html"

# JMH microbenchmarks of the kernels (JMH_ARGS, e.g. -f 1 -wi 3 -i 5 SpikeProduct), then spikeconv bench on generated
# models (BENCH_ARGS, e.g. --contexts 1024,4096 --repeats 1; --json/--html). The bench heap is capped as the goals say.
JMH_ARGS ?= -f 1 -wi 3 -w 2s -i 5 -r 2s
BENCH_ARGS ?= --json target/bench/bench.json --html target/bench/bench.html
BENCH_JAVA_OPTS ?= -Xmx512m

bench: build
	@mkdir -p target/bench
	"$(JAVA_HOME)/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector --sun-misc-unsafe-memory-access=allow \
		-cp "jmh/target/classes:jmh/target/lib/*" org.openjdk.jmh.Main $(JMH_ARGS) -rf json -rff target/bench/jmh.json
	SPIKECONV_JAVA_OPTS="$(BENCH_JAVA_OPTS)" bin/spikeconv bench $(BENCH_ARGS)

# Fuzz targets (module:class#method). make test runs their committed seeds; make fuzz fuzzes each for FUZZ_TIME.
FUZZ_TIME ?= 10m
READER_FUZZ := formats:dev.spikeconv.formats.fuzz.ReaderFuzzTest
INPUT_FUZZ := converter:dev.spikeconv.converter.fuzz.InputFuzzTest
FUZZ_TARGETS ?= $(addprefix $(READER_FUZZ)\#,safetensors shardIndex huggingFaceConfig gguf llama2cCheckpoint llama2cTokenizer pytorchCheckpoint \
	huggingFaceTokenizer) $(addprefix $(INPUT_FUZZ)\#,onnxGraph calibrationStatistics calibrationJson targetProfile goals referenceLogits)

fuzz:
	@mkdir -p target/fuzz; failed=""; \
	for target in $(FUZZ_TARGETS); do \
		module=$${target%%:*}; test=$${target#*:}; name=$$(echo "$${test##*.}" | tr "\#" .); log=target/fuzz/$$name.log; \
		modules=formats; [ "$$module" = formats ] || modules=formats,$$module; \
		echo "== fuzzing $$name for $(FUZZ_TIME) (log: $$log)"; \
		if JAZZER_FUZZ=1 JAZZER_MAX_DURATION=$(FUZZ_TIME) $(MVN) verify -pl $$modules -Dspikeconv.fuzzing=true -Dtest="$$test" -Dsurefire.failIfNoSpecifiedTests=false > $$log 2>&1; \
		then status=ok; else status=FINDING; failed="$$failed $$name"; fi; \
		grep -q '^Done' $$log || { status="DID NOT RUN"; failed="$$failed $$name"; }; \
		echo "   $$status: $$(grep -h '^Done' $$log | tail -1); $$(grep -ho 'cov: [0-9]* ft: [0-9]* corp: [0-9/a-zA-Z]*' $$log | tail -1)"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzzing failed for:$$failed (see the logs; finding inputs are saved under src/test/resources/.../*Inputs/)" >&2; exit 1; fi

clean:
	$(MVN) -q clean
