# mainline - one Makefile for the orchestrator, the trainer, the evaluator and tests.
#
#   make            build bin/mainline, bin/mainline-train and bin/mainline-eval
#   make test       install missing Debian packages, build, run every test
#   make check      build and run every test (no package installation)
#   make asan       the same tests under AddressSanitizer + UBSan (build-asan/)
#   make fuzz       fuzz the sweep loader (libFuzzer, FUZZ_SECONDS=180)
#   make fuzz-extract  fuzz answer extraction and normalization (the same way)
#   make demo       run the demo sweep end to end (writes demo/numbers.md)
#   make readme-numbers  put demo/numbers.md into README.md between its markers
#   make base-model train sweeps/models/demo-base/ from scratch (about an hour on 2 cores)
#   make base-model-check  retrain it and check the committed bytes are reproduced
#   make bench      build and run the benchmarks in bench/ (not part of test or check)
#   make bench-gguf GGUF decoding (f32, q8_0, q4_0) against llama.cpp (node, npm; in bench too)
#   make faults     the fault battery: kills, full disks, a held lock, corrupt pages (~5 min)
#   make deps       install missing build dependencies (apt-get)
#   V=1             show full compiler command lines

CC       ?= cc
BUILD    ?= build
BINDIR   ?= bin
PKGS     := sqlite3 yaml-0.1 jansson libgit2 libcrypto libcurl libarchive libpcre2-8
MODEL_PKGS := openblas libpcre2-8 libutf8proc
OPT      ?= -O2
SAN_FLAGS =
ifeq ($(SAN),1)
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT       = -O1
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
MODEL_CFLAGS := $(shell pkg-config --cflags $(MODEL_PKGS) 2>/dev/null)
MODEL_LIBS   := $(shell pkg-config --libs $(MODEL_PKGS) 2>/dev/null) -pthread

CFLAGS   ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes $(addprefix -iquote ,$(ROOMS) cli) \
             $(PKG_CFLAGS) $(MODEL_CFLAGS) $(CFLAGS) $(SAN_FLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SAN_FLAGS)

ifneq ($(V),1)
Q_CC = @echo "  CC      $@";
Q_LD = @echo "  LD      $@";
Q_AR = @echo "  AR      $@";
endif

# The rooms, lowest first. Each is one static archive, and a room may use only the
# rooms after it on a program's link line (tests/shell/t0009-layers.sh checks the
# includes; README "Layout" draws the arrows). "A <- B" reads "B uses A":
#   common <- protocol, model, registry             (each uses common only)
#   model <- data;  protocol, model <- trainer <- evaluator    (mainline-train, -eval)
#   registry <- reports;  registry, data, protocol <- sweep;  sweep, reports <- exec <- cli
#   evaluator <- cli (mainline export loads and merges a checkpoint as the evaluator does)

# common: strings, errors, files, JSON, digests, text rendering. libc, jansson, libcrypto.
COMMON_OBJS += common/error.o
COMMON_OBJS += common/strbuf.o
COMMON_OBJS += common/clock.o
COMMON_OBJS += common/digest.o
COMMON_OBJS += common/fsutil.o
COMMON_OBJS += common/canon_json.o
COMMON_OBJS += common/table.o
COMMON_OBJS += common/render.o
COMMON_OBJS += common/jinja_lex.o
COMMON_OBJS += common/jinja_parse.o
COMMON_OBJS += common/jinja_eval.o
COMMON_OBJS += common/jinja_value.o
COMMON_OBJS += common/jinja_lib.o
COMMON_OBJS += common/chat_template.o
COMMON_OBJS += common/extract.o
COMMON_OBJS += common/answer_norm.o
COMMON_OBJS += common/jsonl.o
COMMON_OBJS += common/json_file.o
COMMON_OBJS += common/u64map.o
COMMON_OBJS += common/suggest.o

# protocol: what a job gets and gives back, the parameter table. Uses common only.
PROTOCOL_OBJS += protocol/params.o
PROTOCOL_OBJS += protocol/param_text.o

# registry: the SQLite registry. Uses common only.
REGISTRY_OBJS += registry/registry.o
REGISTRY_OBJS += registry/reg_schema.o
REGISTRY_OBJS += registry/reg_write.o
REGISTRY_OBJS += registry/reg_read.o
REGISTRY_OBJS += registry/reg_exec.o
REGISTRY_OBJS += registry/reg_results.o
REGISTRY_OBJS += registry/reg_stmt.o
REGISTRY_OBJS += registry/reg_check.o
REGISTRY_OBJS += registry/reg_bundle.o

