/*
 * alias.c - owns knowing a PHI file by the file the kernel opened when the
 * path as written matched no rule: a symlinked directory or file,
 * /proc/self/fd/N and /dev/fd/N, a bind mount of the tree, a policy that
 * names a symlink to the data volume (or the volume, used by its link).
 *
 * At start-up each file pattern's root (its literal part up to the last
 * '/') is looked up once: device, mount and real path. After an open that
 * matched no rule, one statx on the new descriptor says whether the file is
 * on a filesystem a root is on; only then is the kernel's path of it read
 * (readlink of /proc/self/fd/N), moved into the root's mount when another
 * mount led to it (/proc/self/mountinfo, read only then), put back under
 * the root as the policy writes it, and matched. A file with more than one
 * link that still matched nothing is looked up by (device, inode) in the
 * collector's index of multi-link PHI files (phi_inodes.h, mapped at
 * start-up); a hit is reported with detail.inode, and the collector, which
 * knows the names, adds the patient and the real path. This file never
 * allocates after start-up, never calls a wrapped function, and keeps errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bsd/string.h>

#include "phi_inodes.h"
#include "real.h"
#include "shim.h"

/* A file pattern's root: where a match can start, as written and real. */
struct alias_root {
	uint32_t dev_major, dev_minor;
	uint64_t mnt_id;
	size_t lex_len, real_len;
	char lex[PATHGLOB_MAX];            /* as the pattern writes it */
	char real[PATH_MAX];               /* realpath at start-up */
};

int alias_active;
static struct alias_root alias_roots[ALIAS_MAX_ROOTS];
static unsigned alias_root_count;
static const void *alias_index;       /* the collector's phi-inodes, mapped */
static size_t alias_index_size;
uint64_t alias_devs[ALIAS_MAX_ROOTS];
unsigned alias_dev_count;

static void alias_add_dev(uint64_t dev)
{
	for (unsigned i = 0; i < alias_dev_count; i++)
		if (alias_devs[i] == dev)
			return;
	alias_devs[alias_dev_count++] = dev;
}

/* Maps the collector's index of multi-link PHI files, when there is one. */
static void alias_map_index(void)
{
	char path[PATH_MAX];
	struct stat st, spool;
	void *map;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", shim_config.spool,
			     PHI_INODES_NAME) >= sizeof(path))
		return;
	fd = REAL(open)(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	/* Trusted when root's or the collector's: the spool directory's owner
	 * (a store process runs as phitrail, as the whole collector does under
	 * the unit), and writable by nobody else. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (st.st_uid == 0 || (stat(shim_config.spool, &spool) == 0 &&
				st.st_uid == spool.st_uid && !(spool.st_mode & 022))) &&
	    !(st.st_mode & 022)) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (map != MAP_FAILED) {
			if (phi_inodes_valid(map, (size_t)st.st_size)) {
				alias_index = map;
				alias_index_size = (size_t)st.st_size;
			} else {
				munmap(map, (size_t)st.st_size);
			}
		}
	}
	REAL(close)(fd);
}

void alias_load(void)
{
	char lex[PATHGLOB_MAX];
	struct statx sx;

	alias_root_count = 0;
	alias_dev_count = 0;
	alias_active = 0;
	if (!shim_config.follow_aliases)
		return;                    /* paths matched as written only */
	for (size_t i = 0; i < shim_config.pattern_count &&
	     alias_root_count < ALIAS_MAX_ROOTS; i++) {
		struct alias_root *r = &alias_roots[alias_root_count];
		size_t n = pathglob_root(&shim_config.patterns[i].glob, lex,
					   sizeof(lex));
		unsigned k;

		if (n == 0)
			continue;
		for (k = 0; k < alias_root_count; k++)
			if (strcmp(alias_roots[k].lex, lex) == 0)
				break;
		if (k < alias_root_count)
			continue;          /* a root two patterns share */
		if (statx(AT_FDCWD, lex, 0, STATX_BASIC_STATS | STATX_MNT_ID,
			  &sx) != 0 || realpath(lex, r->real) == NULL)
			continue;          /* not there (yet): as written only */
		memcpy(r->lex, lex, n + 1);
		r->lex_len = n;
		r->real_len = strlen(r->real);
		r->dev_major = sx.stx_dev_major;
		r->dev_minor = sx.stx_dev_minor;
		r->mnt_id = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
		alias_root_count++;
		alias_add_dev((uint64_t)sx.stx_dev_major << 32 | sx.stx_dev_minor);
	}
	alias_active = alias_root_count > 0;
	if (alias_active)
		alias_map_index();
}

/*
 * out = to + (path less its leading from), when path is from or below it
 * ("/" as from or to handled). The length, or 0 when path is not there.
 */
