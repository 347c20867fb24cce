/*
 * lambda-alloc-check: the static build's allocator (mimalloc 2.0.9 with
 * packaging/patches/mimalloc-2.0.9-extend-one-os-page.patch), linked like
 * every static program.
 *  1. The patch in effect: the first block of a fresh size class leaves
 *     every OS page it does not cover untouched (mincore: not resident).
 *     Unpatched, threading the free list wrote the next OS page too (blocks
 *     of up to 1 KiB start 384 bytes into their 64 KiB page) and the first
 *     word of 3 more blocks for blocks of 4 KiB or more: 2 and 4 pages.
 *  2. The first segment is mapped where the kernel maps anonymous memory
 *     (packaging/patches/mimalloc-2.0.9-linux-mmap-area.patch): the first
 *     allocation adds at most two page-table pages (VmPTE), a PTE page and
 *     at most a PMD page, once the vDSO's region has its own. Unpatched, the
 *     segment went to a hint in the 2-6 TiB area: a PUD, a PMD and a PTE page.
 *  3. The free lists still hand out every block once: 40,000 allocations
 *     of 1 byte to 300 KB (malloc, calloc, realloc, aligned_alloc), freed
 *     and reused in a random order, each filled with its own pattern and
 *     checked before it is freed; calloc's blocks are zero; aligned_alloc's
 *     are aligned; no two live blocks overlap.
 *  4. Every public allocation entry point of musl's libc.a is mimalloc's
 *     (packaging/patches/mimalloc-2.0.9-aligned-alloc-musl.patch): malloc,
 *     calloc, realloc, reallocarray, aligned_alloc, posix_memalign, memalign
 *     and valloc each return a block of mimalloc's heap (mi_check_owned),
 *     aligned as asked, that malloc_usable_size measures as mimalloc does,
 *     that realloc grows and shrinks keeping its bytes, and that free()
 *     takes back. Unpatched, aligned_alloc was musl's (musl's heap), and
 *     free() of its block crashed; and an aligned block of 256-1024 bytes
 *     was 128-aligned only (mimalloc-2.0.9-aligned-small-blocks.patch).
 * Exits 0 when all hold, else prints the first failure and exits 1.
 * `lambda-alloc-check --entry-points` runs check 4 alone (under qemu, where
 * the process's page tables and residency are the emulator's).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define OS_PAGE 4096u
#define SLICE (64u * 1024u) /* mimalloc's small pages: 64 KiB, 64 KiB-aligned */

/* mimalloc's API (the program is linked with its object): whether a block
 * lies in a page of this thread's heap, and mimalloc's size of a block. Weak:
 * linked with musl's own malloc (LAMBDA_MUSL_ALLOCATOR=musl) they are NULL. */
extern bool mi_check_owned(const void *p) __attribute__((weak));
extern size_t mi_usable_size(const void *p) __attribute__((weak));

static size_t resident(uintptr_t from, uintptr_t to)
{
    from &= ~(uintptr_t)(OS_PAGE - 1);
    size_t pages = (to - from + OS_PAGE - 1) / OS_PAGE, n = 0;
    unsigned char vec[256];
    if (pages > sizeof vec || mincore((void *)from, pages * OS_PAGE, vec) != 0) {
        perror("mincore");
        exit(1);
    }
    for (size_t i = 0; i < pages; i++)
        n += vec[i] & 1;
    return n;
}

/* OS pages [p, p + n) covers. */
static size_t spanned(uintptr_t p, size_t n)
{
    return (p + n - 1) / OS_PAGE - p / OS_PAGE + 1;
}

static int check_fresh_class(size_t size, uintptr_t region_from, uintptr_t region_to, uintptr_t p)
{
    size_t got = resident(region_from, region_to), want = spanned(p, 1);
    if (got != want) {
        printf("malloc(%zu) at %#lx: %zu OS pages resident in [%#lx, %#lx), want %zu "
               "(the free list was threaded beyond the first block's page)\n",
               size, (unsigned long)p, got, (unsigned long)region_from, (unsigned long)region_to,
               want);
        return 1;
    }
    return 0;
}

/* VmPTE of /proc/self/status in kB, or -1; read without stdio, which
 * would allocate. */
static long vm_pte_kb(void)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *at = strstr(buf, "\nVmPTE:");
    return at ? strtol(at + sizeof "\nVmPTE:" - 1, NULL, 10) : -1;
}

/* Before any other allocation: what the first one (which maps the first
 * segment) adds to the page tables. */
static int check_first_segment(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* the vDSO's region gets its tables */
    long before = vm_pte_kb();
    void *p = malloc(8);
    long after = vm_pte_kb();
    if (!p)
        return 1;
    if (before < 0 || after < 0) {
        printf("note: no VmPTE in /proc/self/status: first segment not checked\n");
        return 0;
    }
    if (after - before > 2 * (long)OS_PAGE / 1024) {
        printf("the first allocation (%p) added %ld kB of page tables, want at most 8 "
               "(its segment is not where the kernel maps anonymous memory)\n",
               p, after - before);
        return 1;
    }
    return 0;
}

