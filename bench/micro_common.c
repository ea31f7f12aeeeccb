/*
 * micro_common.c - the shim's per-call work in common/, one case at a time,
 * for callgrind (bench/micro.sh): each case is a noinline function running
 * the operation MICRO_ITERATIONS times, so instructions per call are the
 * case's collected total divided by the iterations.
 *
 *   crc            spool_crc32c over 200 bytes (the dispatching entry)
 *   crc-table      the table (no SSE4.2) CRC-32C over 200 bytes
 *   frame          spool_frame_header_encode of a 200-byte payload
 *   encode         record_encode of a typical audited file read
 *   encode-prefix  the same record through record_encode_with_prefix
 *   match-nonphi   an absolute path no rule matches, against 10 rules:
 *                  pathglob_normalise + config_match_path (the full way)
 *   quick-nonphi   the same path, the quick way: pathglob_is_normal +
 *                  config_could_match_path
 *   match-phi      a PHI path: pathglob_normalise + config_match_path
 *   under-nonphi   config_could_match_under for a working directory
 *   raw-nonphi     the same path as written, the way an open() wrapper
 *                  first tests it: config_could_match_raw (no copy, no
 *                  normalisation; also right for paths that are not normal)
 *
 * Prints one line, "CASE RESULT", so a case cannot be optimised away.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "pathglob.h"
#include "record.h"
#include "spool.h"

#define MICRO_ITERATIONS 10000

static struct config cfg;
static unsigned char payload[200];
static unsigned char out[RECORD_MAX_BYTES];

static const char rules[] =
	"[phitrail]\n"
	"workspace_id = ws_st_marys\n"
	"[rule charts]\n"
	"files = /srv/ehr/patients/{patient}/**\n"
	"[rule labs]\n"
	"files = /srv/lab/results/{patient}/*.hl7\n"
	"[rule pacs]\n"
	"files = /var/lib/pacs/studies/{patient}/**\n"
	"[rule scans]\n"
	"files = /data/scans/{patient}/**\n"
	"[rule exports]\n"
	"files = /home/*/exports/phi/**\n"
	"[rule billing]\n"
	"files = /srv/billing/claims/**/*.x12\n"
	"[rule notes]\n"
	"files = /srv/ehr/notes/{patient}/*.txt\n"
	"[rule dicom]\n"
	"files = /mnt/dicom/{patient}/**\n"
	"[rule backup]\n"
	"files = /backup/ehr/**\n"
	"[rule fax]\n"
	"files = /var/spool/fax/incoming/**\n";

static const char nonphi_path[] = "/usr/share/zoneinfo/Europe/Berlin";
static const char phi_path[] = "/srv/ehr/patients/4711/chart.json";

static void typical_record(struct record *r)
{
	record_init(r);
	r->workspace_id = "ws_st_marys";
	r->actor_user_id = "alice";
	r->event_type = EVENT_FILE_VIEWED;
	r->end_user_id = "4711";
	r->timestamp_sec = 1795000000;
	r->timestamp_nsec = 123456789;
	r->host = "ehr-app-01.st-marys.example";
	r->pid = 48213;
	r->ppid = 48200;
	r->exe = "/usr/bin/python3.11";
	r->uid = 1001;
	r->auid = 1001;
	r->session = 7;
	r->target = "/srv/ehr/patients/4711/chart.json";
	r->rule = "charts";
	r->result = "ok";
	r->seq = 42;
	r->detail[0].key = "bytes";
	r->detail[0].num = 4096;
	r->detail_count = 1;
}

__attribute__((noinline)) static unsigned long case_crc(void)
{
	unsigned long sum = 0;

	for (int i = 0; i < MICRO_ITERATIONS; i++)
		sum += spool_crc32c(0, payload, sizeof(payload));
	return sum;
}

__attribute__((noinline)) static unsigned long case_frame(void)
{
	unsigned char hdr[SPOOL_FRAME_HEADER_BYTES];
	unsigned long sum = 0;

	for (int i = 0; i < MICRO_ITERATIONS; i++) {
		spool_frame_header_encode(payload, sizeof(payload), hdr);
		sum += hdr[5];
	}
	return sum;
}

