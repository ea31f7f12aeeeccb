/*
 * privsep_adopt.c - the bodies the parent and the store process exchange
 * about spool files (privsep.h has the byte layout): ADOPT, a file to
 * follow with its writer's verified identity, OPEN, a file the store
 * process may not open itself, RESOLVE, a kernel file handle it may not
 * open, EXE, a process's program it may not see, and UNAUDITED, a program
 * noticed running without auditing.
 * Owns encoding and strict decoding: every length checked before it is
 * used, short input, trailing bytes and names that leave their directory
 * refused. Must never do I/O or pass descriptors: collector/broker.c does.
 */
#include <errno.h>
#include <string.h>

#include "privsep.h"
#include "byteorder.h"

#define OFF_WHERE 0
#define OFF_NAME_LEN 1
#define OFF_FLAGS 2
#define OFF_IDS 6                /* pid, ppid, uid, gid, auid, session */
#define OFF_START 54
#define OFF_EXE_LEN 62
#define OFF_ACTOR_LEN 64
#define OFF_KIND_LEN 65

/* A base name that stays in its directory: no '/', no NUL, not . or .. */
static int name_ok(const unsigned char *p, size_t len)
{
	if (len == 0 || len > PRIVSEP_MAX_NAME || memchr(p, '/', len) != NULL ||
	    memchr(p, '\0', len) != NULL)
		return 0;
	return !(len == 1 && p[0] == '.') && !(len == 2 && p[0] == '.' && p[1] == '.');
}

static int text_ok(const unsigned char *p, size_t len, size_t max)
{
	return len <= max && memchr(p, '\0', len) == NULL;
}

int privsep_adopt_encode(const struct privsep_adopt *a, unsigned char *out, size_t room)
{
	size_t l = strlen(a->name), e = strlen(a->exe), n = strlen(a->actor);
	size_t k = strlen(a->kind), len = PRIVSEP_ADOPT_FIXED + l + e + n + k;
	const int64_t ids[6] = { a->pid, a->ppid, a->uid, a->gid, a->auid, a->session };
	int i;

	if (l > PRIVSEP_MAX_NAME || e > PRIVSEP_MAX_EXE || n > PRIVSEP_MAX_ACTOR ||
	    k > PRIVSEP_MAX_KIND)
		return -ENAMETOOLONG;
	if (!name_ok((const unsigned char *)a->name, l) || k == 0 ||
	    a->where > PRIVSEP_WHERE_INCOMING)
		return -EINVAL;
	if (room < len)
		return -EMSGSIZE;
	out[OFF_WHERE] = a->where;
	out[OFF_NAME_LEN] = (unsigned char)l;
	le_put(out + OFF_FLAGS, a->flags, 4);
	for (i = 0; i < 6; i++)
		le_put(out + OFF_IDS + 8 * i, (uint64_t)ids[i], 8);
	le_put(out + OFF_START, a->start_time_ticks, 8);
	le_put(out + OFF_EXE_LEN, e, 2);
	out[OFF_ACTOR_LEN] = (unsigned char)n;
	out[OFF_KIND_LEN] = (unsigned char)k;
	memcpy(out + PRIVSEP_ADOPT_FIXED, a->name, l);
	memcpy(out + PRIVSEP_ADOPT_FIXED + l, a->exe, e);
	memcpy(out + PRIVSEP_ADOPT_FIXED + l + e, a->actor, n);
	memcpy(out + PRIVSEP_ADOPT_FIXED + l + e + n, a->kind, k);
	return (int)len;
}

int privsep_adopt_decode(const struct privsep_frame *f, struct privsep_adopt *a)
{
	const unsigned char *b = f->body, *p;
	int64_t *ids[6] = { &a->pid, &a->ppid, &a->uid, &a->gid, &a->auid, &a->session };
	size_t l, e, n, k;
	int i;

	memset(a, 0, sizeof(*a));
	if (f->type != PRIVSEP_ADOPT)
		return -EPROTO;
	if (f->len < PRIVSEP_ADOPT_FIXED)
		return -EBADMSG;
	l = b[OFF_NAME_LEN];
	e = (size_t)le_get(b + OFF_EXE_LEN, 2);
	n = b[OFF_ACTOR_LEN];
	k = b[OFF_KIND_LEN];
	if (b[OFF_WHERE] > PRIVSEP_WHERE_INCOMING || e > PRIVSEP_MAX_EXE ||
	    n > PRIVSEP_MAX_ACTOR || k == 0 || k > PRIVSEP_MAX_KIND ||
	    f->len != PRIVSEP_ADOPT_FIXED + l + e + n + k)
		return -EBADMSG;
	p = b + PRIVSEP_ADOPT_FIXED;
	if (!name_ok(p, l) || !text_ok(p + l, e, PRIVSEP_MAX_EXE) ||
	    !text_ok(p + l + e, n, PRIVSEP_MAX_ACTOR) ||
	    !text_ok(p + l + e + n, k, PRIVSEP_MAX_KIND))
		return -EBADMSG;
	a->where = b[OFF_WHERE];
	a->flags = (uint32_t)le_get(b + OFF_FLAGS, 4);
	for (i = 0; i < 6; i++)
		*ids[i] = (int64_t)le_get(b + OFF_IDS + 8 * i, 8);
	a->start_time_ticks = le_get(b + OFF_START, 8);
	memcpy(a->name, p, l);
	memcpy(a->exe, p + l, e);
	memcpy(a->actor, p + l + e, n);
	memcpy(a->kind, p + l + e + n, k);
	return 0;
}

