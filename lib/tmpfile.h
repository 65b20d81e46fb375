/* tmpfile.h - temporary files beside the file they become; internal.
 *
 * Outputs are written to a temporary file in the target's folder and
 * renamed into place.  A process killed in between (kill -9, power loss)
 * leaves the temporary behind; so it is named
 *     .<target name>.prov-tmp.<pid>.<6 random characters>
 * (hidden, and saying who made it), and every later write into that
 * folder first removes the ones whose process is gone and which belong to
 * this user.  A file of a live process, or of another user, is never
 * touched. */
#ifndef PROV_TMPFILE_H
#define PROV_TMPFILE_H

#include "internal.h"

/* Create the temporary for target (mode 0600, O_EXCL): its path in *path
 * (malloc'd; free it) and an open descriptor in *fd.  Stale temporaries in
 * the folder are removed first (tmp_clean).  0, or PROV_EIO/PROV_ENOMEM. */
PROV_HIDDEN int tmp_create(const char *target, char **path, int *fd);
/* Remove the stale temporaries in the folder that holds target; how many. */
PROV_HIDDEN unsigned tmp_clean(const char *target);

#endif