# sweep: the sweep file (YAML tree, loading, parameters, expansion), its sources
# (fetch, cache, unpack), provenance and the plan it records in the registry.
SWEEP_OBJS += sweep/provenance.o
SWEEP_OBJS += sweep/yaml_tree.o
SWEEP_OBJS += sweep/diag.o
SWEEP_OBJS += sweep/sweep_params.o
SWEEP_OBJS += sweep/sweep_source.o
SWEEP_OBJS += sweep/stdout_rules.o
SWEEP_OBJS += sweep/sweep_stdout.o
SWEEP_OBJS += sweep/code_files.o
SWEEP_OBJS += sweep/source_url.o
SWEEP_OBJS += sweep/cache.o
SWEEP_OBJS += sweep/fetch.o
SWEEP_OBJS += sweep/unpack.o
SWEEP_OBJS += sweep/model_files.o
SWEEP_OBJS += sweep/source.o
SWEEP_OBJS += sweep/sweep_load.o
SWEEP_OBJS += sweep/sweep_audit.o
SWEEP_OBJS += sweep/sweep_slurm.o
SWEEP_OBJS += sweep/sweep_expand.o
SWEEP_OBJS += sweep/json_diff.o
SWEEP_OBJS += sweep/plan.o

# exec: running a sweep's jobs: the scheduler, the executor interface and the local
# executor, ingestion of what jobs write, stage picks. Prints nothing (cli/ does).
EXEC_OBJS += exec/proc.o
EXEC_OBJS += exec/executor_local.o
EXEC_OBJS += exec/executor_slurm.o
EXEC_OBJS += exec/slurm_acct.o
EXEC_OBJS += exec/command.o
EXEC_OBJS += exec/job_lock.o
EXEC_OBJS += exec/ingest.o
EXEC_OBJS += exec/eval_result.o
EXEC_OBJS += exec/rundir.o
EXEC_OBJS += exec/scheduler.o
EXEC_OBJS += exec/sched_setup.o
EXEC_OBJS += exec/sched_lock.o
EXEC_OBJS += exec/sched_report.o
EXEC_OBJS += exec/reconcile.o
EXEC_OBJS += exec/job_slots.o
EXEC_OBJS += exec/job_exit.o
EXEC_OBJS += exec/job_config.o
EXEC_OBJS += exec/train_jobs.o
EXEC_OBJS += exec/eval_jobs.o
EXEC_OBJS += exec/picks.o
EXEC_OBJS += exec/ckpt_digest.o
EXEC_OBJS += exec/ckpt_digests.o
EXEC_OBJS += exec/ckpt_fate.o
EXEC_OBJS += exec/blas_env.o

# reports: selection by the frozen rules, statistics, Markdown/HTML/CSV/JSON reports.
REPORTS_OBJS += reports/stats.o
REPORTS_OBJS += reports/chart.o
REPORTS_OBJS += reports/rules.o
REPORTS_OBJS += reports/select.o
REPORTS_OBJS += reports/select_compare.o
REPORTS_OBJS += reports/select_mainline.o
REPORTS_OBJS += reports/report_model.o
REPORTS_OBJS += reports/report_md.o
REPORTS_OBJS += reports/report_html.o
REPORTS_OBJS += reports/report_gap.o

# data: canonical text, the demo task, the integrity gates, token counts with a
# base model's tokenizer (so it uses model).
DATA_OBJS += data/canon.o
DATA_OBJS += data/synth_math.o
DATA_OBJS += data/rows.o
DATA_OBJS += data/audit.o
DATA_OBJS += data/split.o
DATA_OBJS += data/basetok.o
DATA_OBJS += data/token_stats.o
DATA_OBJS += data/estimate.o

# model: the llama-style model shared by the trainer and the evaluator (OpenBLAS).
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
MODEL_OBJS += model/hf_index.o
MODEL_OBJS += model/model_io.o
MODEL_OBJS += model/hf_bpe.o
MODEL_OBJS += model/hf_text.o
MODEL_OBJS += model/hf_tokenizer.o
MODEL_OBJS += model/tokenizer.o
MODEL_OBJS += model/decode.o
MODEL_OBJS += model/generate.o
MODEL_OBJS += model/quant.o
MODEL_OBJS += model/gguf_write.o
MODEL_OBJS += model/gguf_read.o
MODEL_OBJS += model/qmatmul.o

