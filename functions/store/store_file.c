/*
 * File backend: a store is a directory; a key is a relative path under it.
 * Puts go to an unnamed file (O_TMPFILE) in the destination directory that
 * is given a hidden name and renamed into place on commit, so a reader sees
 * a whole object or none, and a writer killed mid-write leaves nothing
 * behind. Where O_TMPFILE is missing, a hidden named temporary file is used
 * and the next writer of the key removes those of dead writers. Listings
 * walk the tree in the same byte order as S3 and skip hidden files.
 */
#define _GNU_SOURCE /* O_TMPFILE */
#include <dirent.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

/* A get reads through one buffer of this size, made at the handle's first
 * get and kept until it is closed: a buffer made and freed in each get was
 * fresh memory again and again (the allocator hands freed blocks back to the
 * kernel), and each first touch of a page costs ~20 us of CPU in a
 * Firecracker VM; a merge appends parts through it. 64 KiB (16 pages a
 * handle) costs a few more `read` calls than 256 KiB did. (GenerateSubReport
 * reads its ranges with lambda_store_read_into: no buffer of the store's.) */
#define FILE_IO_CHUNK (64 * 1024)
/* A path under the store: its directory, '/', a key, and a temporary
 * name's suffix. The kernel refuses paths over PATH_MAX (4096) anyway;
 * a longer one fails with a message, never cut short. */
#define FILE_PATH_MAX 4400
/* A directory entry's name (NAME_MAX 255) with room for a separator. */
#define FILE_NAME_MAX 260

typedef struct file_store {
    lambda_store base;
    char *io; /* file_get's buffer (FILE_IO_CHUNK), made at the first get: a sink
               * must not get from the same handle (nor may two threads) */
} file_store;

typedef struct file_writer {
    lambda_store_writer base;
    int fd;
    int unnamed; /* O_TMPFILE: w->tmp gets linked only at commit */
    char tmp[FILE_PATH_MAX];
    char dst[FILE_PATH_MAX];
} file_writer;

static const lambda_store_ops file_ops;

lambda_store_status lambda_store_file_open(const lambda_store_location *loc, lambda_store **out,
                                           lambda_error *err)
{
    struct stat st;
    if (stat(loc->path, &st) != 0 || !S_ISDIR(st.st_mode))
        return lambda_store_fail(
            err, errno == EACCES ? LAMBDA_STORE_ACCESS_DENIED : LAMBDA_STORE_NOT_FOUND,
            "file store directory %s does not exist", loc->path);
    file_store *s = calloc(1, sizeof *s);
    if (!s)
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    s->base.ops = &file_ops;
    *out = &s->base;
    return LAMBDA_STORE_OK;
}

static void file_close(lambda_store *s)
{
    free(((file_store *)s)->io);
    free(s);
}

static lambda_store_status full_path(const lambda_store *s, const char *key, char *buf, size_t n,
                                     lambda_error *err)
{
    if ((size_t)snprintf(buf, n, "%s/%s", s->loc.path, key) >= n)
        return lambda_store_fail(err, LAMBDA_STORE_INVALID, "store key too long");
    return LAMBDA_STORE_OK;
}

/* errno after a failed open/read/write, as one of the store's errorTypes. */
static lambda_store_status io_fail(lambda_error *err, int e, const char *what, const char *key)
{
    lambda_store_status type = LAMBDA_STORE_UNAVAILABLE;
    if (e == ENOENT || e == ENOTDIR)
        type = LAMBDA_STORE_NOT_FOUND;
    else if (e == EACCES || e == EPERM || e == EROFS)
        type = LAMBDA_STORE_ACCESS_DENIED;
    return lambda_store_fail(err, type, "%s %s: %s", what, key, strerror(e));
}

/* ---- listing ---- */

typedef struct list_walk {
    lambda_store_list_fn fn;
    void *ud;
    const char *prefix;
    const char *start_after;
    char key[FILE_PATH_MAX];
    int stopped;
    lambda_error *err;
} list_walk;

typedef struct dir_entry {
    char *name;
    int is_dir;
    uint64_t size;
} dir_entry;

