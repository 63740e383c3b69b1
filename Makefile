# mainline - one Makefile for the orchestrator, the trainer, the evaluator and tests.
#
#   make            build bin/mainline, bin/mainline-train and bin/mainline-eval
#   make test       install missing Debian packages, build, run every test
#   make check      build and run every test (no package installation)
#   make asan       the same tests under AddressSanitizer + UBSan (build-asan/)
#   make fuzz       fuzz the sweep loader (libFuzzer, FUZZ_SECONDS=180)
#   make fuzz-extract  fuzz answer extraction and normalization (the same way)
#   make demo       run the demo sweep end to end
#   make base-model train sweeps/models/demo-base/ from scratch (about an hour on 2 cores)
#   make base-model-check  retrain it and check the committed bytes are reproduced
#   make bench      build and run the benchmarks in bench/ (not part of test or check)
#   make deps       install missing build dependencies (apt-get)
#   V=1             show full compiler command lines

CC       ?= cc
BUILD    ?= build
BINDIR   ?= bin
PKGS     := sqlite3 yaml-0.1 jansson libgit2 libcrypto libcurl libarchive
MODEL_PKGS := openblas
OPT      ?= -O2
SAN_FLAGS =
ifeq ($(SAN),1)
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT       = -O1
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
MODEL_CFLAGS := $(shell pkg-config --cflags $(MODEL_PKGS) 2>/dev/null)
MODEL_LIBS   := $(shell pkg-config --libs $(MODEL_PKGS) 2>/dev/null) -pthread

CFLAGS   ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes -iquote common -iquote registry -iquote orchestrator -iquote model \
             -iquote trainer -iquote reports -iquote evaluator -iquote data \
             $(PKG_CFLAGS) $(MODEL_CFLAGS) $(CFLAGS) $(SAN_FLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SAN_FLAGS)
LIBS       = $(PKG_LIBS) -lm

ifneq ($(V),1)
Q_CC = @echo "  CC      $@";
Q_LD = @echo "  LD      $@";
Q_AR = @echo "  AR      $@";
endif

# Everything but main(): linked into bin/mainline and into every unit test.
LIB_OBJS += common/error.o
LIB_OBJS += common/strbuf.o
LIB_OBJS += common/digest.o
LIB_OBJS += common/fsutil.o
LIB_OBJS += common/canon_json.o
LIB_OBJS += common/table.o
LIB_OBJS += common/render.o
LIB_OBJS += common/extract.o
LIB_OBJS += common/answer_norm.o
LIB_OBJS += common/jsonl.o
LIB_OBJS += common/json_file.o
LIB_OBJS += common/u64map.o
LIB_OBJS += registry/registry.o
LIB_OBJS += registry/reg_stmt.o
LIB_OBJS += registry/reg_schema.o
LIB_OBJS += registry/reg_write.o
LIB_OBJS += registry/reg_read.o
LIB_OBJS += registry/reg_exec.o
LIB_OBJS += orchestrator/provenance.o
LIB_OBJS += orchestrator/yaml_tree.o
LIB_OBJS += orchestrator/diag.o
LIB_OBJS += orchestrator/sweep_params.o
LIB_OBJS += orchestrator/sweep_source.o
LIB_OBJS += orchestrator/source_url.o
LIB_OBJS += orchestrator/cache.o
LIB_OBJS += orchestrator/fetch.o
LIB_OBJS += orchestrator/unpack.o
LIB_OBJS += orchestrator/source.o
LIB_OBJS += orchestrator/sweep_load.o
LIB_OBJS += orchestrator/sweep_audit.o
LIB_OBJS += orchestrator/sweep_expand.o
LIB_OBJS += orchestrator/json_diff.o
LIB_OBJS += orchestrator/plan.o
LIB_OBJS += orchestrator/proc.o
LIB_OBJS += orchestrator/executor_local.o
LIB_OBJS += orchestrator/ingest.o
LIB_OBJS += orchestrator/eval_result.o
LIB_OBJS += orchestrator/rundir.o
LIB_OBJS += orchestrator/scheduler.o
LIB_OBJS += orchestrator/picks.o
LIB_OBJS += orchestrator/progress.o
LIB_OBJS += orchestrator/blas_env.o
LIB_OBJS += registry/reg_results.o
LIB_OBJS += reports/stats.o
LIB_OBJS += reports/rules.o
LIB_OBJS += reports/select.o
LIB_OBJS += reports/select_compare.o
LIB_OBJS += reports/select_mainline.o
LIB_OBJS += reports/report_model.o
LIB_OBJS += reports/report_md.o
LIB_OBJS += reports/report_html.o

