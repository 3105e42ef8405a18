/* SPDX-License-Identifier: MIT */
/*
 * Domain life cycle as the toolstack drives it: create (pvio-hv domain,
 * xenstore entries, devices, the guest's process), look up, destroy.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pvio/domain.h>
#include <pvio/xs.h>

#include "tool.h"

const char *pvio_tool_run_dir(const char *arg)
{
	const char *env = getenv(PVIO_DOM_RUNDIR_ENV);

	if (arg && *arg)
		return arg;
	return env && *env ? env : PVIO_DOM_DEFAULT_RUNDIR;
}

int pvio_tool_domid(struct pvio_dom *dom0, const char *arg, pvio_domid_t *domid,
		    struct pvio_tool_err *e)
{
	char *end;
	long n = strtol(arg, &end, 10);
	int rc;

	if (*arg && !*end) {
		if (n < 0 || n >= DOMID_FIRST_RESERVED)
			return pvio_tool_fail(e, -EINVAL, "%s: not a domain id",
					      arg);
		*domid = (pvio_domid_t)n;
		return 0;
	}
	rc = pvio_dom_ctl_lookup(dom0, arg, domid);
	if (rc == -ENOENT)
		return pvio_tool_fail(e, rc, "no domain named '%s'", arg);
	if (rc)
		return pvio_tool_fail(e, rc, "looking up '%s': %s", arg,
				      strerror(-rc));
	return 0;
}

static int backend_domid(struct pvio_dom *dom0, const char *name,
			 pvio_domid_t *out, struct pvio_tool_err *e)
{
	*out = 0;
	if (!name[0] || !strcmp(name, "Domain-0") || !strcmp(name, "0"))
		return 0;
	return pvio_tool_domid(dom0, name, out, e);
}

/* The guest's side of the fork: never returns. */
static void child(const struct pvio_tool_domcfg *dc, const char *run_dir,
		  const char *cred, pvio_domid_t domid, int go_fd,
		  int status_fd)
{
	char path[PATH_MAX], buf[16];
	int fd, err;

	/* Nothing of the toolstack may reach the guest: above all not its
	 * dom0 connections to pvio-hv and xenstore. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		goto fail;
	if (setsid() < 0)
		goto fail;
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
		goto fail;
	close(fd);
	errno = ENAMETOOLONG;
	if ((size_t)snprintf(path, sizeof(path), "%s/log", run_dir) >=
	    sizeof(path))
		goto fail;
	mkdir(path, 0700);
	if ((size_t)snprintf(path, sizeof(path), "%s/log/%s.log", run_dir,
			     dc->name) >= sizeof(path))
		goto fail;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
	    dup2(fd, STDERR_FILENO) < 0)
		goto fail;
	close(fd);

	snprintf(buf, sizeof(buf), "%u", domid);
	if (setenv(PVIO_DOM_CRED_ENV, cred, 1) ||
	    setenv(PVIO_DOM_RUNDIR_ENV, run_dir, 1) ||
	    setenv("PVIO_DOMID", buf, 1) ||
	    setenv("PVIO_DOMAIN_NAME", dc->name, 1))
		goto fail;

	if (dc->user[0]) {
		struct passwd *pw = getpwnam(dc->user);

		errno = ESRCH;
		if (!pw || setgroups(0, NULL) || setgid(pw->pw_gid) ||
		    setuid(pw->pw_uid))
			goto fail;
	}

	/* Wait until pvio-hv tracks this process (or is told it is
	 * paused): the domain must never run unaccounted for. */
	if (read(go_fd, buf, 1) != 1) {
		errno = ECANCELED;
		goto fail;
	}
	close(go_fd);
	execvp(dc->argv[0], dc->argv);
fail:
	err = errno;
	if (write(status_fd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

/*
 * Start the guest's process, detached (double fork: it is nobody's child
 * to reap but init's, whatever happens to the caller), and register it.
 */
static int spawn(struct pvio_dom *dom0, const char *run_dir,
		 const struct pvio_tool_domcfg *dc, const char *cred,
		 pvio_domid_t domid, bool paused, struct pvio_tool_err *e)
{
	int go[2], st[2], rc, err = 0, wstatus;
	pid_t mid, pid = 0;
	ssize_t n;

	if (pipe2(go, O_CLOEXEC) || pipe2(st, O_CLOEXEC))
		return pvio_tool_fail(e, -errno, "pipe: %s", strerror(errno));
	mid = fork();
	if (mid < 0) {
		rc = -errno;
		goto out;
	}
	if (mid == 0) {
		pid_t g = fork();

		if (g == 0) {
			close(go[1]);
			close(st[0]);
			child(dc, run_dir, cred, domid, go[0], st[1]);
		}
		if (write(st[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		_exit(g < 0);
	}
	close(go[0]);
	close(st[1]);
	go[0] = st[1] = -1;
	n = read(st[0], &pid, sizeof(pid));
	waitpid(mid, &wstatus, 0);
	if (n != sizeof(pid) || pid <= 0) {
		rc = pvio_tool_fail(e, -ECHILD, "could not start the guest");
		goto out;
	}
	rc = pvio_dom_ctl_set_pid(dom0, domid, pid);
	if (rc) {
		kill(pid, SIGKILL);
		pvio_tool_fail(e, rc, "pvio-hv refused the guest's pid: %s",
			       strerror(-rc));
		goto out;
	}
	if (paused) {
		rc = pvio_dom_ctl_pause(dom0, domid);
		if (rc) {
			pvio_tool_fail(e, rc, "pause: %s", strerror(-rc));
			goto out;
		}
	}
	if (write(go[1], "g", 1) != 1) {
		rc = pvio_tool_fail(e, -errno, "starting the guest: %s",
				    strerror(errno));
		goto out;
	}
	close(go[1]);
	go[1] = -1;
	/* A paused guest execs only once unpaused: do not wait for it. */
	if (!paused) {
		n = read(st[0], &err, sizeof(err));
		if (n == sizeof(err)) {
			rc = pvio_tool_fail(e, -err, "%s: %s", dc->argv[0],
					    strerror(err));
			goto out;
		}
	}
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (st[i] >= 0)
			close(st[i]);
	}
	return rc;
}

int pvio_tool_create(struct pvio_dom *dom0, struct pvio_xs *xs,
		     const char *run_dir, const struct pvio_tool_domcfg *dc,
		     bool paused, FILE *out, pvio_domid_t *domid,
		     struct pvio_tool_err *e)
{
	pvio_domid_t back[PVIO_TOOL_MAX_DEVS];
	char cred[PVIO_DOM_CRED_MAX];
	char abs_run[PATH_MAX];
	int rc;

	if (!realpath(run_dir, abs_run))
		return pvio_tool_fail(e, -errno, "%s: %s", run_dir,
				      strerror(errno));
	/* Driver domains first: one may have to be started, and a guest
	 * must not exist half-made while that happens (or fails). */
	for (unsigned int i = 0; i < dc->ndisks; i++) {
		rc = pvio_tool_backend_resolve(dom0, xs, abs_run,
					       dc->disks[i].backend, out,
					       &back[i], e);
		if (rc)
			return rc;
	}
	rc = pvio_dom_ctl_create(dom0, dc->name, dc->memory_mb * 256U, domid,
				 cred);
	if (rc == -EEXIST)
		return pvio_tool_fail(e, rc, "a domain named '%s' exists",
				      dc->name);
	if (rc)
		return pvio_tool_fail(e, rc, "pvio-hv: create: %s",
				      strerror(-rc));

	rc = pvio_tool_xs_domain_setup(xs, *domid, dc->name, dc->memory_mb);
	if (rc) {
		pvio_tool_fail(e, rc, "xenstore: %s", strerror(-rc));
		goto undo;
	}
	for (unsigned int i = 0; i < dc->ndisks; i++) {
		const struct pvio_tool_disk *d = &dc->disks[i];

		rc = pvio_tool_xs_disk_add(xs, *domid, back[i], d);
		if (rc) {
			pvio_tool_fail(e, rc, "disk %s: %s", d->vdev,
				       strerror(-rc));
			goto undo;
		}
	}
	for (unsigned int i = 0; i < dc->nvifs; i++) {
		const struct pvio_tool_vif *v = &dc->vifs[i];
		pvio_domid_t back;

		rc = backend_domid(dom0, v->backend, &back, e);
		if (!rc) {
			rc = pvio_tool_xs_vif_add(xs, *domid, back, v);
			if (rc)
				pvio_tool_fail(e, rc, "vif %u: %s", v->devid,
					       strerror(-rc));
		}
		if (rc)
			goto undo;
		if (out)
			fprintf(out,
				"vif %u (%s): xenstore entries written; "
				"serving it is not yet supported (no network "
				"backend yet)\n",
				v->devid, v->mac);
	}
	/* The driver domain takes each disk up at once (InitWait); one it
	 * cannot serve (it could not open the target) says why in xenstore,
	 * and that is better reported now than found by the guest later. */
	for (unsigned int i = 0; i < dc->ndisks; i++) {
		const struct pvio_tool_disk *d = &dc->disks[i];
		char why[256] = "";

		if (back[i] == 0)
			continue;
		rc = pvio_tool_xs_backend_wait(xs, back[i], *domid, d->devid,
					       5000, why, sizeof(why));
		if (rc == -EIO) {
			pvio_tool_fail(e, rc,
				       "disk %s: driver domain %u cannot "
				       "serve it: %s (see %s/log/)",
				       d->vdev, back[i], why, abs_run);
			goto undo;
		}
		if (rc && out)
			fprintf(out,
				"disk %s: driver domain %u has not picked "
				"it up yet\n",
				d->vdev, back[i]);
		rc = 0;
	}
	if (dc->argv) {
		rc = spawn(dom0, abs_run, dc, cred, *domid, paused, e);
		if (rc)
			goto undo;
	}
	/* A driver domain is ready when its daemon watches its backend
	 * directory; devices handed to it before then could be missed. */
	if (dc->driver[0] && !paused) {
		rc = pvio_tool_driver_wait(dom0, xs, *domid, 10000, e);
		if (rc) {
			char msg[sizeof(e->msg)];

			snprintf(msg, sizeof(msg), "%s", e->msg);
			pvio_tool_fail(e, rc, "%s (see %s/log/%s.log)", msg,
				       abs_run, dc->name);
			goto undo;
		}
	}
	for (unsigned int i = 0; i < dc->ndisks && out; i++) {
		const struct pvio_tool_disk *d = &dc->disks[i];

		if (back[i] == 0)
			fprintf(out,
				"disk %s (%s): xenstore entries written; no "
				"block backend runs in Domain-0 (name a "
				"driver domain with backend=)\n",
				d->vdev, d->target);
		else
			fprintf(out,
				"disk %s (%s, %s%s%s): served by driver domain "
				"%u\n",
				d->vdev, d->target, d->writable ? "rw" : "ro",
				d->engine[0] ? ", engine " : "", d->engine,
				back[i]);
	}
	explicit_bzero(cred, sizeof(cred));
	return 0;
undo:
	explicit_bzero(cred, sizeof(cred));
	pvio_dom_ctl_destroy(dom0, *domid);
	pvio_tool_xs_backends_purge(xs, *domid);
	return rc;
}

int pvio_tool_destroy(struct pvio_dom *dom0, struct pvio_xs *xs,
		      pvio_domid_t domid, struct pvio_tool_err *e)
{
	int rc, pid, pfd;
	bool killed = false;

	if (domid == 0)
		return pvio_tool_fail(e, -EPERM,
				      "domain 0 cannot be "
				      "destroyed");
	/* pvio-hv kills the domain's process; what it started (a FUSE
	 * daemon, fio jobs) is in its process group (the guest is made a
	 * session leader at spawn), and belongs to the domain too.  The
	 * pidfd proves the leader still lives, so the group id is not a
	 * recycled one. */
	pid = pvio_tool_domain_pid(dom0, domid);
	pfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	if (pfd >= 0) {
		killed = kill(-pid, SIGKILL) == 0;
		close(pfd);
	}
	rc = pvio_dom_ctl_destroy(dom0, domid);
	/* pvio-hv may have seen the death and released it already. */
	if (rc == -ESRCH && killed)
		rc = 0;
	if (rc)
		return pvio_tool_fail(e, rc, "destroy %u: %s", domid,
				      strerror(-rc));
	/* pvio-hv removed the domain's own subtree; its devices' backend
	 * directories live under the backend domains.  As libxl does, each
	 * live backend is asked to close (online=0, Closing) and given a
	 * moment to release the disk before its directory goes. */
	rc = pvio_tool_xs_backends_close(xs, domid, 3000);
	if (rc)
		return pvio_tool_fail(e, rc, "xenstore cleanup: %s",
				      strerror(-rc));
	return 0;
}
