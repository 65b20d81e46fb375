/* fuzz_png.c - libFuzzer harness for reading, verifying and inspecting
 * PNG files (the checks are in asset_harness.h). */
#define FUZZ_FORMAT FMT_PNG
#include "asset_harness.h"
