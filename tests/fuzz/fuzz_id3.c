/* fuzz_id3.c - libFuzzer harness for ID3v2 tags (MP3, FLAC): scanning, verifying,
 * inspecting and signing (the checks are in media_harness.h). */
#define FUZZ_FIRST FMT_MP3
#define FUZZ_LAST FMT_FLAC
#include "media_harness.h"