static size_t alias_rebase(const char *path, size_t path_len,
			   const char *from, size_t from_len,
			   const char *to, size_t to_len, char *out, size_t size)
{
	const char *rest;
	size_t rest_len;

	if (from_len == 1)
		from_len = 0;              /* "/": every absolute path */
	if (path_len < from_len || memcmp(path, from, from_len) != 0 ||
	    (path_len > from_len && path[from_len] != '/'))
		return 0;
	rest = path + from_len;
	rest_len = path_len - from_len;
	if (to_len == 1)
		to_len = 0;
	if (to_len + rest_len == 0) {
		rest = "/";
		rest_len = 1;
	}
	if (to_len + rest_len >= size)
		return 0;
	memcpy(out, to, to_len);
	memcpy(out + to_len, rest, rest_len);
	out[to_len + rest_len] = '\0';
	return to_len + rest_len;
}

/* Undoes mountinfo's octal escapes ("\040") of field in place. */
static void alias_unescape(char *field)
{
	char *w = field;

	for (char *p = field; *p != '\0'; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' &&
		    p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 +
				      (p[3] - '0'));
			p += 3;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
}

/* A mount as /proc/self/mountinfo says: the directory of its filesystem
 * it shows (root) and where (mount point). */
struct alias_mount {
	uint64_t id;
	int found;
	char root[PATH_MAX], point[PATH_MAX];
};

/* Fills mounts[0..count) whose ids are set, from one mountinfo line. */
static void alias_mount_line(char *line, struct alias_mount *mounts,
			     unsigned count)
{
	char *field[5], *save = NULL;
	unsigned n = 0;
	unsigned long long id;

	for (char *t = strtok_r(line, " ", &save); t != NULL && n < 5;
	     t = strtok_r(NULL, " ", &save))
		field[n++] = t;
	if (n < 5)
		return;
	id = strtoull(field[0], NULL, 10);
	for (unsigned i = 0; i < count; i++) {
		if (mounts[i].id != id || mounts[i].found)
			continue;
		alias_unescape(field[3]);
		alias_unescape(field[4]);
		if (strlcpy(mounts[i].root, field[3], PATH_MAX) < PATH_MAX &&
		    strlcpy(mounts[i].point, field[4], PATH_MAX) < PATH_MAX)
			mounts[i].found = 1;
	}
}

/* Reads /proc/self/mountinfo for the mounts asked for. 0 when all found. */
static int alias_mounts_find(struct alias_mount *mounts, unsigned count)
{
	char buf[8192];
	size_t have = 0;
	ssize_t n;
	int fd = REAL(open)("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	for (;;) {
		char *start = buf, *nl;

		n = REAL(read)(fd, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = memchr(start, '\n', have - (size_t)(start - buf)))) {
			*nl = '\0';
			alias_mount_line(start, mounts, count);
			start = nl + 1;
		}
		have -= (size_t)(start - buf);
		if (have == sizeof(buf) - 1)
			have = 0;          /* a line too long: skipped */
		memmove(buf, start, have);
	}
	REAL(close)(fd);
	for (unsigned i = 0; i < count; i++)
		if (!mounts[i].found)
			return -1;
	return 0;
}

/*
 * path (the kernel's, through mount mnt_id) as it is seen through the
 * root's mount: the same file by the path the root's real path starts.
 */
static size_t alias_through_root_mount(const char *path, size_t len,
				       uint64_t mnt_id,
				       const struct alias_root *r, char *out,
				       size_t size)
{
	struct alias_mount m[2] = { { .id = mnt_id }, { .id = r->mnt_id } };
	char inside[PATH_MAX];
	size_t n;

	if (alias_mounts_find(m, 2) != 0)
		return 0;
	/* the path inside the filesystem, then under the root's mount */
	n = alias_rebase(path, len, m[0].point, strlen(m[0].point),
			 m[0].root, strlen(m[0].root), inside, sizeof(inside));
	if (n == 0)
		return 0;
	return alias_rebase(inside, n, m[1].root, strlen(m[1].root),
			    m[1].point, strlen(m[1].point), out, size);
}

/* "/proc/self/fd/N" into link (32 bytes), without stdio. */
static void alias_fd_link(int fd, char *link)
{
	static const char head[] = "/proc/self/fd/";
	char digits[12];
	unsigned v = (unsigned)fd, n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	memcpy(link, head, sizeof(head) - 1);
	for (unsigned k = 0; k < n; k++)
		link[sizeof(head) - 1 + k] = digits[n - 1 - k];
	link[sizeof(head) - 1 + n] = '\0';
}

/*
 * The kernel's path of a file on sx's filesystem matched through the roots
 * on it: the rule (m->patient and m->real filled), or -1.
 */
