#define _GNU_SOURCE
#include "coop_process_memory.h"

#include <link.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

struct release {
    size_t advised;
    int objects;
};

static int release_segments(struct dl_phdr_info *info, size_t size, void *context) {
    (void)size;
    struct release *release = context;
    /* The executable (the first object, its name empty) and the libraries loaded from files; not the vDSO, a
     * mapping of the kernel's own. */
    if (release->objects++ > 0 && (info->dlpi_name == NULL || info->dlpi_name[0] != '/')) return 0;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t relro_start = 0, relro_end = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[i];
        if (header->p_type == PT_GNU_RELRO) {
            relro_start = info->dlpi_addr + header->p_vaddr;
            relro_end = relro_start + header->p_memsz;
        }
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[i];
        /* Never written: no relocation was applied to it, so dropping its pages loses nothing. */
        if (header->p_type != PT_LOAD || (header->p_flags & PF_W)) continue;
        uintptr_t start = info->dlpi_addr + header->p_vaddr;
        uintptr_t end = start + header->p_filesz;
        if (relro_end > relro_start && start < relro_end && relro_start < end) continue;
        /* Whole pages inside the segment only: a page shared with a neighbour is left alone. */
        uintptr_t first = (start + page - 1) / page * page;
        uintptr_t last = end / page * page;
        if (last > first && madvise((void *)first, last - first, MADV_DONTNEED) == 0) release->advised += last - first;
    }
    return 0;
}

size_t coop_release_program_pages(void) {
    struct release release = {0, 0};
    dl_iterate_phdr(release_segments, &release);
    return release.advised;
}
