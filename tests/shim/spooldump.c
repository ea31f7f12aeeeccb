/*
 * spooldump.c - prints the records of phitrail spool files, one line per
 * record ("seq event target [-> target2] patient=... result=... rule=...
 * pid=... uid=... actor=..."), for the shim's own test scripts. With -s,
 * only "event|target[>target2]|patient|result|uid" and no header line, easy
 * to compare. Checks the header and every frame; exits 1 on a damaged
 * file, 2 on usage errors.
 *
 *   cc -Icommon/format -o spooldump tests/shim/spooldump.c common/format/codec.c common/format/record_*.c \
 *      common/format/spool.c -lmsgpackc
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record.h"
#include "spool.h"

static int short_form;

static int dump(const char *path)
{
	static unsigned char buf[1 << 22];
	static char arena[RECORD_ARENA_BYTES];
	struct spool_header h;
	ssize_t len;
	size_t off;
	int fd = open(path, O_RDONLY), rc = 0;

	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	len = read(fd, buf, sizeof(buf));
	close(fd);
	if (len < 0 || spool_header_decode(buf, (size_t)len, &h) != 0) {
		fprintf(stderr, "%s: bad header\n", path);
		return 1;
	}
	if (!short_form)
		printf("# %s flags=%u pid=%u uid=%u start=%llu\n", path, h.flags, h.pid,
	       h.uid, (unsigned long long)h.start_time_ticks);
	for (off = SPOOL_HEADER_BYTES; off < (size_t)len;) {
		const unsigned char *payload;
		uint32_t plen;
		const char *why = "";
		struct record r;
		long n = spool_frame_decode(buf + off, (size_t)len - off, &payload,
					    &plen, &why);

		if (n == 0)
			break;
		if (n < 0) {
			fprintf(stderr, "%s: bad frame at %zu: %s\n", path, off, why);
			return 1;
		}
		if (record_decode(payload, plen, &r, arena, sizeof(arena), &why) != 0) {
			fprintf(stderr, "%s: bad record at %zu: %s\n", path, off, why);
			return 1;
		}
		if (short_form) {
			printf("%s|%s%s%s|%s|%s|%lld\n", event_type_name(r.event_type),
			       r.target ? r.target : "-", r.target2 ? ">" : "",
			       r.target2 ? r.target2 : "",
			       r.end_user_id ? r.end_user_id : "nil",
			       r.result ? r.result : "-", (long long)r.uid);
			off += (size_t)n;
			continue;
		}
		printf("%lld %s %s%s%s patient=%s result=%s rule=%s pid=%lld ppid=%lld "
		       "uid=%lld auid=%lld actor=%s ws=%s exe=%s",
		       (long long)r.seq, event_type_name(r.event_type),
		       r.target ? r.target : "-", r.target2 ? " -> " : "",
		       r.target2 ? r.target2 : "",
		       r.end_user_id ? r.end_user_id : "nil",
		       r.result ? r.result : "-", r.rule ? r.rule : "-",
		       (long long)r.pid, (long long)r.ppid, (long long)r.uid,
		       (long long)r.auid, r.actor_user_id, r.workspace_id,
		       r.exe ? r.exe : "-");
		for (size_t i = 0; i < r.detail_count; i++) {
			if (r.detail[i].str)
				printf(" %s=%s", r.detail[i].key, r.detail[i].str);
			else
				printf(" %s=%lld", r.detail[i].key,
				       (long long)r.detail[i].num);
		}
		printf("\n");
		off += (size_t)n;
	}
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0;

	int first = 1;

	if (argc > 1 && strcmp(argv[1], "-s") == 0) {
		short_form = 1;
		first = 2;
	}
	if (argc <= first) {
		fprintf(stderr, "usage: spooldump [-s] FILE...\n");
		return 2;
	}
	for (int i = first; i < argc; i++)
		rc |= dump(argv[i]);
	return rc;
}
