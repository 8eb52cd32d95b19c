#ifndef OLW_CSYSTEM_SHIM_H
#define OLW_CSYSTEM_SHIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <pthread.h>

/// Sets glibc's mmap threshold: blocks of `bytes` or more are mmapped and returned on free.
static inline int olw_system_set_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }

/// Sets how much free memory at the top of glibc's heap is kept rather than given back.
static inline int olw_system_set_trim_threshold(int bytes) { return mallopt(M_TRIM_THRESHOLD, bytes); }

/// Names the calling thread (at most 15 bytes are kept), as `top -H` and debuggers show it.
static inline int olw_system_name_this_thread(const char *name) { return pthread_setname_np(pthread_self(), name); }

#endif