static inline __attribute__((always_inline)) int
alias_match_kernel(const char *kernel, size_t len,
			      const struct statx *sx, struct policy_match *m,
			      int *sure)
{
	char moved[PATH_MAX], asw[PATH_MAX];
	int rule = -1;

	*sure = 1;

	for (unsigned i = 0; i < alias_root_count && rule < 0; i++) {
		const struct alias_root *r = &alias_roots[i];
		const char *real = kernel;
		size_t real_len = len, n;

		if (r->dev_major != sx->stx_dev_major ||
		    r->dev_minor != sx->stx_dev_minor)
			continue;
		if ((sx->stx_mask & STATX_MNT_ID) && r->mnt_id != 0 &&
		    sx->stx_mnt_id != r->mnt_id) {
			*sure = 0;         /* by /proc/self/mountinfo: not kept */
			real_len = alias_through_root_mount(kernel, real_len,
							    sx->stx_mnt_id, r,
							    moved, sizeof(moved));
			if (real_len == 0)
				continue;
			real = moved;
		}
		n = alias_rebase(real, real_len, r->real, r->real_len,
				 r->lex, r->lex_len, asw, sizeof(asw));
		if (n == 0 || !config_could_match_path(&shim_config, asw, n))
			continue;
		rule = config_match_normal(&shim_config, asw, n, m->patient,
					   sizeof(m->patient));
		if (rule >= 0)
			strlcpy(m->real, real, sizeof(m->real));
	}
	return rule;
}

/* A file with more than one name, in the collector's index: the rule
 * (m->inode filled, no patient: the collector adds it), or -1. */
static int alias_match_inode(const struct statx *sx, struct policy_match *m)
{
	uint64_t dev = (uint64_t)sx->stx_dev_major << 32 | sx->stx_dev_minor;
	const struct phi_inode *e;

	if (sx->stx_nlink <= 1 || !S_ISREG(sx->stx_mode) || alias_index == NULL)
		return -1;
	e = phi_inodes_find(alias_index, alias_index_size, dev, sx->stx_ino);
	if (e == NULL || e->rule >= shim_config.rule_count)
		return -1;
	m->patient[0] = '\0';
	snprintf(m->inode, sizeof(m->inode), "%llu:%llu",
		 (unsigned long long)dev, (unsigned long long)sx->stx_ino);
	return (int)e->rule;
}

/*
 * The kernel's path of fd into kernel (PATH_MAX bytes), followed by "/"
 * and name when name is not NULL: its length, or 0.
 */
static inline __attribute__((always_inline)) size_t
alias_kernel_path(int fd, const char *name, char *kernel)
{
	char link[32];
	ssize_t len;
	size_t n;

	alias_fd_link(fd, link);
	len = readlink(link, kernel, PATH_MAX - 1);
	if (len <= 0 || (size_t)len >= PATH_MAX - 1 || kernel[0] != '/')
		return 0;
	n = (size_t)len;
	kernel[n] = '\0';
	if (name == NULL)
		return n;
	if (n == 1)
		n = 0;                     /* the directory is "/" */
	if (n + 1 + strlen(name) >= PATH_MAX)
		return 0;
	kernel[n] = '/';
	strcpy(kernel + n + 1, name);
	return n + 1 + strlen(name);
}

int alias_match_fd(int fd, const struct statx *sx, struct policy_match *m)
{
	char kernel[PATH_MAX];
	int saved_errno, rule = -1, sure = 0;
	size_t len;

	if (alias_seen_outside(sx))
		return 0;                  /* looked at, unchanged (alias_seen.c) */
	saved_errno = errno;
	m->real[0] = '\0';
	m->inode[0] = '\0';               /* set only for a hard link */
	len = alias_kernel_path(fd, NULL, kernel);
	if (len > 0)
		rule = alias_match_kernel(kernel, len, sx, m, &sure);
	if (rule < 0)
		rule = alias_match_inode(sx, m);   /* a hard link */
	if (rule >= 0)
		m->rule = rule;
	else if (sure)
		alias_seen_note(sx);
	errno = saved_errno;
	return rule >= 0;
}

int alias_match_in_dir(int dirfd, const struct statx *dir_sx, const char *name,
		       struct policy_match *m)
{
	char kernel[PATH_MAX];
	int saved_errno = errno, rule = -1, sure;
	size_t len = alias_kernel_path(dirfd, name, kernel);

	m->real[0] = '\0';
	m->inode[0] = '\0';
	if (len > 0)
		rule = alias_match_kernel(kernel, len, dir_sx, m, &sure);
	if (rule >= 0)
		m->rule = rule;
	errno = saved_errno;
	return rule >= 0;
}