# The data tools: canonical text, the demo task, the integrity gates.
LIB_OBJS += data/canon.o
LIB_OBJS += data/synth_math.o
LIB_OBJS += data/rows.o
LIB_OBJS += data/audit.o
LIB_OBJS += data/split.o

# The llama-style model shared by the trainer and the evaluator (links OpenBLAS).
MODEL_OBJS += model/model.o
MODEL_OBJS += model/init.o
MODEL_OBJS += model/ops.o
MODEL_OBJS += model/matmul_rows.o
MODEL_OBJS += model/pool.o
MODEL_OBJS += model/attention.o
MODEL_OBJS += model/parallel.o
MODEL_OBJS += model/lora.o
MODEL_OBJS += model/trainable.o
MODEL_OBJS += model/loss.o
MODEL_OBJS += model/forward.o
MODEL_OBJS += model/safetensors.o
MODEL_OBJS += model/model_io.o
MODEL_OBJS += model/tokenizer.o
MODEL_OBJS += model/decode.o
MODEL_OBJS += model/generate.o
# Data tools that count tokens with a base model's tokenizer.
MODEL_OBJS += data/basetok.o
MODEL_OBJS += data/token_stats.o
MODEL_OBJS += data/estimate.o

# The built-in trainer, bin/mainline-train, but its main(): also linked into unit tests.
TRAIN_OBJS += trainer/config.o
TRAIN_OBJS += trainer/data.o
TRAIN_OBJS += trainer/optim.o
TRAIN_OBJS += trainer/metrics.o
TRAIN_OBJS += trainer/checkpoint.o
TRAIN_OBJS += trainer/setup.o
TRAIN_OBJS += trainer/train.o
TRAIN_OBJS += trainer/worker.o
TRAIN_OBJS += trainer/export.o

# The built-in evaluator, bin/mainline-eval, but its main(): also linked into unit tests.
EVAL_OBJS += evaluator/config.o
EVAL_OBJS += evaluator/weights.o
EVAL_OBJS += evaluator/bench.o
EVAL_OBJS += evaluator/nll.o
EVAL_OBJS += evaluator/complete.o
EVAL_OBJS += evaluator/eval.o

CLI_OBJS += orchestrator/main.o
CLI_OBJS += orchestrator/cmd_doctor.o
CLI_OBJS += orchestrator/cmd_plan.o
CLI_OBJS += orchestrator/fetch_bar.o
CLI_OBJS += orchestrator/cmd_status.o
CLI_OBJS += orchestrator/cmd_run.o
CLI_OBJS += orchestrator/cmd_runs.o
CLI_OBJS += orchestrator/cmd_show.o
CLI_OBJS += orchestrator/cmd_rules.o
CLI_OBJS += orchestrator/cmd_select.o
CLI_OBJS += orchestrator/cmd_data.o
CLI_OBJS += orchestrator/cmd_data_view.o
CLI_OBJS += orchestrator/cmd_data_audit.o
CLI_OBJS += orchestrator/audit_print.o
CLI_OBJS += orchestrator/plan_estimate.o

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

LIB := $(BUILD)/libmainline.a
MODEL_LIB := $(BUILD)/libmodel.a
TRAIN_LIB := $(BUILD)/libtrainer.a
EVAL_LIB := $(BUILD)/libevaluator.a
B_LIB_OBJS := $(addprefix $(BUILD)/,$(LIB_OBJS))
B_MODEL_OBJS := $(addprefix $(BUILD)/,$(MODEL_OBJS))
B_CLI_OBJS := $(addprefix $(BUILD)/,$(CLI_OBJS))
B_TRAIN_OBJS := $(addprefix $(BUILD)/,$(TRAIN_OBJS))
B_EVAL_OBJS := $(addprefix $(BUILD)/,$(EVAL_OBJS))

