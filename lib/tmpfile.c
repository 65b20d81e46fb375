/* tmpfile.c - temporaries that a killed process cannot leave behind for
 * good (tmpfile.h). */
#include "tmpfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAG ".prov-tmp."

/* dirname and basename of target, without touching it */
static void split(const char *target, char *dir, size_t cap, const char **base)
{
    const char *sl = strrchr(target, '/');
    if (!sl) {
        snprintf(dir, cap, ".");
        *base = target;
    } else if (sl == target) {
        snprintf(dir, cap, "/");
        *base = sl + 1;
    } else {
        snprintf(dir, cap, "%.*s", (int)(sl - target), target);
        *base = sl + 1;
    }
}

unsigned tmp_clean(const char *target)
{
    char dir[4096];
    const char *base;
    split(target, dir, sizeof dir, &base);
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    unsigned n = 0;
    uid_t me = getuid();
    struct dirent *de;
    while ((de = readdir(dp))) {
        const char *t = de->d_name[0] == '.' ? strstr(de->d_name, TAG) : NULL;
        if (!t) continue;
        char *end;
        long pid = strtol(t + sizeof TAG - 1, &end, 10);
        if (pid <= 0 || *end != '.' || strlen(end + 1) != 6) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to ask */
        struct stat sb;
        if (fstatat(dirfd(dp), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) || !S_ISREG(sb.st_mode) || sb.st_uid != me)
            continue;
        if (unlinkat(dirfd(dp), de->d_name, 0) == 0) n++;
    }
    closedir(dp);
    return n;
}

int tmp_create(const char *target, char **path, int *fd)
{
    char dir[4096];
    const char *base;
    split(target, dir, sizeof dir, &base);
    tmp_clean(target);
    size_t n = strlen(dir) + strlen(base) + 64;
    char *p = malloc(n);
    if (!p) return PROV_ENOMEM;
    snprintf(p, n, "%s/.%s" TAG "%ld.XXXXXX", dir, base, (long)getpid());
    int f = mkstemp(p);
    if (f < 0) {
        free(p);
        return PROV_EIO;
    }
    *path = p;
    *fd = f;
    return 0;
}
