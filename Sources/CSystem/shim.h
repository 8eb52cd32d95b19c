#ifndef OLW_CSYSTEM_SHIM_H
#define OLW_CSYSTEM_SHIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>

// Pointers are non-null (the one here, a thread name, always is).
#pragma clang assume_nonnull begin

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031  // Linux: F_LINUX_SPECIFIC_BASE + 7 (glibc declares it only under __USE_GNU)
#endif

/// Sets glibc's mmap threshold: blocks of `bytes` or more are mmapped and returned on free.
static inline int olw_system_set_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }

/// Sets how much free memory at the top of glibc's heap is kept rather than given back.
static inline int olw_system_set_trim_threshold(int bytes) { return mallopt(M_TRIM_THRESHOLD, bytes); }

/// Names the calling thread (at most 15 bytes are kept), as `top -H` and debuggers show it.
static inline int olw_system_name_this_thread(const char *name) { return pthread_setname_np(pthread_self(), name); }

/// Sets the capacity of the pipe `fd` is an end of (F_SETPIPE_SZ); -1 with errno when it is not a pipe.
static inline int olw_system_set_pipe_size(int fd, int bytes) { return fcntl(fd, F_SETPIPE_SZ, bytes); }

#pragma clang assume_nonnull end
#endif