# The built-in trainer, bin/mainline-train, but its main(): also linked into unit tests.
TRAIN_OBJS += trainer/train_config.o
TRAIN_OBJS += trainer/train_data.o
TRAIN_OBJS += trainer/optim.o
TRAIN_OBJS += trainer/metrics.o
TRAIN_OBJS += trainer/checkpoint.o
TRAIN_OBJS += trainer/setup.o
TRAIN_OBJS += trainer/train.o
TRAIN_OBJS += trainer/worker.o
TRAIN_OBJS += trainer/export.o

# The built-in evaluator, bin/mainline-eval, but its main(): also linked into unit tests.
EVAL_OBJS += evaluator/eval_config.o
EVAL_OBJS += evaluator/weights.o
EVAL_OBJS += evaluator/bench.o
EVAL_OBJS += evaluator/logits.o
EVAL_OBJS += evaluator/nll.o
EVAL_OBJS += evaluator/complete.o
EVAL_OBJS += evaluator/eval.o
EVAL_OBJS += evaluator/model_export.o

# cli: the command table and one file per command; the only code that prints
# results or exits.
CLI_OBJS += cli/main.o
CLI_OBJS += cli/cmd_doctor.o
CLI_OBJS += cli/cmd_plan.o
CLI_OBJS += cli/fetch_bar.o
CLI_OBJS += cli/cmd_status.o
CLI_OBJS += cli/cmd_run.o
CLI_OBJS += cli/cmd_cancel.o
CLI_OBJS += cli/run_progress.o
CLI_OBJS += cli/cmd_runs.o
CLI_OBJS += cli/cmd_show.o
CLI_OBJS += cli/cmd_rules.o
CLI_OBJS += cli/cmd_select.o
CLI_OBJS += cli/cmd_template.o
CLI_OBJS += cli/cmd_data.o
CLI_OBJS += cli/cmd_tokenize.o
CLI_OBJS += cli/cmd_data_view.o
CLI_OBJS += cli/cmd_data_audit.o
CLI_OBJS += cli/cli_audit_print.o
CLI_OBJS += cli/plan_estimate.o
CLI_OBJS += cli/cmd_export.o
CLI_OBJS += cli/bundle_write.o
CLI_OBJS += cli/bundle_copy.o
CLI_OBJS += cli/bundle_read.o
CLI_OBJS += cli/cmd_import.o

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

# One archive per room: $(BUILD)/lib<room>.a.
ROOMS := common protocol registry sweep exec reports data model trainer evaluator
room_lib = $(BUILD)/lib$(1).a
COMMON_LIB := $(call room_lib,common)
PROTOCOL_LIB := $(call room_lib,protocol)
REGISTRY_LIB := $(call room_lib,registry)
SWEEP_LIB := $(call room_lib,sweep)
EXEC_LIB := $(call room_lib,exec)
REPORTS_LIB := $(call room_lib,reports)
DATA_LIB := $(call room_lib,data)
MODEL_LIB := $(call room_lib,model)
TRAIN_LIB := $(call room_lib,trainer)
EVAL_LIB := $(call room_lib,evaluator)
B_CLI_OBJS := $(addprefix $(BUILD)/,$(CLI_OBJS))
ALL_ROOM_OBJS := $(COMMON_OBJS) $(PROTOCOL_OBJS) $(REGISTRY_OBJS) $(SWEEP_OBJS) $(EXEC_OBJS) \
                 $(REPORTS_OBJS) $(DATA_OBJS) $(MODEL_OBJS) $(TRAIN_OBJS) $(EVAL_OBJS)

# The link lines, highest room first: each states which rooms a program may use.
# The external libraries each room brings (pkg-config names):
COMMON_PKGS := jansson libcrypto
REGISTRY_PKGS := sqlite3
SWEEP_PKGS := yaml-0.1 libgit2 libcurl libarchive libpcre2-8
pkg_libs = $(shell pkg-config --libs $(1) 2>/dev/null)
JOB_LINK := $(MODEL_LIB) $(PROTOCOL_LIB) $(COMMON_LIB)
JOB_LIBS := $(MODEL_LIBS) $(call pkg_libs,$(COMMON_PKGS)) -lm
# `mainline export` loads a run's checkpoint as the evaluator does (evaluator/, trainer/).
CLI_LINK := $(EXEC_LIB) $(REPORTS_LIB) $(SWEEP_LIB) $(REGISTRY_LIB) $(DATA_LIB) $(EVAL_LIB) \
            $(TRAIN_LIB) $(JOB_LINK)
