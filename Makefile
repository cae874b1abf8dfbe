# Native build of the C core with sanitizers, for the C unit tests.
#
#   make test-native    build every tests/c/test_*.c into build/native/ and
#                       run them all; prints "native: N passed, N failed"
#   make native         build only
#   make clean
#
# cJSON comes from scripts/fetch-cjson.sh (CJSON_SRC=/path to use your own).
# The WASM build is wasm-build.sh; src/host_wasm.c is WASM only.

CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif

SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=all
BASEFLAGS := -std=c11 -g -O1 $(SANITIZE)
CFLAGS_SRC := $(BASEFLAGS) -Wall -Wextra -Werror
# Third-party code: no -Werror (its warnings are not ours to fix).
CFLAGS_CJSON := $(BASEFLAGS)

OUT := build/native
# src/batch/ holds the batch types and what they share (src/batch.c runs them).
SRCS := $(filter-out src/host_wasm.c,$(wildcard src/*.c src/batch/*.c))
OBJS := $(patsubst src/%.c,$(OUT)/obj/%.o,$(SRCS))
TEST_SRCS := $(wildcard tests/c/test_*.c)
TESTS := $(patsubst tests/c/%.c,$(OUT)/%,$(TEST_SRCS))
HEADERS := $(wildcard src/*.h) tests/c/check.h

.PHONY: test-native native clean native-build-with-cjson native-run
# Keep objects (make would otherwise delete them as intermediates).
.SECONDARY:

# CJSON_DIR is resolved once (fetching on first use) and passed to a sub-make.
test-native native:
	@cjson="$$(bash scripts/fetch-cjson.sh | tail -n1)" && \
	  $(MAKE) --no-print-directory CJSON_DIR="$$cjson" \
	    $(if $(filter test-native,$@),native-run,native-build-with-cjson)

native-build-with-cjson: $(TESTS)

native-run: $(TESTS)
	@bash scripts/run-native-tests.sh $(TESTS)

$(OUT)/obj/%.o: src/%.c $(HEADERS) | $(OUT)/obj
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_SRC) -Isrc -I$(CJSON_DIR) -c $< -o $@

$(OUT)/obj/cJSON.o: $(CJSON_DIR)/cJSON.c | $(OUT)/obj
	$(CC) $(CFLAGS_CJSON) -I$(CJSON_DIR) -c $< -o $@

$(OUT)/test_%: tests/c/test_%.c $(OBJS) $(OUT)/obj/cJSON.o $(HEADERS)
	$(CC) $(CFLAGS_SRC) -Isrc -Itests/c -I$(CJSON_DIR) $< $(OBJS) \
	  $(OUT)/obj/cJSON.o -o $@ -lm

$(OUT)/obj:
	mkdir -p $@

clean:
	rm -rf build/native
