/* Profiling aid only: lets the worker run under valgrind.
 *
 * On Linux, libdispatch's dispatch_main() ends the main thread in
 *     static const sigset_t mask; for (;;) sigsuspend(&mask);
 * with the mask in read-only memory. Valgrind 3.19's rt_sigsuspend wrapper writes to the mask it is
 * given (it removes its own signal from it), faults on the read-only page and aborts with
 * "VALGRIND INTERNAL ERROR: Valgrind received a signal 11". This LD_PRELOAD shim copies the mask to
 * the stack before calling the real sigsuspend. It changes nothing else. */
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>

int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, (size_t)(_NSIG / 8));
}
