/* fuzz_tiff.c - libFuzzer harness for TIFF and DNG: scanning, verifying,
 * inspecting and signing (the checks are in media_harness.h). */
#define FUZZ_FIRST FMT_TIFF
#define FUZZ_LAST FMT_DNG
#include "media_harness.h"
