/* SPDX-License-Identifier: MIT */
/*
 * pvio-bench-hv: what pvio-hv's services cost, each beside the floor it
 * is built on, measured in the same run:
 *
 *   hypercall round trip      vs a SOCK_SEQPACKET ping-pong to a process
 *   map+unmap per page        vs mmap+munmap of a memfd page
 *   grant copy per 4 KiB      vs memcpy of 4 KiB
 *   event notify latency      vs an eventfd ping-pong (busy and sleeping)
 *   xenstore read/write       pvio's client and Debian's libxenstore.so.4
 *                             against the same daemon
 *
 * It starts its own pvio-hv in a temporary run directory and creates two
 * domains there.  Absolute figures on shared machines are noisy; the
 * ratio to the baseline is the figure to read.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>

#include <pvio/domain.h>
#include <pvio/grant.h>
#include <pvio/io/grant_table.h>
#include <pvio/xs.h>

#define PAGE 4096U
#define BATCH 64U

static unsigned long iters = 20000;
static char run_dir[] = "/tmp/pvio-bench-hv.XXXXXX";
static pid_t hv_pid;

static _Noreturn void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static _Noreturn void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pvio-bench-hv: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (hv_pid > 0)
		kill(hv_pid, SIGTERM);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* ---------------------------------------------------------------------- */
/* The stub                                                               */
/* ---------------------------------------------------------------------- */

static struct pvio_dom *start_hv(void)
{
	char log[256];
	struct pvio_dom *dom0 = NULL;
	int err = 0;

	if (!mkdtemp(run_dir))
		die("mkdtemp: %s", strerror(errno));
	snprintf(log, sizeof(log), "%s/hv.log", run_dir);
	hv_pid = fork();
	if (hv_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		pin(0);
		execl(PVIO_HV_BINARY, PVIO_HV_BINARY, "--foreground",
		      "--run-dir", run_dir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && !dom0; i++) {
		dom0 = pvio_dom_open_dom0(run_dir, &err);
		if (!dom0)
			usleep(10000);
	}
	if (!dom0)
		die("pvio-hv did not come up: %s (log: %s)", strerror(-err),
		    log);
	return dom0;
}

static void stop_hv(void)
{
	char cmd[512];

	kill(hv_pid, SIGTERM);
	waitpid(hv_pid, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", run_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "pvio-bench-hv: could not remove %s\n",
			run_dir);
}

static struct pvio_dom *new_domain(struct pvio_dom *dom0, const char *name,
				   char *cred)
{
	pvio_domid_t id;
	struct pvio_dom *d;
	int rc = pvio_dom_ctl_create(dom0, name, 4096, &id, cred), err = 0;

	if (rc)
		die("create %s: %s", name, strerror(-rc));
	d = pvio_dom_open(run_dir, cred, &err);
	if (!d)
		die("open %s: %s", name, strerror(-err));
	return d;
}

/* ---------------------------------------------------------------------- */
/* Output                                                                 */
/* ---------------------------------------------------------------------- */

static void header(void)
{
	printf("%-34s %12s   %-34s %12s %7s\n", "measurement", "pvio",
	       "baseline", "", "ratio");
	printf("%.*s\n", 104,
	       "-----------------------------------------------------------"
	       "-----------------------------------------------------------");
}

static void row(const char *what, double v, const char *unit,
		const char *base_what, double base)
{
	char a[32], b[32];

	snprintf(a, sizeof(a), "%.0f %s", v, unit);
	snprintf(b, sizeof(b), "%.0f %s", base, unit);
	printf("%-34s %12s   %-34s %12s %6.1fx\n", what, a, base_what, b,
	       base > 0 ? v / base : 0.0);
}

/* ---------------------------------------------------------------------- */
/* Baselines                                                              */
/* ---------------------------------------------------------------------- */

/* Round trip of a 16-byte message to another process over SEQPACKET. */
static double base_seqpacket_rtt(void)
{
	int sv[2];
	char msg[16] = {0};
	pid_t pid;
	uint64_t t0;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		die("socketpair: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		pin(0);
		close(sv[0]);
		while (read(sv[1], msg, sizeof(msg)) == sizeof(msg))
			if (write(sv[1], msg, sizeof(msg)) != sizeof(msg))
				break;
		_exit(0);
	}
	close(sv[1]);
	pin(1);
	t0 = now_ns();
	for (unsigned long i = 0; i < iters; i++) {
		if (write(sv[0], msg, sizeof(msg)) != sizeof(msg) ||
		    read(sv[0], msg, sizeof(msg)) != sizeof(msg))
			die("seqpacket ping-pong broke");
	}
	double ns = (double)(now_ns() - t0) / (double)iters;
	close(sv[0]);
	waitpid(pid, NULL, 0);
	return ns;
}

/* mmap + munmap of one memfd page, touching it like a mapper would. */
static double base_mmap_page(unsigned int batch)
{
	int fds[BATCH];
	void *p[BATCH];
	uint64_t t0;
	unsigned long rounds = iters / batch + 1;

	for (unsigned int i = 0; i < batch; i++) {
		fds[i] = memfd_create("bench", MFD_CLOEXEC);
		if (fds[i] < 0 || ftruncate(fds[i], PAGE))
			die("memfd: %s", strerror(errno));
	}
	t0 = now_ns();
	for (unsigned long r = 0; r < rounds; r++) {
		for (unsigned int i = 0; i < batch; i++) {
			p[i] = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				    MAP_SHARED, fds[i], 0);
			if (p[i] == MAP_FAILED)
				die("mmap: %s", strerror(errno));
			*(volatile char *)p[i];
		}
		for (unsigned int i = 0; i < batch; i++)
			munmap(p[i], PAGE);
	}
	double ns = (double)(now_ns() - t0) / (double)(rounds * batch);
	for (unsigned int i = 0; i < batch; i++)
		close(fds[i]);
	return ns;
}

