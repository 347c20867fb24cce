/* Architectures: the bootstrap's ELF machine against the host's. */
#include "arch.h"

#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#else
#define HOST_MACHINE EM_NONE
#endif

/* e_machine of a little-endian ELF file, or EM_NONE (not ELF, unreadable:
 * exec will say why). */
static int elf_machine(const char *path)
{
    unsigned char h[20];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return EM_NONE;
    ssize_t n = read(fd, h, sizeof h);
    close(fd);
    if (n != (ssize_t)sizeof h || memcmp(h, ELFMAG, SELFMAG) != 0 || h[EI_DATA] != ELFDATA2LSB)
        return EM_NONE;
    return h[18] | (h[19] << 8);
}

static const char *machine_name(int machine)
{
    switch (machine) {
    case EM_X86_64:
        return "x86_64";
    case EM_AARCH64:
        return "arm64 (aarch64)";
    default:
        return "unknown";
    }
}

/* The first executable NAME in $PATH, or NULL. */
static char *find_on_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path)
        return NULL;
    char *copy = lambda_local_strdup(path);
    char *found = NULL;
    char *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        char *candidate = lambda_local_format("%s/%s", *dir ? dir : ".", name);
        if (access(candidate, X_OK) == 0)
            found = candidate;
        else
            free(candidate);
    }
    free(copy);
    return found;
}

static char *find_qemu_aarch64(void)
{
    const char *env = getenv("LAMBDA_LOCAL_QEMU_AARCH64");
    if (env && *env)
        return access(env, X_OK) == 0 ? lambda_local_strdup(env) : NULL;
    char *q = find_on_path("qemu-aarch64");
    return q ? q : find_on_path("qemu-aarch64-static");
}

int lambda_local_arch_runner(const lambda_local_function *fn, char **runner, char *err,
                             size_t errlen)
{
    *runner = NULL;
    int machine = elf_machine(fn->bootstrap);
    if (machine == EM_NONE)
        return 0;
    int wanted = EM_NONE;
    if (fn->architecture)
        wanted = strcmp(fn->architecture, "arm64") == 0 ? EM_AARCH64 : EM_X86_64;
    /* Lambda would not start it either (exec format error). */
    if (wanted != EM_NONE && machine != wanted) {
        snprintf(err, errlen, "function %s has Architectures [%s] but %s is an %s executable",
                 fn->name, fn->architecture, fn->bootstrap, machine_name(machine));
        return -1;
    }
    if (machine == HOST_MACHINE)
        return 0;
    if (machine == EM_AARCH64) {
        *runner = find_qemu_aarch64();
        if (*runner)
            return 0;
        snprintf(err, errlen,
                 "%s is an arm64 (aarch64) executable and this host is %s: it runs through "
                 "qemu-aarch64, which was not found (install Debian's qemu-user: apt-get install "
                 "qemu-user; or set LAMBDA_LOCAL_QEMU_AARCH64)",
                 fn->bootstrap, machine_name(HOST_MACHINE));
        return -1;
    }
    snprintf(err, errlen, "%s is an executable for ELF machine %d, which this host cannot run",
             fn->bootstrap, machine);
    return -1;
}