CLI_LIBS := $(call pkg_libs,$(SWEEP_PKGS) $(REGISTRY_PKGS)) $(JOB_LIBS)

.PHONY: all test check asan fuzz fuzz-extract fuzz-build demo readme-numbers deps detect clean unit-tests bench bench-slurm \
        bench-tokenize bench-gguf check-tokenizers \
        base-model base-model-check faults
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
# AdamW's loop (trainer/optim.c): sqrt without errno so that it vectorizes (v >= 0)
$(BUILD)/trainer/optim.o: CFLAGS += -O3 -fno-trapping-math -fno-math-errno
endif

$(COMMON_LIB): $(addprefix $(BUILD)/,$(COMMON_OBJS))
$(PROTOCOL_LIB): $(addprefix $(BUILD)/,$(PROTOCOL_OBJS))
$(REGISTRY_LIB): $(addprefix $(BUILD)/,$(REGISTRY_OBJS))
$(SWEEP_LIB): $(addprefix $(BUILD)/,$(SWEEP_OBJS))
$(EXEC_LIB): $(addprefix $(BUILD)/,$(EXEC_OBJS))
$(REPORTS_LIB): $(addprefix $(BUILD)/,$(REPORTS_OBJS))
$(DATA_LIB): $(addprefix $(BUILD)/,$(DATA_OBJS))
$(MODEL_LIB): $(addprefix $(BUILD)/,$(MODEL_OBJS))
$(TRAIN_LIB): $(addprefix $(BUILD)/,$(TRAIN_OBJS))
$(EVAL_LIB): $(addprefix $(BUILD)/,$(EVAL_OBJS))
$(BUILD)/lib%.a:
	$(Q_AR)rm -f $@ && ar rcs $@ $^

# The per-job supervisor links only libc and a few helpers: it starts once per job.
# It hashes a finished run's checkpoints (common/'s jansson and libcrypto).
SUPERVISE_OBJS = exec/supervise.o exec/proc.o exec/job_lock.o exec/ckpt_digest.o \
                 exec/ckpt_digests.o
$(BINDIR)/mainline-supervise: $(addprefix $(BUILD)/,$(SUPERVISE_OBJS)) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -Wl,--as-needed -o $@ $^ $(call pkg_libs,$(COMMON_PKGS))

# The trainer and the evaluator talk to the orchestrator through the job protocol
# only: no registry, no sweep loader on their link lines (no SQLite, libyaml,
# libgit2, libcurl; tests/shell/t0005-layers.sh checks the binaries).
$(BINDIR)/mainline-train: $(BUILD)/trainer/main.o $(TRAIN_LIB) $(JOB_LINK)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -Wl,--as-needed -o $@ $^ $(JOB_LIBS)

# The evaluator shares the trainer's data and metrics code.
$(BINDIR)/mainline-eval: $(BUILD)/evaluator/main.o $(EVAL_LIB) $(TRAIN_LIB) $(JOB_LINK)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -Wl,--as-needed -o $@ $^ $(JOB_LIBS)

$(BINDIR)/mainline: $(B_CLI_OBJS) $(CLI_LINK)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CLI_LIBS)

# Unit tests may use every room.
# test_bundle also checks the member names `mainline import` accepts (cli/bundle_read.c)
# and that `export` streams a file into a bundle only as it was hashed (cli/bundle_copy.c).
$(BUILD)/tests/test_bundle: $(BUILD)/cli/bundle_read.o $(BUILD)/cli/bundle_copy.o
TEST_LINK := $(CLI_LINK)
$(BUILD)/tests/%: tests/unit/%.c $(TEST_LINK)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(CLI_LIBS)

# Small honest trainer/evaluator programs the orchestrator tests run (never shipped).
FAKES := $(BUILD)/tests/fakes/fake_trainer $(BUILD)/tests/fakes/fake_evaluator
$(BUILD)/tests/fakes/%: tests/fakes/%.c
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(JOB_LIBS)

unit-tests: $(UNIT_TESTS) $(FAKES)

# Benchmarks: linked like unit tests, run only by `make bench` (never by test or
# check); their numbers go in README.md, "Benchmarks".
BENCHES := $(BUILD)/bench/bench_ingest $(BUILD)/bench/bench_overhead $(BUILD)/bench/bench_decode \
           $(BUILD)/bench/bench_train $(BUILD)/bench/bench_tokenize $(BUILD)/bench/bench_decode_gguf