/* Directories sort as "name/": that makes a per-directory sort agree with
 * the byte order of whole keys, because no sibling name contains '/'. */
static int entry_cmp(const void *a, const void *b)
{
    const dir_entry *x = a, *y = b;
    size_t lx = strlen(x->name), ly = strlen(y->name);
    size_t n = lx < ly ? lx : ly;
    int c = memcmp(x->name, y->name, n);
    if (c)
        return c;
    int cx = lx > n ? (unsigned char)x->name[n] : (x->is_dir ? '/' : -1);
    int cy = ly > n ? (unsigned char)y->name[n] : (y->is_dir ? '/' : -1);
    return cx - cy;
}

/* Could any key under `key` + "/" (or the key itself) match the prefix? */
static int may_match(const char *key, size_t keylen, const char *prefix)
{
    size_t pl = strlen(prefix);
    size_t n = keylen < pl ? keylen : pl;
    return memcmp(key, prefix, n) == 0;
}

/* A directory's entries (name, kind, size), unsorted. Each is looked up
 * relative to the directory (fstatat on its descriptor), and a directory
 * that readdir says is one is not looked up at all: a listing is serial
 * time at the start of every GenerateSubReport, and a stat by full path
 * walked every component of it again (two per object, ~0.6 ms for a
 * 16-day part here; the lookups cost more than the rest together). An entry
 * gone before its lookup is skipped, as one gone before readdir. */
static lambda_store_status read_entries(list_walk *w, DIR *d, dir_entry **out, size_t *count)
{
    dir_entry *ents = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* ".", ".." and temporary files */
        struct stat st;
        int is_dir = de->d_type == DT_DIR;
        if (!is_dir) {
            if (fstatat(dirfd(d), de->d_name, &st, 0) != 0 ||
                !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
                continue;
            is_dir = S_ISDIR(st.st_mode);
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            dir_entry *grown = realloc(ents, cap * sizeof *ents);
            if (!grown)
                goto oom;
            ents = grown;
        }
        ents[n] = (dir_entry){strdup(de->d_name), is_dir, is_dir ? 0 : (uint64_t)st.st_size};
        if (!ents[n].name)
            goto oom;
        n++;
    }
    *out = ents;
    *count = n;
    return LAMBDA_STORE_OK;
oom:
    for (size_t i = 0; i < n; i++)
        free(ents[i].name);
    free(ents);
    return lambda_store_fail(w->err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
}

static lambda_store_status walk(list_walk *w, int parent, const char *name, const char *dir_path,
                                size_t keylen)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        if (e == ENOENT || e == ENOTDIR)
            return LAMBDA_STORE_OK; /* an absent prefix lists nothing, like S3 */
        return io_fail(w->err, e, "cannot list", dir_path);
    }
    dir_entry *ents = NULL;
    size_t n = 0;
    lambda_store_status rc = read_entries(w, d, &ents, &n);
    if (n > 1)
        qsort(ents, n, sizeof *ents, entry_cmp);
    for (size_t i = 0; i < n && !w->stopped && rc == 0; i++) {
        size_t nl = strlen(ents[i].name);
        if (keylen + nl + 2 >= sizeof w->key)
            continue;
        memcpy(w->key + keylen, ents[i].name, nl + 1);
        size_t kl = keylen + nl;
        if (ents[i].is_dir) {
            w->key[kl] = '/';
            w->key[kl + 1] = '\0';
            /* Skip subtrees wholly before start_after (earlier dates). */
            if (w->start_after && strncmp(w->key, w->start_after, kl + 1) != 0 &&
                strcmp(w->key, w->start_after) < 0)
                continue;
            if (may_match(w->key, kl + 1, w->prefix)) {
                char path[FILE_PATH_MAX];
                snprintf(path, sizeof path, "%s/%s", dir_path, ents[i].name);
                rc = walk(w, dirfd(d), ents[i].name, path, kl + 1);
            }
            continue;
        }
        if (strncmp(w->key, w->prefix, strlen(w->prefix)) != 0)
            continue;
        if (w->start_after && strcmp(w->key, w->start_after) <= 0)
            continue;
        if (w->fn(w->key, ents[i].size, w->ud))
            w->stopped = 1;
    }
    for (size_t i = 0; i < n; i++)
        free(ents[i].name);
    free(ents);
    closedir(d);
    return rc;
}

