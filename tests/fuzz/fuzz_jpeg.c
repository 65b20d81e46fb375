/* fuzz_jpeg.c - libFuzzer harness for reading, verifying and inspecting
 * JPEG files (the checks are in asset_harness.h). */
#define FUZZ_FORMAT FMT_JPEG
#include "asset_harness.h"
