/* verify_actions.h - claim v2 rules on actions and manifest labels. */
#ifndef PROV_VERIFY_ACTIONS_H
#define PROV_VERIFY_ACTIONS_H

#include "store.h"

typedef void (*actions_fail_fn)(void *user, const char *code, const char *why);

/* Check m's actions assertions; each broken rule is reported through fail
 * (assertion.action.malformed or assertion.action.ingredientMismatch). */
PROV_HIDDEN void actions_check(c2pa_manifest *m, actions_fail_fn fail, void *user);
/* A manifest label as C2PA 2.x requires it (urn:c2pa:<uuid>[:<generator>
 * [:<version>[_<reason>]]], or a 1.x urn:uuid label): 1 or 0. */
PROV_HIDDEN int manifest_label_ok(const char *label);

#endif
