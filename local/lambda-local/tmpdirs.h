/*
 * lambda-local's temporary folders (unpacked zips): named
 * lambda-local-<pid>-XXXXXX under $TMPDIR (default /tmp), so that the folders
 * of a process that died without cleaning up (SIGKILL, a crash) can be told
 * from those of a running one and swept by the next start.
 */
#ifndef LAMBDA_LOCAL_TMPDIRS_H
#define LAMBDA_LOCAL_TMPDIRS_H

#include <stddef.h>

/* Creates a private folder; returns its path (caller frees), or NULL with
 * `err`. */
char *lambda_local_tmpdir_make(char *err, size_t errlen);

/* Removes a folder and everything in it, never following symbolic links. */
void lambda_local_tmpdir_remove(const char *dir);

/* Removes the folders of lambda-local processes that no longer exist;
 * returns how many. */
int lambda_local_tmpdir_sweep(void);

#endif
