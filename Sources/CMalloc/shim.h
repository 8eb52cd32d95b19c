#ifndef OLW_CMALLOC_SHIM_H
#define OLW_CMALLOC_SHIM_H

#include <malloc.h>

/// Sets glibc's mmap threshold: blocks of `bytes` or more are mmapped and returned on free.
static inline int olw_malloc_set_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }

#endif