static double base_memcpy(void)
{
	static char src[PAGE], dst[PAGE];
	uint64_t t0;
	unsigned long n = iters * 10;

	memset(src, 1, sizeof(src));
	t0 = now_ns();
	for (unsigned long i = 0; i < n; i++) {
		memcpy(dst, src, PAGE);
		__asm__ __volatile__("" : : "r"(dst) : "memory");
	}
	return (double)(now_ns() - t0) / (double)n;
}

/* One-way latency of an eventfd ping-pong between two processes. */
static double base_eventfd(bool busy)
{
	int a = eventfd(0, busy ? EFD_NONBLOCK : 0);
	int b = eventfd(0, busy ? EFD_NONBLOCK : 0);
	uint64_t v = 1, t0;
	pid_t pid;

	if (a < 0 || b < 0)
		die("eventfd: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		pin(0);
		for (unsigned long i = 0; i < iters; i++) {
			while (read(a, &v, sizeof(v)) != sizeof(v))
				;
			if (write(b, &v, sizeof(v)) != sizeof(v))
				_exit(1);
		}
		_exit(0);
	}
	pin(1);
	t0 = now_ns();
	for (unsigned long i = 0; i < iters; i++) {
		if (write(a, &v, sizeof(v)) != sizeof(v))
			die("eventfd write");
		while (read(b, &v, sizeof(v)) != sizeof(v))
			;
	}
	double ns = (double)(now_ns() - t0) / (double)iters / 2;
	waitpid(pid, NULL, 0);
	close(a);
	close(b);
	return ns;
}

/* ---------------------------------------------------------------------- */
/* pvio                                                                   */
/* ---------------------------------------------------------------------- */

static double hv_version_rtt(struct pvio_dom *d)
{
	uint32_t v;
	uint64_t t0 = now_ns();

	for (unsigned long i = 0; i < iters; i++)
		if (pvio_dom_version(d, &v))
			die("version hypercall failed");
	return (double)(now_ns() - t0) / (double)iters;
}

/* Map and unmap 'batch' granted pages per call; ns per page. */
static double hv_map_unmap(struct pvio_dom *mapper, pvio_domid_t granter,
			   const pvio_grant_ref_t *refs, unsigned int batch)
{
	struct pvio_dom_map ops[BATCH];
	unsigned long rounds = iters / batch + 1;
	uint64_t t0 = now_ns();

	for (unsigned long r = 0; r < rounds; r++) {
		for (unsigned int i = 0; i < batch; i++)
			ops[i] = (struct pvio_dom_map){
				.dom = granter, .ref = refs[i], .flags = 0};
		if (pvio_dom_grant_map(mapper, ops, batch))
			die("map call failed");
		for (unsigned int i = 0; i < batch; i++) {
			if (ops[i].status != GNTST_okay)
				die("map status %d", ops[i].status);
			*(volatile char *)ops[i].addr;
		}
		if (pvio_dom_grant_unmap(mapper, ops, batch))
			die("unmap call failed");
		for (unsigned int i = 0; i < batch; i++)
			if (ops[i].status != GNTST_okay)
				die("unmap status %d", ops[i].status);
	}
	return (double)(now_ns() - t0) / (double)(rounds * batch);
}

