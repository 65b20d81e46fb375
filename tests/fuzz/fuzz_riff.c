/* fuzz_riff.c - libFuzzer harness for RIFF (WAV, WebP, AVI): scanning, verifying,
 * inspecting and signing (the checks are in media_harness.h). */
#define FUZZ_FIRST FMT_WAV
#define FUZZ_LAST FMT_AVI
#include "media_harness.h"
