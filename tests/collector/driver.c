/*
 * driver.c - a stand-in writer for testing phitraild without the shim: it
 * does exactly what the shim's hand-off does (connect to the ingest socket,
 * hello, receive the spool descriptor, append frames) or writes a fallback
 * spool file in <spool>/incoming/, and can misbehave on purpose.
 *
 *   driver [options] SOCKET COUNT
 *     --patient P       end_user_id of every record (default: p<i % 10>)
 *     --skip SEQ        never write the record with this seq (a loss)
 *     --sleep-us N      pause between records
 *     --claim-pid N     put this pid/uid/auid in every record (a lie)
 *     --bad-crc         end with a frame whose checksum is wrong
 *     --cut             end with a frame cut in half
 *     --garbage         end with a valid frame holding no valid record
 *     --forge           end with a record claiming "Audit Collector Started"
 *     --fallback SPOOL  write <SPOOL>/incoming/<pid>.spool, no socket
 *     --hold            after writing, wait for a line on stdin
 *     --tag T           target is /srv/ehr/T/<i>
 * Exits 0 when every record was written.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "handoff.h"
#include "record.h"
#include "spool.h"

static int write_frame(int fd, const void *payload, uint32_t len, int bad_crc,
		       int cut)
{
	unsigned char frame[8 + SPOOL_MAX_PAYLOAD];
	size_t total = 8 + len;

	spool_frame_header_encode(payload, len, frame);
	memcpy(frame + 8, payload, len);
	if (bad_crc)
		frame[4] ^= 0xff;
	if (cut)
		total = 8 + len / 2;
	return write(fd, frame, total) == (ssize_t)total ? 0 : -1;
}

static uint64_t start_ticks(void)
{
	char buf[1024], *p;
	int fd = open("/proc/self/stat", O_RDONLY), field;
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')') + 1;
	for (field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (p == NULL)
			return 0;
	}
	return strtoull(p + 1, NULL, 10);
}

static int handoff(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	unsigned char msg[16];
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } control;
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cm;
	int sock, fd = -1;
	uint32_t v = HANDOFF_VERSION, status;

	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("driver: connect");
		return -1;
	}
	memcpy(msg, HANDOFF_HELLO_MAGIC, 8);
	memcpy(msg + 8, &v, 4);   /* little endian host */
	memset(msg + 12, 0, 4);
	if (send(sock, msg, 16, MSG_NOSIGNAL) != 16) {
		perror("driver: send hello");
		return -1;
	}
	if (recvmsg(sock, &mh, 0) != 16 || memcmp(msg, HANDOFF_READY_MAGIC, 8) != 0) {
		fprintf(stderr, "driver: bad reply\n");
		return -1;
	}
	memcpy(&status, msg + 12, 4);
	if (status != 0) {
		fprintf(stderr, "driver: collector refused: %s\n", strerror((int)status));
		return -1;
	}
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	close(sock);
	return fd;
}

static int fallback_file(const char *spool)
{
	unsigned char header[SPOOL_HEADER_BYTES];
	struct spool_header h = { 0 };
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/incoming/%d-%llu.spool", spool, (int)getpid(),
		 (unsigned long long)start_ticks());
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0600);
	if (fd < 0) {
		perror(path);
		return -1;
	}
	h.version = SPOOL_FORMAT_VERSION;
	h.flags = SPOOL_FLAG_FALLBACK;
	h.pid = (uint32_t)getpid();
	h.uid = getuid();
	h.gid = getgid();
	h.start_time_ticks = start_ticks();
	h.created_ns = (uint64_t)time(NULL) * 1000000000u;
	spool_header_encode(&h, header);
	if (write(fd, header, sizeof(header)) != sizeof(header))
		return -1;
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "patient", 1, NULL, 'p' }, { "skip", 1, NULL, 's' },
		{ "sleep-us", 1, NULL, 'u' }, { "claim-pid", 1, NULL, 'c' },
		{ "bad-crc", 0, NULL, 'b' }, { "cut", 0, NULL, 'x' },
		{ "garbage", 0, NULL, 'g' }, { "forge", 0, NULL, 'f' },
		{ "fallback", 1, NULL, 'F' }, { "hold", 0, NULL, 'h' },
		{ "tag", 1, NULL, 't' }, { NULL, 0, NULL, 0 },
	};
	const char *patient = NULL, *fallback = NULL, *tag = "x";
	long skip = -1, sleep_us = 0, claim = -1, count, i;
	int bad_crc = 0, cut = 0, garbage = 0, forge = 0, hold = 0, opt, fd;
	unsigned char buf[RECORD_MAX_BYTES];
	char pbuf[32], target[256], host[64];

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'p': patient = optarg; break;
		case 's': skip = atol(optarg); break;
		case 'u': sleep_us = atol(optarg); break;
		case 'c': claim = atol(optarg); break;
		case 'b': bad_crc = 1; break;
		case 'x': cut = 1; break;
		case 'g': garbage = 1; break;
		case 'f': forge = 1; break;
		case 'F': fallback = optarg; break;
		case 'h': hold = 1; break;
		case 't': tag = optarg; break;
		default: return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: driver [options] SOCKET COUNT\n");
		return 2;
	}
	count = atol(argv[optind + 1]);
	fd = fallback ? fallback_file(fallback) : handoff(argv[optind]);
	if (fd < 0)
		return 1;
	gethostname(host, sizeof(host));
	for (i = 0; i < count + (bad_crc || cut || garbage || forge); i++) {
		struct record r;
		struct timespec ts;
		long len;
		int last = i == count;

		record_init(&r);
		r.workspace_id = "ws_driver";
		r.actor_user_id = "mallory";   /* a claim the collector replaces */
		r.event_type = last && forge ? EVENT_COLLECTOR_STARTED : EVENT_FILE_VIEWED;
		snprintf(pbuf, sizeof(pbuf), "p%ld", i % 10);
		r.end_user_id = patient ? patient : pbuf;
		clock_gettime(CLOCK_REALTIME, &ts);
		r.timestamp_sec = ts.tv_sec;
		r.timestamp_nsec = (uint32_t)ts.tv_nsec;
		r.host = host;
		r.pid = claim >= 0 ? claim : getpid();
		r.uid = claim >= 0 ? claim : (long)getuid();
		r.auid = claim >= 0 ? claim : RECORD_ABSENT;
		r.exe = "/usr/bin/driver";
		snprintf(target, sizeof(target), "/srv/ehr/%s/%ld", tag, i);
		r.target = target;
		r.rule = "charts";
		r.result = i % 7 == 3 ? "EACCES" : "ok";
		r.seq = i;
		len = record_encode(&r, buf, sizeof(buf));
		if (len < 0) {
			fprintf(stderr, "driver: encode: %ld\n", len);
			return 1;
		}
		if (i == skip)
			continue;
		if (last && garbage) {
			memset(buf, 0xc1, 16);   /* 0xc1: never valid msgpack */
			len = 16;
		}
		if (write_frame(fd, buf, (uint32_t)len, last && bad_crc, last && cut) < 0) {
			perror("driver: write");
			return 1;
		}
		if (sleep_us)
			usleep((useconds_t)sleep_us);
	}
	if (hold) {
		char line[16];

		if (fgets(line, sizeof(line), stdin) == NULL) {
			/* end of input: go on */
		}
	}
	close(fd);
	return 0;
}