static lambda_store_status file_list(lambda_store *s, const char *prefix, const char *start_after,
                                     lambda_store_list_fn fn, void *ud, lambda_error *err)
{
    list_walk *w = calloc(1, sizeof *w);
    if (!w)
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    w->fn = fn;
    w->ud = ud;
    w->prefix = prefix;
    w->start_after = start_after;
    w->err = err;
    /* Start at the deepest directory the prefix names, not at the root. */
    const char *slash = strrchr(prefix, '/');
    size_t keylen = slash ? (size_t)(slash - prefix + 1) : 0;
    char dir[FILE_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%.*s", s->loc.path, (int)keylen, prefix);
    memcpy(w->key, prefix, keylen);
    w->key[keylen] = '\0';
    lambda_store_status rc = walk(w, AT_FDCWD, dir, dir, keylen);
    free(w);
    return rc;
}

/* ---- reading ---- */

/* Up to `want` bytes of fd at `at` into buf: *got of them, fewer only at
 * the file's end (pread may return less than asked: a signal, a huge
 * count; it is read on). */
static lambda_store_status read_at(int fd, char *buf, size_t want, uint64_t at, size_t *got,
                                   const char *key, lambda_error *err)
{
    *got = 0;
    while (*got < want) {
        ssize_t r = pread(fd, buf + *got, want - *got, (off_t)(at + *got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return io_fail(err, errno, "cannot read", key);
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return LAMBDA_STORE_OK;
}

/* An object's file, open for reading. */
static lambda_store_status open_object(lambda_store *s, const char *key, int *fd, lambda_error *err)
{
    char path[FILE_PATH_MAX];
    lambda_store_status rc = full_path(s, key, path, sizeof path, err);
    if (rc != LAMBDA_STORE_OK)
        return rc;
    if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return io_fail(err, errno, "cannot open", key);
    return LAMBDA_STORE_OK;
}

static lambda_store_status file_get(lambda_store *s, const char *key, uint64_t offset,
                                    uint64_t length, lambda_store_sink_fn sink, void *ud,
                                    lambda_error *err)
{
    int fd;
    lambda_store_status rc = open_object(s, key, &fd, err);
    if (rc != LAMBDA_STORE_OK)
        return rc;
    file_store *fs = (file_store *)s;
    if (!fs->io && !(fs->io = malloc(FILE_IO_CHUNK))) {
        rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        goto out;
    }
    uint64_t at = offset, left = length ? length : UINT64_MAX;
    while (left > 0) {
        size_t n;
        rc = read_at(fd, fs->io, left < FILE_IO_CHUNK ? (size_t)left : FILE_IO_CHUNK, at, &n, key,
                     err);
        if (rc != LAMBDA_STORE_OK)
            break;
        if (n == 0) {
            if (length)
                rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "%s is shorter than expected",
                                       key);
            break;
        }
        at += n;
        left -= n;
        if (sink(fs->io, n, ud) != 0) {
            rc = lambda_store_sink_aborted(err, key);
            break;
        }
    }
out:
    close(fd);
    return rc;
}

/* Straight into the caller's buffer: no copy through fs->io (a source
 * byte of GenerateSubReport was copied twice in user space that way). */
static lambda_store_status file_read_into(lambda_store *s, const char *key, uint64_t offset,
                                          uint64_t length, char *buf, size_t cap, size_t *got,
                                          lambda_error *err)
{
    int fd;
    lambda_store_status rc = open_object(s, key, &fd, err);
    if (rc != LAMBDA_STORE_OK)
        return rc;
    size_t want = length ? (size_t)length : cap;
    rc = read_at(fd, buf, want, offset, got, key, err);
    if (rc == LAMBDA_STORE_OK && length && *got < want)
        rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "%s is shorter than expected", key);
    close(fd);
    return rc;
}

static lambda_store_status file_stat(lambda_store *s, const char *key, uint64_t *size, int *exists,
                                     lambda_error *err)
{
    char path[FILE_PATH_MAX];
    lambda_store_status rc = full_path(s, key, path, sizeof path, err);
    if (rc != LAMBDA_STORE_OK)
        return rc;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            *exists = 0;
            *size = 0;
            return LAMBDA_STORE_OK;
        }
        return io_fail(err, errno, "cannot stat", key);
    }
    *exists = S_ISREG(st.st_mode);
    *size = *exists ? (uint64_t)st.st_size : 0;
    return LAMBDA_STORE_OK;
}

