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

.PHONY: build test demo clean

build:
	$(MVN) -q -DskipTests package

test:
	$(MVN) verify

demo: build
	@if [ ! -f "$(DEMO_MODEL)" ]; then \
		echo "make demo: default model not found at '$(DEMO_MODEL)'; set SPIKECONV_TESTMODELS or DEMO_MODEL" >&2; exit 66; fi
	bin/spikeconv inspect "$(DEMO_MODEL)"
	@echo
	@echo "== greedy story from the dense model (ONNX Runtime)"
	bin/spikeconv generate "$(DEMO_MODEL)" --temperature 0 --max-tokens 120
	@echo
	@echo "== convert: int8 weights, dynamic integer spikes (attention kept; calibrate will make GLA plans usable)"
	bin/spikeconv convert "$(DEMO_MODEL)" -o "$(DEMO_BUNDLE)" --plan dense --force
	@echo
	@echo "== greedy story from the spiking bundle (its own ONNX graph)"
	bin/spikeconv generate "$(DEMO_BUNDLE)" --temperature 0 --max-tokens 120

clean:
	$(MVN) -q clean
