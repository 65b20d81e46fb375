/* fuzz_gif.c - libFuzzer harness for GIF: scanning, verifying,
 * inspecting and signing (the checks are in media_harness.h). */
#define FUZZ_FIRST FMT_GIF
#define FUZZ_LAST FMT_GIF
#include "media_harness.h"