/* ---- writing ---- */

static lambda_store_status mkdirs(char *path, lambda_error *err)
{
    /* path is a file path: create every directory before its last '/'. */
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int r = mkdir(path, 0755);
        int e = errno;
        *p = '/';
        if (r != 0 && e != EEXIST)
            return io_fail(err, e, "cannot create directory for", path);
    }
    return LAMBDA_STORE_OK;
}

/* A writer killed mid-write (a timeout, a crash) leaves its temporary file
 * behind and nothing else would ever remove it: the next writer of the same
 * key removes those whose process is gone. */
static void remove_stale_tmp(const char *dir, const char *name)
{
    char prefix[512];
    int n = snprintf(prefix, sizeof prefix, ".%s.tmp-", name);
    DIR *d = n > 0 && (size_t)n < sizeof prefix ? opendir(dir) : NULL;
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, (size_t)n) != 0)
            continue;
        char *end;
        long pid = strtol(e->d_name + n, &end, 10);
        if (end == e->d_name + n || *end != '-' || pid <= 0 || pid == (long)getpid() ||
            kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* not ours to judge, or its writer may still be alive */
        char path[FILE_PATH_MAX + FILE_NAME_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static lambda_store_status file_put_begin(lambda_store *s, const char *key,
                                          lambda_store_writer **out, lambda_error *err)
{
    file_writer *w = calloc(1, sizeof *w);
    if (!w)
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    w->base.store = s;
    w->fd = -1;
    lambda_store_status rc = full_path(s, key, w->dst, sizeof w->dst, err);
    if (rc != LAMBDA_STORE_OK) {
        free(w);
        return rc;
    }
    const char *slash = strrchr(w->dst, '/');
    char dir[sizeof w->dst];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - w->dst), w->dst);
    struct stat st;
    if (stat(dir, &st) != 0 && (rc = mkdirs(w->dst, err)) != LAMBDA_STORE_OK) {
        free(w);
        return rc;
    }
    /* pid + writer address: unique among live writers, no shared counter
     * (handlers may run on several threads). */
    snprintf(w->tmp, sizeof w->tmp, "%.*s/.%s.tmp-%ld-%p", (int)(slash - w->dst), w->dst, slash + 1,
             (long)getpid(), (void *)w);
#ifdef O_TMPFILE
    /* Committing links the unnamed file through /proc/self/fd. */
    if (access("/proc/self/fd", X_OK) == 0) {
        w->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
        w->unnamed = w->fd >= 0;
    }
#endif
    if (w->fd < 0) {
        remove_stale_tmp(dir, slash + 1);
        w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    }
    if (w->fd < 0) {
        int e = errno;
        free(w);
        return io_fail(err, e, "cannot create", key);
    }
    *out = &w->base;
    return LAMBDA_STORE_OK;
}

/* Writes on until the count (a signal or a huge count may write less): at
 * the file's position (at < 0), or at an offset (pwrite: threads write
 * disjoint ranges of the file at once, no shared position). */
static lambda_store_status write_all(file_writer *w, const char *p, size_t len, int64_t at,
                                     lambda_error *err)
{
    while (len > 0) {
        ssize_t r = at < 0 ? write(w->fd, p, len) : pwrite(w->fd, p, len, (off_t)at);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return io_fail(err, errno, "cannot write", w->dst);
        }
        p += r;
        len -= (size_t)r;
        if (at >= 0)
            at += r;
    }
    return LAMBDA_STORE_OK;
}

static lambda_store_status file_put_write(lambda_store_writer *base, const void *data, size_t len,
                                          lambda_error *err)
{
    return write_all((file_writer *)base, data, len, -1, err);
}