.PHONY: all test check asan fuzz fuzz-extract fuzz-build demo deps detect clean unit-tests bench \
        base-model base-model-check
all: detect $(BINDIR)/mainline $(BINDIR)/mainline-supervise $(BINDIR)/mainline-train \
     $(BINDIR)/mainline-eval

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q_CC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The kernels are written to vectorize (model/ops.c, attention.c): -O3 lets gcc do
# it, and -fno-trapping-math lets it turn the clamps of a loop into selects (no
# value changes). Only the training attention fuses multiply-adds (vecmath.h).
ifneq ($(SAN),1)
$(BUILD)/model/ops.o: CFLAGS += -O3 -fno-trapping-math
$(BUILD)/model/attention.o: CFLAGS += -O3 -fno-trapping-math -ffp-contract=fast
endif

$(LIB): $(B_LIB_OBJS)
	$(Q_AR)rm -f $@ && ar rcs $@ $^

# The per-job supervisor links only libc and a few helpers: it starts once per job.
SUPERVISE_OBJS = orchestrator/supervise.o common/fsutil.o common/strbuf.o common/error.o \
                 orchestrator/proc.o
$(BINDIR)/mainline-supervise: $(addprefix $(BUILD)/,$(SUPERVISE_OBJS))
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^

$(MODEL_LIB): $(B_MODEL_OBJS)
	$(Q_AR)rm -f $@ && ar rcs $@ $^

$(TRAIN_LIB): $(B_TRAIN_OBJS)
	$(Q_AR)rm -f $@ && ar rcs $@ $^