static double hv_copy(struct pvio_dom *d, pvio_domid_t granter,
		      const pvio_grant_ref_t *refs, uint32_t dst_pfn,
		      unsigned int batch)
{
	struct pvio_gnttab_copy ops[BATCH];
	unsigned long rounds = iters / batch + 1;
	uint64_t t0 = now_ns();

	for (unsigned long r = 0; r < rounds; r++) {
		for (unsigned int i = 0; i < batch; i++) {
			memset(&ops[i], 0, sizeof(ops[i]));
			ops[i].source.u.ref = refs[i];
			ops[i].source.domid = granter;
			ops[i].dest.u.gmfn = dst_pfn + i;
			ops[i].dest.domid = DOMID_SELF;
			ops[i].len = PAGE;
			ops[i].flags = GNTCOPY_source_gref;
		}
		if (pvio_dom_grant_copy(d, ops, batch))
			die("copy call failed");
		for (unsigned int i = 0; i < batch; i++)
			if (ops[i].status != GNTST_okay)
				die("copy status %d", ops[i].status);
	}
	return (double)(now_ns() - t0) / (double)(rounds * batch);
}

/* Wait for one event on 'port': spin on the pending query or sleep in
 * poll() on the domain's one fd. */
static void evt_wait(struct pvio_dom *d, pvio_evtchn_port_t port, bool busy)
{
	pvio_evtchn_port_t got;

	for (;;) {
		int n = pvio_dom_evtchn_pending(d, &got, 1);

		if (n < 0)
			die("pending: %s", strerror(-n));
		if (n == 1) {
			pvio_dom_evtchn_unmask(d, got);
			if (got == port)
				return;
			continue;
		}
		if (!busy) {
			struct pollfd p = {.fd = pvio_dom_fd(d),
					   .events = POLLIN};

			poll(&p, 1, 1000);
		}
	}
}

static double hv_evtchn(struct pvio_dom *a, const char *cred_b,
			pvio_domid_t id_a, pvio_domid_t id_b, bool busy)
{
	int pp[2];
	pvio_evtchn_port_t rport, lport;
	pid_t pid;
	uint64_t t0;
	int rc;

	if (pipe(pp))
		die("pipe");
	pid = fork();
	if (pid == 0) {
		/* The other domain, in its own process. */
		int err = 0;
		struct pvio_dom *b = pvio_dom_open(run_dir, cred_b, &err);

		pin(0);
		if (!b || pvio_dom_evtchn_alloc_unbound(b, id_a, &rport))
			_exit(1);
		if (write(pp[1], &rport, sizeof(rport)) != sizeof(rport))
			_exit(1);
		/* Binding makes only the binder's port pending (as in
		 * Xen), so every event here is one of A's pings: echo. */
		for (unsigned long i = 0; i < iters; i++) {
			evt_wait(b, rport, busy);
			if (pvio_dom_evtchn_send(b, rport))
				_exit(1);
		}
		pvio_dom_close(b);
		_exit(0);
	}
	pin(1);
	if (read(pp[0], &rport, sizeof(rport)) != sizeof(rport))
		die("peer domain failed to start");
	rc = pvio_dom_evtchn_bind(a, id_b, rport, &lport);
	if (rc)
		die("bind: %s", strerror(-rc));
	/* The new local port starts pending: consume that first event. */
	evt_wait(a, lport, busy);
	t0 = now_ns();
	for (unsigned long i = 0; i < iters; i++) {
		if (pvio_dom_evtchn_send(a, lport))
			die("send");
		evt_wait(a, lport, busy);
	}
	double ns = (double)(now_ns() - t0) / (double)iters / 2;
	waitpid(pid, NULL, 0);
	pvio_dom_evtchn_close(a, lport);
	close(pp[0]);
	close(pp[1]);
	return ns;
}