int privsep_open_encode(uint8_t where, const char *name, unsigned char *out, size_t room)
{
	size_t l = strlen(name);

	if (where > PRIVSEP_WHERE_INCOMING || !name_ok((const unsigned char *)name, l) ||
	    room < 1 + l)
		return -EINVAL;
	out[0] = where;
	memcpy(out + 1, name, l);
	return (int)(1 + l);
}

int privsep_open_decode(const struct privsep_frame *f, uint8_t *where,
			char name[PRIVSEP_MAX_NAME + 1])
{
	if (f->type != PRIVSEP_OPEN)
		return -EPROTO;
	if (f->len < 2 || f->body[0] > PRIVSEP_WHERE_INCOMING ||
	    !name_ok(f->body + 1, f->len - 1))
		return -EBADMSG;
	*where = f->body[0];
	memcpy(name, f->body + 1, f->len - 1);
	name[f->len - 1] = '\0';
	return 0;
}

int privsep_unaudited_encode(const struct privsep_unaudited *u, unsigned char *out,
			     size_t room)
{
	size_t e = strlen(u->exe), r = strlen(u->reason);
	const int64_t v[4] = { u->uid, u->pid, u->count, u->last_ns };
	int i;

	if (e == 0 || e > PRIVSEP_MAX_TEXT || r == 0 || r > PRIVSEP_MAX_TEXT)
		return -EINVAL;
	if (room < PRIVSEP_UNAUDITED_FIXED + e + r)
		return -EMSGSIZE;
	for (i = 0; i < 4; i++)
		le_put(out + 8 * i, (uint64_t)v[i], 8);
	le_put(out + 32, e, 2);
	le_put(out + 34, r, 2);
	memcpy(out + PRIVSEP_UNAUDITED_FIXED, u->exe, e);
	memcpy(out + PRIVSEP_UNAUDITED_FIXED + e, u->reason, r);
	return (int)(PRIVSEP_UNAUDITED_FIXED + e + r);
}

int privsep_unaudited_decode(const struct privsep_frame *f, struct privsep_unaudited *u)
{
	const unsigned char *b = f->body;
	int64_t *v[4] = { &u->uid, &u->pid, &u->count, &u->last_ns };
	size_t e, r;
	int i;

	memset(u, 0, sizeof(*u));
	if (f->type != PRIVSEP_UNAUDITED)
		return -EPROTO;
	if (f->len < PRIVSEP_UNAUDITED_FIXED)
		return -EBADMSG;
	e = (size_t)le_get(b + 32, 2);
	r = (size_t)le_get(b + 34, 2);
	if (e == 0 || r == 0 || f->len != PRIVSEP_UNAUDITED_FIXED + e + r ||
	    !text_ok(b + PRIVSEP_UNAUDITED_FIXED, e, PRIVSEP_MAX_TEXT) ||
	    !text_ok(b + PRIVSEP_UNAUDITED_FIXED + e, r, PRIVSEP_MAX_TEXT))
		return -EBADMSG;
	for (i = 0; i < 4; i++)
		*v[i] = (int64_t)le_get(b + 8 * i, 8);
	memcpy(u->exe, b + PRIVSEP_UNAUDITED_FIXED, e);
	memcpy(u->reason, b + PRIVSEP_UNAUDITED_FIXED + e, r);
	return 0;
}

int privsep_resolve_encode(int32_t type, const unsigned char *handle, size_t n,
			   unsigned char *out, size_t room)
{
	if (n == 0 || n > PRIVSEP_MAX_HANDLE || room < PRIVSEP_RESOLVE_FIXED + n)
		return -EINVAL;
	le_put(out, (uint32_t)type, 4);
	le_put(out + 4, n, 2);
	memcpy(out + PRIVSEP_RESOLVE_FIXED, handle, n);
	return (int)(PRIVSEP_RESOLVE_FIXED + n);
}

int privsep_resolve_decode(const struct privsep_frame *f, int32_t *type,
			   const unsigned char **handle, size_t *n)
{
	if (f->type != PRIVSEP_RESOLVE)
		return -EPROTO;
	if (f->len < PRIVSEP_RESOLVE_FIXED)
		return -EBADMSG;
	*n = (size_t)le_get(f->body + 4, 2);
	if (*n == 0 || *n > PRIVSEP_MAX_HANDLE || f->len != PRIVSEP_RESOLVE_FIXED + *n)
		return -EBADMSG;
	*type = (int32_t)(uint32_t)le_get(f->body, 4);
	*handle = f->body + PRIVSEP_RESOLVE_FIXED;
	return 0;
}

void privsep_exe_encode(int32_t pid, uint64_t start_time_ticks, unsigned char out[12])
{
	le_put(out, (uint32_t)pid, 4);
	le_put(out + 4, start_time_ticks, 8);
}

int privsep_exe_decode(const struct privsep_frame *f, int32_t *pid,
		       uint64_t *start_time_ticks)
{
	uint32_t p;

	if (f->type != PRIVSEP_EXE)
		return -EPROTO;
	if (f->len != PRIVSEP_EXE_BYTES)
		return -EBADMSG;
	p = (uint32_t)le_get(f->body, 4);
	if (p == 0 || p > INT32_MAX)
		return -EBADMSG;
	*pid = (int32_t)p;
	*start_time_ticks = le_get(f->body + 4, 8);
	return 0;
}
