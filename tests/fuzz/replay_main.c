/* replay_main.c - replay libFuzzer inputs without libFuzzer.
 *
 * Linked with one fuzz_*.c harness, this main() calls
 * LLVMFuzzerTestOneInput on every file named on the command line and on
 * every file inside the directories named (recursively, sorted, hidden
 * names skipped), so the corpora run under any compiler (gcc, ASan, UBSan).
 *
 * Each input is copied into a heap block of exactly its size, so a
 * sanitizer sees any read past its end.  An input that cannot be read, or
 * runs longer than REPLAY_TIMEOUT seconds (default 60), is a failure and
 * gets one line; a crash ends the run, naming the input.  The last line is
 * "N passed, M failed"; the exit status is 1 when anything failed. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static size_t n_passed, n_failed;
static const char *volatile current; /* the input being run, for the alarm */

/* Name the input being run on stderr (async-signal-safe). */
static void say_current(const char *what)
{
    const char *f = current;
    if (!f) return;
    ssize_t w = write(2, "FAIL ", 5);
    w = write(2, f, strlen(f));
    w = write(2, what, strlen(what));
    (void)w;
}

static void on_alarm(int sig)
{
    (void)sig;
    say_current(": timeout\n");
    _exit(1);
}

/* A crash: name the input, then die the way the signal would have. */
static void on_crash(int sig)
{
    say_current(": crashed\n");
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Under a sanitizer, its report ends with the input's name too. */
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));
static void on_death(void) { say_current(": sanitizer report above\n"); }

static void fail(const char *path, const char *why)
{
    fprintf(stderr, "FAIL %s: %s\n", path, why);
    n_failed++;
}

static void run_file(const char *path, unsigned timeout)
{
    FILE *f = fopen(path, "rb");
    if (!f) { fail(path, strerror(errno)); return; }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    int err = !buf;
    while (!err) {
        if (len == cap) {
            uint8_t *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!nb) { err = 1; break; }
            buf = nb;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            err = ferror(f);
            break;
        }
    }
    fclose(f);
    /* an exact-size copy: one byte past the end is outside the block */
    uint8_t *data = err ? NULL : malloc(len ? len : 1);
    if (data && len) memcpy(data, buf, len);
    free(buf);
    if (!data) { fail(path, err ? "read failed" : "out of memory"); return; }
    current = path;
    alarm(timeout);
    LLVMFuzzerTestOneInput(data, len);
    alarm(0);
    current = NULL;
    free(data);
    n_passed++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path, unsigned timeout, int depth)
{
    struct stat st;
    if (stat(path, &st)) { fail(path, strerror(errno)); return; }
    if (!S_ISDIR(st.st_mode)) { run_file(path, timeout); return; }
    if (depth > 8) { fail(path, "directories nested too deep"); return; }
    DIR *d = opendir(path);
    if (!d) { fail(path, strerror(errno)); return; }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* ".", "..", hidden files */
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn) break;
            names = nn;
        }
        size_t l = strlen(path) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(l))) break;
        snprintf(names[n], l, "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        run_path(names[i], timeout, depth + 1);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    unsigned timeout = 60;
    const char *t = getenv("REPLAY_TIMEOUT");
    if (t && atoi(t) > 0) timeout = (unsigned)atoi(t);
    signal(SIGALRM, on_alarm);
    signal(SIGABRT, on_crash);
    if (__sanitizer_set_death_callback) {
        __sanitizer_set_death_callback(on_death); /* it keeps its own SEGV handler */
    } else {
        signal(SIGSEGV, on_crash);
        signal(SIGBUS, on_crash);
        signal(SIGFPE, on_crash);
        signal(SIGILL, on_crash);
    }
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) continue; /* libFuzzer flags: ignored */
        run_path(argv[i], timeout, 0);
    }
    printf("%zu passed, %zu failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
