# prov - build, test, install.  `make` builds; `make check` runs every test;
# `make demo` walks through the story; `make bench` measures speed.

PREFIX ?= /usr/local
CC ?= cc
BUILD ?= build
VERSION := 0.1.0
SOMAJOR := 0

PKGS := libsodium libcrypto libjpeg libpng zlib p11-kit-1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lsodium -lcrypto -ljpeg -lpng -lz -lp11-kit)
# the prov command also reads media details with FFmpeg, opened with
# dlopen when needed (cli/media.c): its headers only
CLI_PKGS := libavformat libavcodec libavutil libswscale
CLI_CFLAGS := $(shell pkg-config --cflags $(CLI_PKGS) 2>/dev/null)
CLI_LIBS := -ldl

OPT ?= -O2
CFLAGS ?= $(OPT) -g
WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wvla
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -Ilib -Idetector $(PKG_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)
LIB_CFLAGS := $(ALL_CFLAGS) -fPIC -fvisibility=hidden
LDLIBS := $(PKG_LIBS) -lm -lpthread

# detector/*.c (the classifier's C code) is part of the library.  OpenBLAS
# is not linked: its start-up (a thread pool, ~25 MB) would tax every
# command; the detector loads it when it runs (dlopen).
LIB_SRC := $(sort $(wildcard lib/*.c detector/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_SRC := $(sort $(wildcard cli/*.c))
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TEST_SUPPORT := $(filter-out $(TEST_SRC),$(wildcard tests/unit/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/replay/%)

STATIC := $(BUILD)/libprov.a
SHARED := $(BUILD)/libprov.so.$(VERSION)
PROV := $(BUILD)/prov

.PHONY: all lib check unit asan interop fuzz-replay fuzz demo bench install clean deps
all: $(STATIC) $(SHARED) $(PROV) $(BUILD)/prov.pc

# The detector's CUDA back end (detector/cuda/*.cu), built when nvcc (and
# cuBLAS's header) is found, into its own object that libprov opens with dlopen at run time
# (detector/cuda_load.c): libprov and prov never link the CUDA runtime.
NVCC ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
  -gencode arch=compute_75,code=compute_75
CUDA_HDR := $(if $(NVCC),$(wildcard $(CUDA_HOME)/include/cublas_v2.h $(CUDA_HOME)/targets/*/include/cublas_v2.h))
CUDA_SO := $(if $(CUDA_HDR),$(BUILD)/libprov_cuda.so)
LIBDIR ?= $(PREFIX)/lib
all: $(CUDA_SO)
$(BUILD)/detector/cuda_load.o: LIB_CFLAGS += -DPROV_LIBDIR='"$(LIBDIR)"'
# prov scan / verify find the detector's weights here once installed
DATADIR ?= $(PREFIX)/share/prov
$(BUILD)/cli/detect.o: ALL_CFLAGS += -DPROV_DATADIR='"$(DATADIR)"'
$(BUILD)/libprov_cuda.so: $(wildcard detector/cuda/*.cu) detector/backend.h include/prov.h
	@mkdir -p $(dir $@)
	$(NVCC) -O3 -std=c++17 -Xcompiler -fPIC,-fvisibility=hidden -Idetector -Iinclude $(CUDA_ARCH) \
	  -shared -o $@ $(filter %.cu,$^) -lcublas -Xlinker -rpath,$(CUDA_HOME)/lib64

$(BUILD)/%.o: %.c include/prov.h lib/internal.h $(wildcard lib/*.h cli/*.h detector/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libprov.so.$(SOMAJOR) -o $@ $^ $(LDFLAGS) $(LDLIBS)
	ln -sf libprov.so.$(VERSION) $(BUILD)/libprov.so.$(SOMAJOR)
	ln -sf libprov.so.$(SOMAJOR) $(BUILD)/libprov.so

$(BUILD)/cli/%.o: cli/%.c include/prov.h $(wildcard cli/*.h lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CLI_CFLAGS) -c $< -o $@

# the serve page is built into the binary (.incbin in cli/web.c)
$(BUILD)/cli/web.o: cli/web/index.html

$(PROV): $(CLI_OBJ) $(STATIC)
	$(CC) $(ALL_CFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(LDFLAGS) $(CLI_LIBS) $(LDLIBS)

$(BUILD)/prov.pc: prov.pc.in
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

$(BUILD)/tests/%: tests/unit/%.c $(TEST_SUPPORT) $(STATIC) tests/unit/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(TEST_SUPPORT) $(STATIC) $(LDFLAGS) $(LDLIBS) -lcmocka

# Fuzz harnesses replayed over their kept corpus with a plain driver (gcc
# or clang, no libFuzzer needed), so CI checks every kept input.
$(BUILD)/replay/%: tests/fuzz/%.c tests/fuzz/replay_main.c $(wildcard tests/fuzz/*.h) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/replay_main.c $(STATIC) $(LDFLAGS) $(LDLIBS)

unit: $(TEST_BIN) $(PROV)
	@bash tests/run_unit.sh $(BUILD) $(TEST_BIN)

# The registry server's load generator and checker (test_regserve, make bench).
$(BUILD)/regload: tests/bench/regload.c $(STATIC)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STATIC) $(LDFLAGS) -ldl $(LDLIBS)
unit: $(BUILD)/regload
bench: $(BUILD)/regload

fuzz-replay: $(FUZZ_REPLAY)
	@bash tests/fuzz/replay.sh $(BUILD)

# The unit tests and the corpus replay again, under ASan and UBSan.
asan:
	$(MAKE) BUILD=build-asan OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	  LDFLAGS="-fsanitize=address,undefined" unit fuzz-replay

# The CUDA back end's code on the host (no GPU needed): tests/cuda_host/.
.PHONY: cuda-host-check
cuda-host-check: $(STATIC)
	@bash tests/cuda_host/check.sh $(BUILD)

interop: $(PROV)
	@bash tests/interop/run.sh $(BUILD)

# The world interop measure on a corpus folder (tests/interop/world/README.md):
# make interop-world CORPUS=DIR
CORPUS ?= ../shared/fixtures/world
.PHONY: interop-world
interop-world: $(PROV)
	@cd tests/interop && { [ -d node_modules/@contentauth/c2pa-wasm ] || npm ci --no-audit --no-fund --loglevel=error; }
	node tests/interop/world/run.mjs $(BUILD)/prov $(CORPUS)
	node tests/interop/world/run.mjs --trust ../shared/fixtures/c2pa/certs/trust/test_cert_root_bundle.pem $(BUILD)/prov $(CORPUS)

# prov sign --tsa against `openssl ts` on loopback; verify; c2pa-rs reads it
.PHONY: tsa-test
$(BUILD)/tsa_http: tests/tsa/tsa_http.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $<
tsa-test: $(PROV) $(BUILD)/tsa_http
	@bash tests/tsa/run.sh $(BUILD)

# prov verify -r/--files-from and prov serve over loopback (tests/serve);
# the serve page in headless chromium (tests/web: npm ci of playwright-core)
.PHONY: serve-test web
serve-test: $(PROV)
	@bash tests/serve/run.sh $(BUILD)

web: $(PROV)
	@bash tests/web/run.sh $(BUILD)

check:
	@bash tools/install-deps.sh
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) cuda-host-check
	$(MAKE) fuzz-replay
	$(MAKE) asan
	$(MAKE) interop
	$(MAKE) tsa-test
	$(MAKE) serve-test
	$(MAKE) web

# libFuzzer builds (clang): make fuzz FUZZ=fuzz_jpeg FUZZ_SECONDS=300
# New inputs go to build-fuzz/corpus-NAME; crashes to build-fuzz/.
FUZZ ?= fuzz_cbor
FUZZ_SECONDS ?= 60
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" build-fuzz/libprov.a
	@mkdir -p build-fuzz/bin build-fuzz/corpus-$(FUZZ)
	clang -std=c11 -D_GNU_SOURCE -Iinclude -Ilib $(PKG_CFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined \
	  -o build-fuzz/bin/$(FUZZ) tests/fuzz/$(FUZZ).c build-fuzz/libprov.a $(LDLIBS)
	build-fuzz/bin/$(FUZZ) -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 \
	  -artifact_prefix=build-fuzz/ build-fuzz/corpus-$(FUZZ) tests/fuzz/corpus/$(FUZZ)

demo:
	@bash tools/install-deps.sh
	$(MAKE) all
	@bash tools/demo.sh $(BUILD)

bench: all
	@bash tests/bench/bench.sh $(BUILD)
	@bash tests/bench/bench_serve.sh $(BUILD)
	@bash tests/bench/registry_serve.sh $(BUILD)
	@bash tests/bench/registry_sync.sh $(BUILD)
	@bash tests/bench/bench_pdq.sh $(BUILD)
	@bash tests/bench/bench_afp.sh $(BUILD)
	@bash tests/bench/bench_formats.sh $(BUILD)
	@if python3 -c 'import torch' 2>/dev/null; then bash tests/bench/bench_detector.sh $(BUILD); \
	  else echo "detector bench skipped: it compares against PyTorch (apt-get install python3-torch)"; fi
	@bash tests/bench/bench_detector_gpu.sh $(BUILD)

# The detector's accuracy on held-out sources, as-is and after JPEG, with
# bootstrap intervals (tests/bench/detector_eval.sh; detector/README.md).
.PHONY: detector-eval
detector-eval: all
	@bash tests/bench/detector_eval.sh $(BUILD)

deps:
	@bash tools/install-deps.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 0755 $(PROV) $(DESTDIR)$(PREFIX)/bin/prov
	install -m 0644 include/prov.h $(DESTDIR)$(PREFIX)/include/prov.h
	install -m 0644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/libprov.a
	install -m 0755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/libprov.so.$(VERSION)
	ln -sf libprov.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libprov.so.$(SOMAJOR)
	ln -sf libprov.so.$(SOMAJOR) $(DESTDIR)$(PREFIX)/lib/libprov.so
	install -m 0644 $(BUILD)/prov.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/prov.pc
	$(if $(CUDA_SO),install -d $(DESTDIR)$(LIBDIR) && install -m 0755 $(CUDA_SO) $(DESTDIR)$(LIBDIR)/libprov_cuda.so)
	$(if $(wildcard detector/model/npr.provnpr),install -d $(DESTDIR)$(DATADIR) && \
	  install -m 0644 detector/model/npr.provnpr $(DESTDIR)$(DATADIR)/npr.provnpr)

clean:
	rm -rf build build-asan build-fuzz
