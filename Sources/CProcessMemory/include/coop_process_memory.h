#ifndef COOP_PROCESS_MEMORY_H
#define COOP_PROCESS_MEMORY_H
#include <stddef.h>

/* Drops the mappings of the never-written segments of the executable and its libraries (read-only and executable PT_LOADs, outside
 * RELRO) with MADV_DONTNEED: start-up's code pages leave the resident set, and what runs later is mapped again
 * from the page cache on first use. Returns the bytes advised. See StartupPages in CoopDaemon. */
size_t coop_release_program_pages(void);

#endif