static int check_extension(void)
{
    int bad = 0;
    /* One block of each of these sizes, each its own size class, none used
     * before: the process has not allocated yet. */
    static const size_t small[] = {16, 48, 112, 1024};
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        unsigned char *p = malloc(small[i]);
        if (!p)
            return 1;
        p[0] = 1; /* only its first byte: the block's own page */
        uintptr_t slice = (uintptr_t)p & ~(uintptr_t)(SLICE - 1);
        bad |= check_fresh_class(small[i], slice, slice + SLICE, (uintptr_t)p);
    }
    static const size_t large[] = {5000, 16385, 65536};
    for (size_t i = 0; i < sizeof large / sizeof large[0]; i++) {
        unsigned char *p = malloc(large[i]);
        if (!p)
            return 1;
        p[0] = 1;
        /* The next blocks of its class lie right after it. */
        bad |= check_fresh_class(large[i], (uintptr_t)p, (uintptr_t)p + 4 * large[i], (uintptr_t)p);
    }
    return bad;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

typedef struct live {
    unsigned char *p;
    size_t n;
    unsigned char tag;
} live;

#define SLOTS 4000
static live slots[SLOTS];

static size_t random_size(void)
{
    switch (next_random() % 4) {
    case 0:
        return 1 + next_random() % 128;
    case 1:
        return 1 + next_random() % 4096;
    case 2:
        return 1 + next_random() % 70000;
    default:
        return 1 + next_random() % 300000;
    }
}

static int check_block(const live *b)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->p[i] != (unsigned char)(b->tag + i)) {
            printf("block %p (%zu bytes) changed at byte %zu: another block overlaps it\n",
                   (void *)b->p, b->n, i);
            return 1;
        }
    }
    return 0;
}

static void fill_block(live *b)
{
    for (size_t i = 0; i < b->n; i++)
        b->p[i] = (unsigned char)(b->tag + i);
}

static int check_free_lists(void)
{
    for (unsigned round = 0; round < 40000; round++) {
        live *b = &slots[next_random() % SLOTS];
        if (b->p) {
            if (check_block(b))
                return 1;
            if (next_random() % 4 == 0) { /* grow or shrink in place or moved */
                size_t n = random_size();
                unsigned char *q = realloc(b->p, n);
                if (!q)
                    return 1;
                size_t kept = n < b->n ? n : b->n;
                for (size_t i = 0; i < kept; i++) {
                    if (q[i] != (unsigned char)(b->tag + i)) {
                        printf("realloc lost byte %zu of %zu\n", i, kept);
                        return 1;
                    }
                }
                b->p = q;
                b->n = n;
                fill_block(b);
                continue;
            }
            free(b->p);
            b->p = NULL;
            continue;
        }
        b->n = random_size();
        b->tag = (unsigned char)next_random();
        uint64_t how = next_random() % 4;
        if (how == 0) {
            b->p = calloc(1, b->n);
            if (!b->p)
                return 1;
            for (size_t i = 0; i < b->n; i++) {
                if (b->p[i]) {
                    printf("calloc(1, %zu): byte %zu is not zero\n", b->n, i);
                    return 1;
                }
            }
        } else if (how == 1) { /* 16 to 4096, any size (C17) */
            size_t align = (size_t)16 << (next_random() % 9);
            b->p = aligned_alloc(align, b->n);
            if (!b->p)
                return 1;
            if ((uintptr_t)b->p % align) {
                printf("aligned_alloc(%zu, %zu) = %p: not aligned\n", align, b->n, (void *)b->p);
                return 1;
            }
        } else {
            b->p = malloc(b->n);
            if (!b->p)
                return 1;
        }
        fill_block(b);
    }
    for (size_t i = 0; i < SLOTS; i++) {
        if (slots[i].p && check_block(&slots[i]))
            return 1;
        free(slots[i].p);
    }
    return 0;
}

/* The public entry points, each as "allocate n bytes". */
static void *by_malloc(size_t n)
{
    return malloc(n);
}

static void *by_calloc(size_t n)
{
    return calloc(n, 1);
}

static void *by_realloc(size_t n)
{
    return realloc(NULL, n);
}

static void *by_reallocarray(size_t n)
{
    return reallocarray(NULL, 1, n);
}

static void *by_aligned_alloc(size_t n)
{
    return aligned_alloc(64, n);
}

static void *by_aligned_alloc_page(size_t n)
{
    return aligned_alloc(4096, n);
}

static void *by_posix_memalign(size_t n)
{
    void *p = NULL;
    return posix_memalign(&p, 256, n) == 0 ? p : NULL;
}

static void *by_memalign(size_t n)
{
    return memalign(512, n);
}

static void *by_valloc(size_t n)
{
    return valloc(n);
}