static lambda_store_status file_put_write_at(lambda_store_writer *base, uint64_t offset,
                                             const void *data, size_t len, lambda_error *err)
{
    if (offset > INT64_MAX)
        return lambda_store_fail(err, LAMBDA_STORE_INVALID, "offset %" PRIu64 " too large", offset);
    return write_all((file_writer *)base, data, len, (int64_t)offset, err);
}

/* file_put_append's sink: the write's own status is what the append
 * returns (not "aborted"). */
typedef struct append_ctx {
    lambda_store_writer *w;
    lambda_error *err;
    lambda_store_status st;
} append_ctx;

static int append_sink(const char *data, size_t len, void *ud)
{
    append_ctx *a = ud;
    a->st = file_put_write(a->w, data, len, a->err);
    return a->st != LAMBDA_STORE_OK;
}

static lambda_store_status file_put_append(lambda_store_writer *base, const char *src_key,
                                           uint64_t size, lambda_error *err)
{
    append_ctx a = {base, err, LAMBDA_STORE_OK};
    lambda_store_status rc = file_get(base->store, src_key, 0, size, append_sink, &a, err);
    return a.st != LAMBDA_STORE_OK ? a.st : rc;
}

static void file_put_abort(lambda_store_writer *base)
{
    file_writer *w = (file_writer *)base;
    if (w->fd >= 0)
        close(w->fd);
    if (!w->unnamed)
        unlink(w->tmp);
    free(w);
}

static lambda_store_status file_put_commit(lambda_store_writer *base, lambda_error *err)
{
    file_writer *w = (file_writer *)base;
    lambda_store_status rc = LAMBDA_STORE_OK;
    if (w->unnamed) {
        /* linkat cannot replace dst: name the file, then rename it over. */
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", w->fd);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, w->tmp, AT_SYMLINK_FOLLOW) != 0) {
            rc = io_fail(err, errno, "cannot publish", w->dst);
            close(w->fd);
            free(w);
            return rc;
        }
    }
    if (close(w->fd) != 0)
        rc = io_fail(err, errno, "cannot close", w->dst);
    w->fd = -1;
    if (rc == LAMBDA_STORE_OK && rename(w->tmp, w->dst) != 0)
        rc = io_fail(err, errno, "cannot publish", w->dst);
    if (rc != LAMBDA_STORE_OK)
        unlink(w->tmp);
    free(w);
    return rc;
}

static lambda_store_status file_copy(lambda_store *s, const char *src, const char *dst,
                                     lambda_error *err)
{
    uint64_t size;
    int exists;
    lambda_store_status rc = file_stat(s, src, &size, &exists, err);
    if (rc != LAMBDA_STORE_OK)
        return rc;
    if (!exists)
        return lambda_store_fail(err, LAMBDA_STORE_NOT_FOUND, "no such object %s", src);
    lambda_store_writer *w;
    if ((rc = file_put_begin(s, dst, &w, err)) != LAMBDA_STORE_OK)
        return rc;
    if (size && (rc = file_put_append(w, src, size, err)) != LAMBDA_STORE_OK) {
        file_put_abort(w);
        return rc;
    }
    return file_put_commit(w, err);
}

static lambda_store_status file_delete(lambda_store *s, const char *key, lambda_error *err)
{
    char path[FILE_PATH_MAX];
    lambda_store_status rc = full_path(s, key, path, sizeof path, err);
    if (rc != LAMBDA_STORE_OK)
        return rc;
    if (unlink(path) != 0 && errno != ENOENT)
        return io_fail(err, errno, "cannot delete", key);
    return LAMBDA_STORE_OK;
}

static const lambda_store_ops file_ops = {
    .list = file_list,
    .get = file_get,
    .read_into = file_read_into,
    .stat = file_stat,
    .put_begin = file_put_begin,
    .put_write = file_put_write,
    .put_write_at = file_put_write_at,
    .put_append = file_put_append,
    .put_commit = file_put_commit,
    .put_abort = file_put_abort,
    .copy = file_copy,
    .del = file_delete,
    .presign = NULL,
    .close = file_close,
};
