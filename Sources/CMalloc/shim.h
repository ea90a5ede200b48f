// glibc's malloc tuning, whose constants Swift does not import.
#ifndef KUVERT_CMALLOC_SHIM_H
#define KUVERT_CMALLOC_SHIM_H

#include <malloc.h>

/// Keeps freed heap in the process (up to `trim` bytes at the top, growing by
/// `pad` at a time) instead of handing it back to the kernel at once.
static inline void kuvert_keep_freed_memory(int trim, int pad) {
    mallopt(M_TRIM_THRESHOLD, trim);
    mallopt(M_TOP_PAD, pad);
}

#endif