static const struct entry_point {
    const char *name;
    size_t align; /* what it promises */
    void *(*alloc)(size_t n);
} entry_points[] = {
    {"malloc", 16, by_malloc},
    {"calloc", 16, by_calloc},
    {"realloc(NULL, n)", 16, by_realloc},
    {"reallocarray(NULL, 1, n)", 16, by_reallocarray},
    {"aligned_alloc(64, n)", 64, by_aligned_alloc},
    {"aligned_alloc(4096, n)", 4096, by_aligned_alloc_page},
    {"posix_memalign(256, n)", 256, by_posix_memalign},
    {"memalign(512, n)", 512, by_memalign},
    {"valloc(n)", 4096, by_valloc},
};

/* A block of mimalloc's heap? Said before anything frees it: free() of
 * another allocator's block crashes, or corrupts what lies 32 MiB below. */
static int check_owned(const char *what, size_t n, const void *p)
{
    if (!mi_check_owned(p)) {
        printf("%s with n = %zu gave %p, not a block of mimalloc's heap (another allocator's: "
               "free() of it would crash)\n",
               what, n, p);
        return 1;
    }
    return 0;
}

static int check_kept(const char *what, const unsigned char *p, size_t n, unsigned char tag)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != (unsigned char)(tag + i)) {
            printf("%s lost byte %zu of %zu\n", what, i, n);
            return 1;
        }
    }
    return 0;
}

/* One block of e's, n bytes: mimalloc's, aligned, measured, filled, grown
 * and shrunk by realloc, freed by free(). */
static int check_entry_point(const struct entry_point *e, size_t n, unsigned char tag)
{
    unsigned char *p = e->alloc(n);
    if (!p) {
        printf("%s with n = %zu: NULL\n", e->name, n);
        return 1;
    }
    if (check_owned(e->name, n, p))
        return 1; /* leaked: freeing it is what would crash */
    if ((uintptr_t)p % e->align) {
        printf("%s with n = %zu gave %p: not %zu-aligned\n", e->name, n, (void *)p, e->align);
        return 1;
    }
    size_t usable = malloc_usable_size(p);
    if (usable < n || usable != mi_usable_size(p)) {
        printf("%s with n = %zu: malloc_usable_size says %zu, mimalloc %zu\n", e->name, n, usable,
               mi_usable_size(p));
        return 1;
    }
    if (e->alloc == by_calloc) {
        for (size_t i = 0; i < n; i++) {
            if (p[i]) {
                printf("calloc with n = %zu: byte %zu is not zero\n", n, i);
                return 1;
            }
        }
    }
    for (size_t i = 0; i < usable; i++)
        p[i] = (unsigned char)(tag + i);
    unsigned char *q = realloc(p, 3 * n + 1); /* moves it past a small block's class */
    if (!q || check_owned("realloc (growing)", 3 * n + 1, q) ||
        check_kept("realloc (growing)", q, n, tag))
        return 1;
    unsigned char *r = realloc(q, n / 2 + 1);
    if (!r || check_owned("realloc (shrinking)", n / 2 + 1, r) ||
        check_kept("realloc (shrinking)", r, n / 2 + 1, tag))
        return 1;
    free(r);
    return 0;
}

static int check_entry_points(void)
{
    if (!mi_check_owned || !mi_usable_size) {
        printf("not linked with mimalloc (mi_check_owned, mi_usable_size missing)\n");
        return 1;
    }
    /* 88 bytes: not a multiple of the alignment (C17 allows it); 256 and
     * 512: blocks of their own size class, 128-aligned only in small pages
     * (mimalloc-2.0.9-aligned-small-blocks.patch); 5000: a medium block;
     * 300,000: a large one. */
    static const size_t sizes[] = {88, 256, 512, 5000, 300000};
    for (size_t i = 0; i < sizeof entry_points / sizeof entry_points[0]; i++) {
        for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++) {
            if (check_entry_point(&entry_points[i], sizes[j], (unsigned char)(i * 7 + j)))
                return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--entry-points") == 0) {
        if (check_entry_points())
            return 1;
        printf("ok: malloc, calloc, realloc, reallocarray, aligned_alloc, posix_memalign, "
               "memalign and valloc return mimalloc's blocks, which realloc and free take\n");
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--entry-points]\n", argv[0]);
        return 2;
    }
    /* Residency is counted in 4 KiB pages: no transparent huge pages. */
    if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
        perror("prctl(PR_SET_THP_DISABLE)");
    if (sysconf(_SC_PAGESIZE) != OS_PAGE) {
        printf("skip: OS pages are %ld bytes, not 4 KiB\n", sysconf(_SC_PAGESIZE));
        return 0;
    }
    if (check_first_segment() || check_extension())
        return 1;
    /* Before the random allocations, which use aligned_alloc: check 4 says
     * which entry point is not mimalloc's, where a free() would crash. */
    if (check_entry_points() || check_free_lists())
        return 1;
    printf("ok: the first segment needs one or two page-table pages, fresh size classes touch "
           "one OS page, 40,000 allocations hand out disjoint blocks, every public entry point "
           "is mimalloc's\n");
    return 0;
}