$(BUILD)/bench/bench_%: bench/bench_%.c $(BUILD)/bench/bench_tmpdir.o $(TEST_LINK)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(CLI_LIBS)

# The trainer the overhead benchmark runs: libc only, so its start-up is the floor.
$(BUILD)/bench/instant_trainer: bench/instant_trainer.c
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

bench: all $(BENCHES) $(BUILD)/bench/instant_trainer
	@BUILD=$(BUILD) BINDIR=$(BINDIR) sh bench/run.sh

# Tokenizer encoding MB/s with the Qwen3 tokenizer.json against Hugging Face's JavaScript
# and Rust tokenizers (node and the npm registry; part of `make bench`).
bench-tokenize: $(BUILD)/bench/bench_tokenize
	@BUILD=$(BUILD) sh bench/bench_tokenize.sh

# Decoding from GGUF files (f32, q8_0, q4_0): mainline-eval's decoder against llama.cpp
# (node-llama-cpp from the npm registry; part of `make bench`).
bench-gguf: $(BUILD)/bench/bench_decode_gguf
	@BUILD=$(BUILD) sh bench/bench_decode_gguf.sh

# t3010 with Gemma 3 too (its 240 MB tokenizer.json: a minute or more on 2 cores).
check-tokenizers: all
	@T3010_TOKENIZERS="qwen3 qwen2_5 llama3 llama3_1 llama2 gpt2 mistral_nemo gemma3" BUILD=$(BUILD) \
	    BINDIR=$(BINDIR) MAINLINE=$(abspath $(BINDIR))/mainline sh tests/shell/t3010-tokenizer-json.sh

# A sweep on a one-node Slurm cluster against a raw sbatch --array of the same jobs
# (minutes; root). BENCH_SLURM_RUNS sets the runs (1000).
bench-slurm: all $(BUILD)/bench/instant_trainer
	@BUILD=$(BUILD) BINDIR=$(BINDIR) sh bench/bench_slurm.sh

# Say what was found and how to get what is missing.
detect:
	@sh scripts/detect-deps.sh

deps:
	@sh scripts/install-deps.sh

test: deps
	@$(MAKE) --no-print-directory check

check: all unit-tests
	@BUILD=$(BUILD) BINDIR=$(BINDIR) sh tests/run-tests.sh

# The fault battery of issue 14 (tests/faults/faults.py): real sweeps of the fakes and of
# the built-in trainer and evaluator, with kills, full disks (tmpfs: needs root), a held
# registry lock and corrupt pages; a table of what was lost, doubled, rerun or hung.
# FAULTS_SEED and FAULTS_ROUNDS (3) choose; check runs the short form (t2008).
faults: all $(FAKES)
	@BUILD=$(BUILD) BINDIR=$(BINDIR) python3 tests/faults/faults.py

asan:
	@$(MAKE) --no-print-directory SAN=1 BUILD=build-asan BINDIR=build-asan/bin check

FUZZ_SECONDS ?= 180
# -iquote, not -I: a project header named like a system one (a sched.h once) must not
# shadow it for <...> includes.
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 $(addprefix -iquote ,$(ROOMS)) $(PKG_CFLAGS) \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
fuzz-build: build-fuzz/fuzz_sweep build-fuzz/fuzz_extract
# The fuzzers need no model: the data tools that count tokens with one stay out.
FUZZ_OBJS = $(COMMON_OBJS) $(PROTOCOL_OBJS) $(REGISTRY_OBJS) $(SWEEP_OBJS) \
            $(filter-out data/basetok.o data/token_stats.o data/estimate.o,$(DATA_OBJS))
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS:.o=.c)
	@mkdir -p $(dir $@)
	$(Q_LD)clang $(FUZZ_CFLAGS) -o $@ $^ $(CLI_LIBS)
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

# The README's demo figures, from the file the last `make demo` wrote (demo/numbers.md).
readme-numbers:
	@sh scripts/readme-numbers.sh demo/numbers.md README.md

# The demo's base model, trained by mainline-train from random initialization
# (scripts/make-base-model.py; sweeps/models/demo-base/README.md says how).
base-model: all
	@python3 scripts/make-base-model.py

base-model-check: all
	@python3 scripts/make-base-model.py --check

clean:
	rm -rf $(BUILD) build-asan build-fuzz $(BINDIR)

-include $(addprefix $(BUILD)/,$(ALL_ROOM_OBJS:.o=.d) $(CLI_OBJS:.o=.d) exec/supervise.d)
-include $(BUILD)/trainer/main.d $(BUILD)/evaluator/main.d
