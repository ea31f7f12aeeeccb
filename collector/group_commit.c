/*
 * group_commit.c - the store's group commit, with one owner.
 *
 * Owns the open group: records are appended through group_append, and a
 * group is committed or rolled back only by group_commit/group_rollback,
 * which tell the listener (follow.c rewinds or advances the spool offsets
 * that commit with the records). A writer's record is read again from its
 * spool file after a rollback; a record of the collector ("Audit Collector
 * Started", a query's "Audit Trail Queried", ...) exists nowhere else, so
 * every one appended to the open group is kept here, encoded, until its
 * group commits. A rollback moves those copies to the kept list, and the
 * next group (group_resume, group_append or group_commit, whichever comes
 * first) appends them again: a query answered before its group failed
 * still has its audit record stored, once (with a new id, its received
 * time unchanged).
 * Must never drop a kept record except at group_fini, and never commit
 * anything but through store_commit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "group_commit.h"

/* One record of the collector, as record_encode wrote it. */
struct group_copy {
	struct group_copy *next;
	size_t len;
	unsigned char bytes[];
};

/* A list kept in append order. */
struct group_list {
	struct group_copy *head, **tail;
	size_t count;
};

static struct {
	struct store *store;
	struct group_listener listener;
	struct group_list in_group;      /* own records in the open group */
	struct group_list kept;          /* own records of rolled-back groups */
	char arena[RECORD_ARENA_BYTES];
	unsigned char buffer[RECORD_MAX_BYTES];
} G;

static void list_init(struct group_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
	l->count = 0;
}

static void list_push(struct group_list *l, struct group_copy *c)
{
	c->next = NULL;
	*l->tail = c;
	l->tail = &c->next;
	l->count++;
}

static struct group_copy *list_pop(struct group_list *l)
{
	struct group_copy *c = l->head;

	if (c == NULL)
		return NULL;
	l->head = c->next;
	if (l->head == NULL)
		l->tail = &l->head;
	l->count--;
	return c;
}

static void list_free(struct group_list *l)
{
	struct group_copy *c;

	while ((c = list_pop(l)) != NULL)
		free(c);
}

/* l's records go before the ones of into (kept ones stay oldest first). */
static void list_prepend(struct group_list *into, struct group_list *l)
{
	if (l->head == NULL)
		return;
	*l->tail = into->head;
	if (into->head == NULL)
		into->tail = l->tail;
	into->head = l->head;
	into->count += l->count;
	list_init(l);
}

void group_init(struct store *st)
{
	G.store = st;
	memset(&G.listener, 0, sizeof(G.listener));
	list_init(&G.in_group);
	list_init(&G.kept);
}

void group_listen(const struct group_listener *listener)
{
	memset(&G.listener, 0, sizeof(G.listener));
	if (listener != NULL)
		G.listener = *listener;
}

void group_fini(void)
{
	list_free(&G.in_group);
	list_free(&G.kept);
	G.store = NULL;
}

/* Keeps a copy of r (its received time set) at the end of l. */
static int keep_copy(const struct record *r, struct group_list *l)
{
	struct group_copy *c;
	long len = record_encode(r, G.buffer, sizeof(G.buffer));

	if (len < 0)
		return (int)len;
	c = malloc(sizeof(*c) + (size_t)len);
	if (c == NULL)
		return -ENOMEM;
	c->len = (size_t)len;
	memcpy(c->bytes, G.buffer, (size_t)len);
	list_push(l, c);
	return 0;
}

/* Appends every kept record; stops at the first error (the rest stay). */
static int append_kept(void)
{
	struct group_copy *c;
	struct record r;
	int rc;

	while ((c = G.kept.head) != NULL) {
		rc = record_decode(c->bytes, c->len, &r, G.arena, sizeof(G.arena),
				   NULL);
		if (rc < 0)
			return rc;    /* cannot happen: the codec wrote it */
		r.id = RECORD_ABSENT;
		rc = store_append(G.store, &r);
		if (rc < 0)
			return rc;
		list_push(&G.in_group, list_pop(&G.kept));
	}
	return 0;
}

int group_resume(void)
{
	return append_kept();
}

size_t group_kept(void)
{
	return G.kept.count;
}

int group_append(struct record *r, enum group_origin origin)
{
	int rc = append_kept();

	if (rc < 0)
		return rc;
	rc = store_append(G.store, r);
	if (origin == GROUP_OWN && rc != -EINVAL) {
		/* Not stored (disk full, ...): kept for the next group. */
		int kept = keep_copy(r, rc == 0 ? &G.in_group : &G.kept);

		if (rc == 0)
			rc = kept;
	}
	return rc;
}

void group_rollback(void)
{
	store_rollback(G.store);
	list_prepend(&G.kept, &G.in_group);
	if (G.listener.rolled_back != NULL)
		G.listener.rolled_back();
}

int group_commit(void)
{
	int rc = append_kept();

	if (rc == 0)
		rc = store_commit(G.store);
	if (rc < 0) {
		group_rollback();
		return rc;
	}
	list_free(&G.in_group);
	if (G.listener.committed != NULL)
		G.listener.committed();
	return 0;
}

int group_open(void)
{
	return store_in_transaction(G.store);
}

size_t group_pending(void)
{
	return store_pending(G.store);
}

int64_t group_first_pending_ms(void)
{
	return store_first_pending_ms(G.store);
}
