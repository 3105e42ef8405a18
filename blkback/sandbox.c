/* SPDX-License-Identifier: MIT */
/*
 * pvio-blkback's sandbox: applied once the domain handle, the xenstore
 * connection and the watch are set up.  From then on the daemon parses
 * hostile bytes from every frontend, so it keeps only the system calls
 * its steady state needs.
 *
 * PR_SET_NO_NEW_PRIVS first (no set-uid gain through exec, and required
 * for an unprivileged seccomp filter), then a libseccomp allow-list with
 * default action ERRNO(EPERM): a call outside the list fails cleanly
 * (the vbd that needed it reports an error) instead of killing every
 * vbd of the domain, and with SCMP_FLTATR_CTL_LOG the kernel logs each
 * refusal (audit / dmesg "type=1326"), so a missing entry is found
 * quickly.  Applied to every thread (TSYNC).
 */
#include <errno.h>
#include <stddef.h>
#include <sys/prctl.h>

#include <seccomp.h>

#include "blkback.h"

/* Why each group is allowed.  Names unknown to the running kernel or
 * architecture are skipped. */
static const char *const allow[] = {
	/* Event loop and xenstore/pvio-hv sockets: poll on xs/notify/signal
	 * fds; the hypercall socket passes page fds with SCM_RIGHTS. */
	"poll",
	"ppoll",
	"epoll_wait",
	"epoll_pwait",
	"epoll_pwait2",
	"epoll_ctl",
	"epoll_create1",
	"read",
	"write",
	"readv",
	"writev",
	"recvmsg",
	"sendmsg",
	"recvfrom",
	"sendto",
	"close",
	"shutdown",
	"eventfd2",
	"signalfd4",
	/* Grant maps: each mapped page is an mmap of the fd pvio-hv hands
	 * over (MAP_FIXED for multi-page rings), unmapped with munmap. */
	"mmap",
	"munmap",
	"mremap",
	"mprotect",
	"madvise",
	"brk",
	/* Disks: probe opens the image or device named in xenstore,
	 * reopens it buffered when O_DIRECT is refused, reads its
	 * geometry (fstat, statfs, BLK* ioctls, sysfs files). */
	"openat",
	"open",
	"fstat",
	"newfstatat",
	"statx",
	"stat",
	"lstat",
	"lseek",
	"fcntl",
	"ioctl",
	"readlink",
	"readlinkat",
	"getdents64",
	"statfs",
	"fstatfs",
	/* I/O engines: io_uring (setup/enter/register), libaio, psync;
	 * flush is fsync/fdatasync; discard punches holes (fallocate) or
	 * issues BLKDISCARD (ioctl above). */
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	"io_setup",
	"io_destroy",
	"io_submit",
	"io_getevents",
	"io_pgetevents",
	"io_cancel",
	"pread64",
	"pwrite64",
	"preadv",
	"pwritev",
	"preadv2",
	"pwritev2",
	"fsync",
	"fdatasync",
	"sync_file_range",
	"fallocate",
	/* Queue threads: creation, locks, timed sleeps, exit. */
	"clone",
	"clone3",
	"set_robust_list",
	"rseq",
	"futex",
	"futex_waitv",
	"sched_yield",
	"nanosleep",
	"clock_nanosleep",
	"clock_gettime",
	"gettimeofday",
	"exit",
	"exit_group",
	"getpid",
	"gettid",
	"tgkill",
	"rt_sigprocmask",
	"rt_sigaction",
	"rt_sigreturn",
	"sigaltstack",
	"getrandom",
	"prctl",
	"sched_getaffinity",
	"getrlimit",
	"prlimit64",
	"uname",
	"sysinfo",
	"restart_syscall",
#if defined(__SANITIZE_ADDRESS__)
	/* AddressSanitizer builds only: LeakSanitizer's exit-time check
	 * stops the threads from a ptrace-ing helper it clones and
	 * waits for.  Never in a production build. */
	"ptrace",
	"wait4",
	"waitid",
	"getppid",
	"getdents",
	"kill",
	"pipe2",
	"dup",
	"dup2",
	"dup3",
#endif
};

int bb_sandbox_apply(void)
{
	scmp_filter_ctx f;
	int rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	f = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (f == NULL)
		return -ENOMEM;
	/* Logging needs kernel 4.14; without it refusals are silent. */
	(void)seccomp_attr_set(f, SCMP_FLTATR_CTL_LOG, 1);
	rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1);
	for (size_t i = 0; rc == 0 && i < sizeof(allow) / sizeof(*allow); i++) {
		int nr = seccomp_syscall_resolve_name(allow[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);
	}
	if (rc == 0)
		rc = seccomp_load(f);
	seccomp_release(f);
	if (rc == 0)
		bb_log("sandbox: no_new_privs, seccomp allow-list of %zu "
		       "calls (others: EPERM, logged by the kernel)",
		       sizeof(allow) / sizeof(*allow));
	return rc;
}
