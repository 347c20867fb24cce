/*
 * lambda-memcpy-check: memcpy and memmove of the static build's libc
 * (musl 1.2.3 with packaging/patches/musl-1.2.3-x86_64-memcpy-small.patch)
 * against a byte-by-byte reference: every size from 0 to 1,100 bytes (the
 * patch's paths: 0, 1, 2-3, 4-7, 8-16, 17-32, 33-64, and musl's own above 64)
 * at every source and destination alignment in 0..63 (sizes over 160 at
 * 0..15 and 61..63), then sizes to 70,000; nothing outside the destination
 * may change. memmove: every overlap of a block of 0-300 bytes with its copy
 * shifted by -80..80 bytes (forward overlaps go through memcpy's code, as
 * musl's memmove jumps to it). Exits 0 when all agree, else prints the first
 * difference and exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AREA 72000
#define GUARD 128

static unsigned char src_area[AREA + 2 * GUARD], dst_area[AREA + 2 * GUARD],
    want_area[AREA + 2 * GUARD];

/* The calls go through volatile pointers: the compiler can neither inline
 * nor drop them, so the library's code is what runs. */
static void *(*volatile copy)(void *restrict, const void *restrict, size_t) = memcpy;
static void *(*volatile move)(void *, const void *, size_t) = memmove;

/* The reference: byte by byte through volatile stores, so that the
 * compiler cannot turn the loop into a call to the memcpy under test (at
 * -O2 it would: -ftree-loop-distribute-patterns). */
static void ref_copy(unsigned char *d, const unsigned char *s, size_t n)
{
    volatile unsigned char *vd = d;
    for (size_t i = 0; i < n; i++)
        vd[i] = s[i];
}

static uint32_t state = 2463534242u;
static unsigned char next_byte(void)
{
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return (unsigned char)state;
}

static void fill(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = next_byte();
}

/* Copies `n` bytes between the given alignments and checks the destination
 * and GUARD bytes on each side of it (only that window is filled and
 * compared, so that the many cases stay fast). */
static int check_copy(size_t n, size_t src_align, size_t dst_align)
{
    unsigned char *src = src_area + GUARD + src_align, *dst = dst_area + GUARD + dst_align;
    unsigned char *lo = dst - GUARD, *want = want_area + (lo - dst_area);
    size_t window = n + 2 * GUARD;
    fill(src, n);
    fill(lo, window);
    ref_copy(want, lo, window);
    ref_copy(want + GUARD, src, n);
    void *ret = copy(dst, src, n);
    for (size_t i = 0; i < window; i++) {
        if (lo[i] != want[i]) {
            printf("memcpy of %zu bytes (source alignment %zu, destination %zu): byte %ld "
                   "relative to the destination is %u, expected %u\n",
                   n, src_align, dst_align, (long)i - GUARD, lo[i], want[i]);
            return 1;
        }
    }
    if (ret != dst) {
        printf("memcpy of %zu bytes returned %p, not the destination %p\n", n, ret, (void *)dst);
        return 1;
    }
    return 0;
}

/* Moves `n` bytes by `shift` within one buffer (|shift| < n: overlapping)
 * and checks the moved bytes and GUARD bytes around the whole span. */
static int check_move(size_t n, long shift, size_t align)
{
    unsigned char *area = dst_area + GUARD + 96 + align;
    unsigned char *lo = area - 96 - GUARD / 2, *want = want_area + (lo - dst_area);
    size_t window = n + 192 + GUARD;
    fill(lo, window);
    ref_copy(want, lo, window);
    unsigned char tmp[512];
    unsigned char *w = want + (area - lo);
    ref_copy(tmp, w, n);
    ref_copy(w + shift, tmp, n);
    void *ret = move(area + shift, area, n);
    for (size_t i = 0; i < window; i++) {
        if (lo[i] != want[i]) {
            printf("memmove of %zu bytes by %ld (alignment %zu): byte %ld differs (%u, expected "
                   "%u)\n",
                   n, shift, align, (long)i - (long)(area - lo), lo[i], want[i]);
            return 1;
        }
    }
    if (ret != area + shift) {
        printf("memmove of %zu bytes by %ld returned the wrong pointer\n", n, shift);
        return 1;
    }
    return 0;
}

int main(void)
{
    long copies = 0, moves = 0;
    for (size_t n = 0; n <= 1100; n++) {
        for (size_t s = 0; s < 64; s++) {
            for (size_t d = 0; d < 64; d++) {
                if (n > 160 && ((s > 15 && s < 61) || (d > 15 && d < 61)))
                    continue;
                if (check_copy(n, s, d))
                    return 1;
                copies++;
            }
        }
    }
    for (size_t n = 1101; n <= 70000; n += n / 7 + 13) {
        for (size_t a = 0; a < 16; a++) {
            if (check_copy(n, a, (a * 7) % 16) || check_copy(n, (a * 5) % 16, a))
                return 1;
            copies += 2;
        }
    }
    for (size_t n = 0; n <= 300; n++) {
        for (long shift = -80; shift <= 80; shift++) {
            for (size_t a = 0; a < 8; a++) {
                if (check_move(n, shift, a))
                    return 1;
                moves++;
            }
        }
    }
    printf("ok: %ld memcpy and %ld memmove cases agree with the byte-by-byte reference\n", copies,
           moves);
    return 0;
}