static void bench_xenstore(void)
{
	char path[512], val[64];
	struct pvio_xs *xs;
	struct xs_handle *lx;
	int err = 0;
	uint64_t t0;
	double w, r, lw, lr;
	unsigned long n = iters / 2;

	snprintf(path, sizeof(path), "%s/xenstored/socket", run_dir);
	xs = pvio_xs_open(path, &err);
	if (!xs)
		die("xenstore: %s", strerror(-err));
	setenv("XENSTORED_PATH", path, 1);
	lx = xs_open(0);
	if (!lx)
		die("libxenstore xs_open: %s", strerror(errno));
	memset(val, 'v', sizeof(val));

	t0 = now_ns();
	for (unsigned long i = 0; i < n; i++)
		if (pvio_xs_write(xs, PVIO_XS_TX_NONE, "/bench/key", val,
				  sizeof(val)))
			die("xs write");
	w = (double)n * 1e9 / (double)(now_ns() - t0);
	t0 = now_ns();
	for (unsigned long i = 0; i < n; i++) {
		char *v = NULL;

		if (pvio_xs_read(xs, PVIO_XS_TX_NONE, "/bench/key", &v, NULL))
			die("xs read");
		free(v);
	}
	r = (double)n * 1e9 / (double)(now_ns() - t0);

	t0 = now_ns();
	for (unsigned long i = 0; i < n; i++)
		if (!xs_write(lx, XBT_NULL, "/bench/key2", val, sizeof(val)))
			die("libxenstore write");
	lw = (double)n * 1e9 / (double)(now_ns() - t0);
	t0 = now_ns();
	for (unsigned long i = 0; i < n; i++) {
		unsigned int len;

		free(xs_read(lx, XBT_NULL, "/bench/key2", &len));
	}
	lr = (double)n * 1e9 / (double)(now_ns() - t0);
	xs_close(lx);
	pvio_xs_close(xs);

	printf("%-34s %12.0f   %-34s %12.0f %6.2fx\n", "xenstore write (ops/s)",
	       w, "libxenstore.so.4 write (ops/s)", lw, w / lw);
	printf("%-34s %12.0f   %-34s %12.0f %6.2fx\n", "xenstore read (ops/s)",
	       r, "libxenstore.so.4 read (ops/s)", lr, r / lr);
}

int main(int argc, char **argv)
{
	char cred_a[PVIO_DOM_CRED_MAX], cred_b[PVIO_DOM_CRED_MAX];
	pvio_grant_ref_t refs[BATCH];
	struct pvio_dom *dom0, *a, *b;
	pvio_domid_t id_a, id_b;
	uint32_t pfn_a, pfn_b;
	int err = 0;

	if (argc > 1 && !strcmp(argv[1], "--quick"))
		iters = 2000;
	else if (argc > 1) {
		fprintf(stderr, "usage: pvio-bench-hv [--quick]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	dom0 = start_hv();
	a = new_domain(dom0, "bench-a", cred_a);
	b = new_domain(dom0, "bench-b", cred_b);
	id_a = pvio_dom_id(a);
	id_b = pvio_dom_id(b);

	if (!pvio_dom_mem_alloc(a, BATCH, &pfn_a, &err) ||
	    !pvio_dom_mem_alloc(b, BATCH, &pfn_b, &err))
		die("mem_alloc: %s", strerror(-err));
	for (unsigned int i = 0; i < BATCH; i++) {
		int ref = pvio_gnt_share_grant_access(pvio_dom_gnttab(a), id_b,
						      pfn_a + i, false);
		if (ref < 0)
			die("grant: %s", strerror(-ref));
		refs[i] = (pvio_grant_ref_t)ref;
	}

	printf("pvio-bench-hv: %lu iterations per figure; %ld CPUs; "
	       "pvio-hv and peers pinned apart when possible\n\n",
	       iters, sysconf(_SC_NPROCESSORS_ONLN));
	header();
	pin(1);
	row("hypercall round trip", hv_version_rtt(b), "ns",
	    "SEQPACKET ping-pong", base_seqpacket_rtt());
	row("map+unmap, 1 page per call", hv_map_unmap(b, id_a, refs, 1),
	    "ns/pg", "mmap+munmap memfd page", base_mmap_page(1));
	row("map+unmap, 64 pages per call", hv_map_unmap(b, id_a, refs, BATCH),
	    "ns/pg", "mmap+munmap memfd page", base_mmap_page(BATCH));
	row("grant copy 4 KiB, 1 per call", hv_copy(b, id_a, refs, pfn_b, 1),
	    "ns", "memcpy 4 KiB", base_memcpy());
	row("grant copy 4 KiB, 64 per call",
	    hv_copy(b, id_a, refs, pfn_b, BATCH), "ns", "memcpy 4 KiB",
	    base_memcpy());
	row("event notify, busy-poll receiver",
	    hv_evtchn(a, cred_b, id_a, id_b, true), "ns",
	    "eventfd ping-pong, busy", base_eventfd(true));
	row("event notify, sleeping receiver",
	    hv_evtchn(a, cred_b, id_a, id_b, false), "ns",
	    "eventfd ping-pong, blocking", base_eventfd(false));
	bench_xenstore();

	pvio_dom_close(a);
	pvio_dom_close(b);
	pvio_dom_close(dom0);
	stop_hv();
	return 0;
}
