/*
 * links.c - owns knowing which PHI files have more than one name: a walk
 * of every file rule's root (at start and every LINKS_REWALK_MS) keeps
 * each regular file with st_nlink > 1 whose path matches a rule, writes
 * their identities to <spool>/phi-inodes (phi_inodes.h: no names, mode
 * 0644, replaced by rename so a mapping never sees half a file) for the
 * shim, and keeps the names and patients here to complete the shim's
 * records of such a file reached by another name (detail.inode).
 * Must never block for long: the walk stops at LINKS_MAX_SCAN files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "links.h"
#include "log.h"
#include "phi_inodes.h"

#define LINKS_REWALK_MS 60000
#define LINKS_MAX_SCAN 1000000            /* files looked at per walk */

/* One multi-link PHI file: its identity (first) and where it lives. */
struct link_entry {
	struct phi_inode id;
	char *path, *patient;
};

static struct {
	const struct config *cfg;
	struct link_entry *e;
	size_t count, cap, scanned;
	int64_t last_ms;
} L;

static int64_t links_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void links_clear(void)
{
	for (size_t i = 0; i < L.count; i++) {
		free(L.e[i].path);
		free(L.e[i].patient);
	}
	L.count = 0;
}

static void links_add(const char *path, const struct stat *st)
{
	char patient[256];
	int rule = config_match_path(L.cfg, path, patient, sizeof(patient));
	struct link_entry *e;

	if (rule < 0)
		return;
	if (L.count == L.cap) {
		size_t cap = L.cap ? L.cap * 2 : 64;
		void *p = reallocarray(L.e, cap, sizeof(*L.e));

		if (p == NULL || cap > PHI_INODES_MAX)
			return;
		L.e = p;
		L.cap = cap;
	}
	e = &L.e[L.count];
	e->id = (struct phi_inode){
		.dev = (uint64_t)major(st->st_dev) << 32 | minor(st->st_dev),
		.ino = st->st_ino, .rule = (uint32_t)rule };
	e->path = strdup(path);
	e->patient = strdup(patient);
	if (e->path == NULL || e->patient == NULL) {
		free(e->path);
		free(e->patient);
		return;
	}
	L.count++;
}

static void links_walk_dir(const char *dir, unsigned depth)
{
	char sub[PATH_MAX];
	struct dirent *d;
	struct stat st;
	DIR *dp;

	if (depth > 64 || (dp = opendir(dir)) == NULL)
		return;
	while ((d = readdir(dp)) != NULL && L.scanned < LINKS_MAX_SCAN) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (d->d_type != DT_DIR && d->d_type != DT_REG &&
		    d->d_type != DT_UNKNOWN)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, d->d_name) >=
		    sizeof(sub) ||
		    fstatat(dirfd(dp), d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		L.scanned++;
		if (S_ISDIR(st.st_mode))
			links_walk_dir(sub, depth + 1);
		else if (S_ISREG(st.st_mode) && st.st_nlink > 1)
			links_add(sub, &st);
	}
	closedir(dp);
}

static int links_compare(const void *a, const void *b)
{
	return phi_inodes_compare(&((const struct link_entry *)a)->id,
				  &((const struct link_entry *)b)->id);
}

/* Writes the identities to <spool>/phi-inodes by temp file and rename. */
static int links_write(void)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	struct phi_inodes_header h = { .count = (uint32_t)L.count };
	FILE *fp;
	int ok;

	memcpy(h.magic, PHI_INODES_MAGIC, sizeof(h.magic));
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", L.cfg->spool,
			     PHI_INODES_NAME) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fp = fopen(tmp, "we");
	if (fp == NULL)
		return -errno;
	ok = fchmod(fileno(fp), 0644) == 0 &&
		fwrite(&h, sizeof(h), 1, fp) == 1;
	for (size_t i = 0; ok && i < L.count; i++)
		ok = fwrite(&L.e[i].id, sizeof(L.e[i].id), 1, fp) == 1;
	if (fclose(fp) != 0 || !ok || rename(tmp, path) < 0) {
		int rc = -errno;

		unlink(tmp);
		return rc ? rc : -EIO;
	}
	return 0;
}

static void links_walk(void)
{
	links_clear();
	L.scanned = 0;
	for (size_t i = 0; i < L.cfg->pattern_count; i++) {
		char root[PATHGLOB_MAX];

		if (pathglob_root(&L.cfg->patterns[i].glob, root, sizeof(root)) == 0)
			continue;
		links_walk_dir(root, 0);
	}
	if (L.count > 1)
		qsort(L.e, L.count, sizeof(*L.e), links_compare);
	L.last_ms = links_now_ms();
	if (links_write() < 0)
		daemon_warn("hard links: cannot write %s/%s: PHI files reached by "
			    "a hard link are not known to programs", L.cfg->spool,
			    PHI_INODES_NAME);
	if (L.scanned >= LINKS_MAX_SCAN)
		daemon_warn("hard links: stopped after %d files under the rule "
			    "roots; links to the rest are not known", LINKS_MAX_SCAN);
}

int links_start(const struct config *cfg)
{
	L.cfg = cfg;
	if (cfg->pattern_count == 0)
		return 0;
	links_walk();
	daemon_info("hard links: %zu PHI file(s) with more than one name", L.count);
	return 0;
}

void links_tick(void)
{
	if (L.cfg != NULL && L.cfg->pattern_count > 0 &&
	    links_now_ms() - L.last_ms >= LINKS_REWALK_MS)
		links_walk();
}

void links_complete(struct record *r)
{
	const char *inode = NULL;
	unsigned long long dev, ino;
	struct link_entry key, *e;

	for (size_t i = 0; i < r->detail_count; i++)
		if (r->detail[i].str != NULL && strcmp(r->detail[i].key, "inode") == 0)
			inode = r->detail[i].str;
	if (inode == NULL || L.count == 0 ||
	    sscanf(inode, "%llu:%llu", &dev, &ino) != 2)
		return;
	key.id = (struct phi_inode){ .dev = dev, .ino = ino };
	e = bsearch(&key, L.e, L.count, sizeof(*L.e), links_compare);
	if (e == NULL)
		return;
	if (r->end_user_id == NULL && e->patient[0] != '\0')
		r->end_user_id = e->patient;
	for (size_t i = 0; i < r->detail_count; i++)
		if (strcmp(r->detail[i].key, "real_path") == 0) {
			r->detail[i].str = e->path;    /* the shim's guess: replaced */
			return;
		}
	if (r->detail_count < RECORD_MAX_DETAIL)
		r->detail[r->detail_count++] = (struct record_detail){
			.key = "real_path", .str = e->path };
}

void links_stop(void)
{
	links_clear();
	free(L.e);
	L.e = NULL;
	L.cap = 0;
}
