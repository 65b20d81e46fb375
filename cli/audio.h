/* audio.h - the audio fingerprint of a file's sound, decoded with FFmpeg
 * (soft binding for sound: prov sign, prov verify, prov fingerprint). */
#ifndef PROV_CLI_AUDIO_H
#define PROV_CLI_AUDIO_H

#include "prov.h"

#include <stddef.h>
#include <stdint.h>

/* 1: *words (malloc'd; may be NULL when the sound is too short for one)
 * and *n; 0: no sound to fingerprint (no audio stream, or with audio_only a
 * video stream too), why says which; -1: error, why says it. */
int audio_fingerprint(const char *path, int audio_only, uint32_t **words, size_t *n, char *why, size_t cap);

/* For prov sign: the fingerprint of an audio file's sound into so (not
 * for pictures, video or a store alone; not when no soft binding is
 * wanted).  *hold gets the words, to free after signing.  A sound FFmpeg
 * cannot decode is signed without (a warning), unless it is to be
 * published.  0, or EXIT_ERROR with the error printed. */
int audio_for_sign(const char *in, prov_sign_opts *so, uint32_t **hold);

/* For prov verify: an audio file's fingerprint into vo (malloc'd: the
 * caller frees vo->audio_fingerprint).  0 when set; -1 when the file is
 * not sound prov can fingerprint (nothing set). */
int audio_for_verify(const char *path, prov_verify_opts *vo);

#endif
