/* Function code folders: CodeUri folders, unzipped CodeUri archives. */
#include "codedir.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "tmpdirs.h"

extern char **environ;

#define UNZIP "/usr/bin/unzip"

static int unzip_into(const char *zip, const char *dir, char *err, size_t errlen)
{
    char *argv[] = {"unzip", "-q", "-o", (char *)zip, "-d", (char *)dir, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, UNZIP, NULL, NULL, argv, environ);
    if (rc != 0) {
        snprintf(err, errlen, "cannot run %s: %s", UNZIP, strerror(rc));
        return -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "%s: unzip failed (status %d)", zip, WEXITSTATUS(status));
        return -1;
    }
    return 0;
}

static int unpack_zip(lambda_local_function *fn, char *err, size_t errlen)
{
    char msg[512];
    char *dir = lambda_local_tmpdir_make(msg, sizeof msg);
    if (!dir) {
        snprintf(err, errlen, "function %s: %s", fn->name, msg);
        return -1;
    }
    fn->unpacked_dir = dir;
    if (unzip_into(fn->code_uri, dir, msg, sizeof msg) != 0) {
        snprintf(err, errlen, "function %s: %s", fn->name, msg);
        return -1;
    }
    fn->code_dir = lambda_local_strdup(dir);
    return 0;
}

int lambda_local_code_prepare(lambda_local_function *fn, const char *bootstrap_override, char *err,
                              size_t errlen)
{
    char resolved[PATH_MAX];
    if (bootstrap_override) {
        if (!realpath(bootstrap_override, resolved)) {
            snprintf(err, errlen, "--bootstrap %s: %s", bootstrap_override, strerror(errno));
            return -1;
        }
        fn->bootstrap = lambda_local_strdup(resolved);
        fn->code_dir = lambda_local_strdup(dirname(resolved));
    } else {
        struct stat st;
        if (!fn->code_uri) {
            snprintf(err, errlen,
                     "function %s: no local CodeUri (missing, an S3 location or an "
                     "intrinsic); pass --bootstrap PATH",
                     fn->name);
            return -1;
        }
        if (stat(fn->code_uri, &st) != 0) {
            snprintf(err, errlen, "function %s: CodeUri %s: %s", fn->name, fn->code_uri,
                     strerror(errno));
            return -1;
        }
        if (S_ISDIR(st.st_mode)) {
            if (!realpath(fn->code_uri, resolved)) {
                snprintf(err, errlen, "function %s: CodeUri %s: %s", fn->name, fn->code_uri,
                         strerror(errno));
                return -1;
            }
            fn->code_dir = lambda_local_strdup(resolved);
        } else if (unpack_zip(fn, err, errlen) != 0) {
            return -1;
        }
        fn->bootstrap = lambda_local_format("%s/bootstrap", fn->code_dir);
    }
    if (access(fn->bootstrap, X_OK) != 0) {
        snprintf(err, errlen, "function %s: %s is not an executable bootstrap: %s", fn->name,
                 fn->bootstrap, strerror(errno));
        return -1;
    }
    return 0;
}

void lambda_local_code_cleanup(lambda_local_function *fn)
{
    if (!fn->unpacked_dir)
        return;
    lambda_local_tmpdir_remove(fn->unpacked_dir);
    free(fn->unpacked_dir);
    fn->unpacked_dir = NULL;
}