__attribute__((noinline)) static unsigned long case_encode(void)
{
	struct record r;
	unsigned long sum = 0;

	typical_record(&r);
	for (int i = 0; i < MICRO_ITERATIONS; i++) {
		r.seq = i;
		sum += (unsigned long)record_encode(&r, out, sizeof(out));
	}
	return sum;
}

__attribute__((noinline)) static unsigned long case_match(const char *path)
{
	char normal[4096];
	unsigned long sum = 0;

	for (int i = 0; i < MICRO_ITERATIONS; i++) {
		char patient[64];
		long n = pathglob_normalise(NULL, path, normal, sizeof(normal));

		if (n > 0)
			sum += (unsigned long)(config_match_path(&cfg, normal, patient,
								 sizeof(patient)) + 1);
	}
	return sum;
}

#ifdef MICRO_NEW_API
__attribute__((noinline)) static unsigned long case_crc_table(void)
{
	unsigned long sum = 0;

	for (int i = 0; i < MICRO_ITERATIONS; i++)
		sum += spool_crc32c_table(0, payload, sizeof(payload));
	return sum;
}

__attribute__((noinline)) static unsigned long case_encode_prefix(void)
{
	static struct record_prefix prefix;
	struct record r;
	unsigned long sum = 0;

	typical_record(&r);
	if (record_encode_prefix(&r, &prefix) < 0)
		return 0;
	for (int i = 0; i < MICRO_ITERATIONS; i++) {
		r.seq = i;
		sum += (unsigned long)record_encode_with_prefix(&r, &prefix, out,
								sizeof(out));
	}
	return sum;
}

__attribute__((noinline)) static unsigned long case_quick(const char *path)
{
	unsigned long sum = 0;

	for (int i = 0; i < MICRO_ITERATIONS; i++) {
		size_t len = strlen(path);

		sum += (unsigned long)(pathglob_is_normal(path, len) &&
				       !config_could_match_path(&cfg, path, len));
	}
	return sum;
}

__attribute__((noinline)) static unsigned long case_raw(const char *path)
{
	unsigned long sum = 0;

	for (int i = 0; i < MICRO_ITERATIONS; i++)
		sum += (unsigned long)!config_could_match_raw(&cfg, path);
	return sum;
}

__attribute__((noinline)) static unsigned long case_under(const char *dir)
{
	unsigned long sum = 0;

	for (int i = 0; i < MICRO_ITERATIONS; i++)
		sum += (unsigned long)config_could_match_under(&cfg, dir, strlen(dir));
	return sum;
}
#endif

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "crc";
	unsigned long result;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (unsigned char)(i * 131u + 7u);
	if (config_load_string(&cfg, "micro.conf", rules, strlen(rules)) < 0) {
		fprintf(stderr, "micro: %s\n", cfg.error);
		return 1;
	}
	if (strcmp(which, "crc") == 0)
		result = case_crc();
	else if (strcmp(which, "frame") == 0)
		result = case_frame();
	else if (strcmp(which, "encode") == 0)
		result = case_encode();
	else if (strcmp(which, "match-nonphi") == 0)
		result = case_match(nonphi_path);
	else if (strcmp(which, "match-phi") == 0)
		result = case_match(phi_path);
#ifdef MICRO_NEW_API
	else if (strcmp(which, "crc-table") == 0)
		result = case_crc_table();
	else if (strcmp(which, "encode-prefix") == 0)
		result = case_encode_prefix();
	else if (strcmp(which, "quick-nonphi") == 0)
		result = case_quick(nonphi_path);
	else if (strcmp(which, "raw-nonphi") == 0)
		result = case_raw(nonphi_path);
	else if (strcmp(which, "under-nonphi") == 0)
		result = case_under("/home/alice/src/project");
#endif
	else {
		fprintf(stderr, "micro: unknown case %s\n", which);
		return 2;
	}
	printf("%s %lu\n", which, result);
	return 0;
}