# The trainer never uses the registry: --as-needed keeps SQLite off its link.
$(BINDIR)/mainline-train: $(BUILD)/trainer/main.o $(TRAIN_LIB) $(MODEL_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -Wl,--as-needed -o $@ $(BUILD)/trainer/main.o $(TRAIN_LIB) \
	    $(MODEL_LIB) $(LIB) $(MODEL_LIBS) $(LIBS)

$(EVAL_LIB): $(B_EVAL_OBJS)
	$(Q_AR)rm -f $@ && ar rcs $@ $^

# The evaluator shares the trainer's data and metrics code; like it, no SQLite.
$(BINDIR)/mainline-eval: $(BUILD)/evaluator/main.o $(EVAL_LIB) $(TRAIN_LIB) $(MODEL_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -Wl,--as-needed -o $@ $(BUILD)/evaluator/main.o $(EVAL_LIB) \
	    $(TRAIN_LIB) $(MODEL_LIB) $(LIB) $(MODEL_LIBS) $(LIBS)

$(BINDIR)/mainline: $(B_CLI_OBJS) $(MODEL_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $(B_CLI_OBJS) $(MODEL_LIB) $(LIB) $(MODEL_LIBS) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(EVAL_LIB) $(TRAIN_LIB) $(LIB) $(MODEL_LIB)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(EVAL_LIB) $(TRAIN_LIB) $(MODEL_LIB) $(LIB) \
	    $(MODEL_LIBS) $(LIBS)

# Small honest trainer/evaluator programs the orchestrator tests run (never shipped).
FAKES := $(BUILD)/tests/fakes/fake_trainer $(BUILD)/tests/fakes/fake_evaluator
$(BUILD)/tests/fakes/%: tests/fakes/%.c
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBS)

unit-tests: $(UNIT_TESTS) $(FAKES)

# Benchmarks: linked like unit tests, run only by `make bench` (never by test or
# check); their numbers go in README.md, "Benchmarks".
BENCHES := $(BUILD)/bench/bench_ingest $(BUILD)/bench/bench_overhead $(BUILD)/bench/bench_decode \
           $(BUILD)/bench/bench_train
$(BUILD)/bench/bench_%: bench/bench_%.c $(BUILD)/bench/bench_tmpdir.o $(LIB)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/bench/bench_tmpdir.o $(LIB) $(LIBS)

# The training benchmark drives the trainer library, so it links like a unit test.
$(BUILD)/bench/bench_train: bench/bench_train.c $(BUILD)/bench/bench_tmpdir.o $(TRAIN_LIB) \
                             $(MODEL_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/bench/bench_tmpdir.o $(TRAIN_LIB) \
	    $(MODEL_LIB) $(LIB) \
	    $(MODEL_LIBS) $(LIBS)

# Decoding links the model layer.
$(BUILD)/bench/bench_decode: bench/bench_decode.c $(MODEL_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(MODEL_LIB) $(LIB) $(MODEL_LIBS) $(LIBS)

# The trainer the overhead benchmark runs: libc only, so its start-up is the floor.
$(BUILD)/bench/instant_trainer: bench/instant_trainer.c
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

bench: all $(BENCHES) $(BUILD)/bench/instant_trainer
	@BUILD=$(BUILD) BINDIR=$(BINDIR) sh bench/run.sh

# Say what was found and how to get what is missing.
detect:
	@sh scripts/detect-deps.sh

deps:
	@sh scripts/install-deps.sh

test: deps
	@$(MAKE) --no-print-directory check

check: all unit-tests
	@BUILD=$(BUILD) BINDIR=$(BINDIR) sh tests/run-tests.sh

asan:
	@$(MAKE) --no-print-directory SAN=1 BUILD=build-asan BINDIR=build-asan/bin check

FUZZ_SECONDS ?= 180
# -iquote, not -I: a project header named like a system one (a sched.h once) must not
# shadow it for <...> includes.
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -iquote common -iquote registry -iquote orchestrator \
              -iquote model -iquote data $(PKG_CFLAGS) \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
fuzz-build: build-fuzz/fuzz_sweep build-fuzz/fuzz_extract
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_OBJS:.o=.c)
	@mkdir -p $(dir $@)
	$(Q_LD)clang $(FUZZ_CFLAGS) -o $@ $^ $(MODEL_LIBS) $(LIBS)
# New inputs go to corpus-work/ (not committed); findings land in crashers/ as
# crash-*, leak-* or timeout-* (> 1 s): rename them and fix the loader.
fuzz: build-fuzz/fuzz_sweep
	@mkdir -p tests/fuzz/corpus-work tests/fuzz/crashers
	build-fuzz/fuzz_sweep -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=1 \
	    -dict=tests/fuzz/yaml.dict -artifact_prefix=tests/fuzz/crashers/ \
	    tests/fuzz/corpus-work tests/fuzz/corpus
# The same for answer extraction and normalization (model outputs, not sweeps).
fuzz-extract: build-fuzz/fuzz_extract
	@mkdir -p tests/fuzz/extract-corpus-work tests/fuzz/extract-crashers
	build-fuzz/fuzz_extract -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=1 \
	    -dict=tests/fuzz/latex.dict -artifact_prefix=tests/fuzz/extract-crashers/ \
	    tests/fuzz/extract-corpus-work tests/fuzz/extract-corpus

# The demo installs what a fresh machine lacks, like `make test`.
demo: deps
	@$(MAKE) --no-print-directory all
	@BINDIR=$(BINDIR) sh scripts/demo.sh

# The demo's base model, trained by mainline-train from random initialization
# (scripts/make-base-model.py; sweeps/models/demo-base/README.md says how).
base-model: all
	@python3 scripts/make-base-model.py

base-model-check: all
	@python3 scripts/make-base-model.py --check

clean:
	rm -rf $(BUILD) build-asan build-fuzz $(BINDIR)

-include $(B_LIB_OBJS:.o=.d) $(B_CLI_OBJS:.o=.d) $(B_MODEL_OBJS:.o=.d) $(BUILD)/orchestrator/supervise.d
-include $(B_TRAIN_OBJS:.o=.d) $(BUILD)/trainer/main.d
-include $(B_EVAL_OBJS:.o=.d) $(BUILD)/evaluator/main.d
