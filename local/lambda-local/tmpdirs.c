/* Temporary folders named after their owner's pid, and the sweep of stale ones. */
#include "tmpdirs.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define PREFIX "lambda-local-"

static const char *tmp_root(void)
{
    const char *tmp = getenv("TMPDIR");
    return tmp && *tmp ? tmp : "/tmp";
}

char *lambda_local_tmpdir_make(char *err, size_t errlen)
{
    char *dir = lambda_local_format("%s/" PREFIX "%ld-XXXXXX", tmp_root(), (long)getpid());
    if (!mkdtemp(dir)) {
        snprintf(err, errlen, "mkdtemp %s: %s", dir, strerror(errno));
        free(dir);
        return NULL;
    }
    return dir;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void lambda_local_tmpdir_remove(const char *dir)
{
    /* FTW_DEPTH: children before their folder; FTW_PHYS: never follow links
     * out of the temporary folder. */
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The owner's pid in a name PREFIX<pid>-XXXXXX, or 0 when it is not one. */
static long owner_of(const char *name)
{
    if (strncmp(name, PREFIX, strlen(PREFIX)) != 0)
        return 0;
    char *end = NULL;
    long pid = strtol(name + strlen(PREFIX), &end, 10);
    return pid > 0 && end && *end == '-' && strlen(end + 1) == 6 ? pid : 0;
}

int lambda_local_tmpdir_sweep(void)
{
    DIR *d = opendir(tmp_root());
    if (!d)
        return 0;
    int swept = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid = owner_of(e->d_name);
        /* ESRCH only: a live process (even one we may not signal, EPERM)
         * keeps its folder. */
        if (pid == 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char *path = lambda_local_format("%s/%s", tmp_root(), e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid()) {
            lambda_local_tmpdir_remove(path);
            swept++;
        }
        free(path);
    }
    closedir(d);
    if (swept > 0)
        lambda_local_log("removed %d temporary folder(s) of lambda-local processes that are gone",
                         swept);
    return swept;
}
