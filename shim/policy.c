/*
 * policy.c - owns turning a path as a program wrote it into the absolute,
 * normalised path the policy is matched against, and the match itself.
 *
 * Relative paths are joined to the working directory, cached here and
 * dropped by the chdir/fchdir wrappers; paths relative to a directory
 * descriptor are joined to readlink("/proc/self/fd/N"), one system call,
 * only when such a path is used. Normalisation is lexical (pathglob.h):
 * symlinks are not followed. This file never allocates and never calls a
 * wrapped function; a path it cannot resolve is treated as not PHI.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "pathglob.h"
#include "shim.h"

static pthread_mutex_t policy_cwd_lock = PTHREAD_MUTEX_INITIALIZER;
static char policy_cwd[PATH_MAX];
static int policy_cwd_valid;
static unsigned policy_cwd_cached_generation;
static unsigned policy_cwd_generation;     /* atomic: bumped by chdir */

/* Lock-free, so a chdir from a signal handler cannot deadlock. */
void policy_cwd_invalidate(void)
{
	__atomic_add_fetch(&policy_cwd_generation, 1, __ATOMIC_ACQ_REL);
}

void policy_atfork_child(void)
{
	pthread_mutex_init(&policy_cwd_lock, NULL);
}

/* Copies the working directory into out. 0 or a negative errno. */
static int policy_cwd_copy(char *out, size_t size)
{
	unsigned generation;
	int rc = 0;

	if (shim_nested()) {
		/* a signal handler: no lock, no cache, one system call */
		if (getcwd(out, size) == NULL || out[0] != '/')
			return -ENOENT;
		return 0;
	}
	pthread_mutex_lock(&policy_cwd_lock);
	generation = __atomic_load_n(&policy_cwd_generation, __ATOMIC_ACQUIRE);
	if (!policy_cwd_valid || policy_cwd_cached_generation != generation) {
		policy_cwd_valid = 0;
		if (getcwd(policy_cwd, sizeof(policy_cwd)) == NULL ||
		    policy_cwd[0] != '/') {
			rc = -ENOENT;
			goto out;
		}
		policy_cwd_valid = 1;
		policy_cwd_cached_generation = generation;
	}
	if (strlcpy(out, policy_cwd, size) >= size)
		rc = -ENAMETOOLONG;
out:
	pthread_mutex_unlock(&policy_cwd_lock);
	return rc;
}

/*
 * The path of directory descriptor dirfd: as the program wrote it when
 * dirfd is a PHI directory known by where it really is (alias.c: its
 * files then keep the path as written too), else the kernel's. 0 or a
 * negative errno.
 */
static int policy_dirfd_path(int dirfd, char *out, size_t size)
{
	struct phi_file *f = fdstate_get(dirfd);
	char link[32];
	ssize_t n;

	if (f != NULL) {
		int as_written = f->real[0] != '\0' && f->path[0] == '/' &&
			strlcpy(out, f->path, size) < size;

		fdstate_put(f);
		if (as_written)
			return 0;
	}

	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	n = readlink(link, out, size - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size - 1 || n == 0 || out[0] != '/')
		return -ENAMETOOLONG;
	out[n] = '\0';
	return 0;
}

int policy_match_at(int dirfd, const char *path, struct policy_match *m)
{
	char base[PATH_MAX];
	const char *base_path = NULL;
	long len;
	int rule;

	m->path[0] = '\0';
	m->patient[0] = '\0';
	m->real[0] = '\0';
	m->inode[0] = '\0';
	m->rule = -1;
	if (path == NULL || path[0] == '\0')
		return 0;
	if (path[0] == '/') {
		/*
		 * The common case: an absolute path that is already normal.
		 * Most such paths are rejected here by their first bytes,
		 * without a copy; the rest are matched as they are. (A path
		 * that is not normal is normalised even when it is not PHI:
		 * callers report the normal form of the other path of a
		 * rename.)
		 */
		len = (long)strlen(path);
		if (pathglob_is_normal(path, (size_t)len)) {
			/* no config_could_match_path first: each pattern's
			 * match starts by comparing its literal prefix */
			if ((size_t)len >= sizeof(m->path))
				return 0;
			memcpy(m->path, path, (size_t)len + 1);
			goto match;
		}
	} else {
		if (dirfd == AT_FDCWD) {
			if (policy_cwd_copy(base, sizeof(base)) < 0)
				return 0;
		} else if (policy_dirfd_path(dirfd, base, sizeof(base)) < 0) {
			return 0;
		}
		base_path = base;
	}
	len = pathglob_normalise(base_path, path, m->path, sizeof(m->path));
	if (len < 0) {
		m->path[0] = '\0';
		return 0;
	}
	if (!config_could_match_path(&shim_config, m->path, (size_t)len))
		return 0;
match:
	rule = config_match_normal(&shim_config, m->path, (size_t)len,
				   m->patient, sizeof(m->patient));
	if (rule < 0)
		return 0;
	m->rule = rule;
	return 1;
}
