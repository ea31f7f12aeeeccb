/*
 * test_detect_dicom.c - the DICOM detector: real files and real storescu
 * traffic made with dcmtk (tests/data/dicom/, see its scripts), built PDUs
 * and datasets for every limit at the limit and one past, splits at every
 * byte, transfer syntaxes, and giving up on malformed input.
 * Run from the top of the tree (tests/run.sh does).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "unit.h"

#define DATA "tests/data/dicom/"

static struct detect_message msgs[8];

static size_t load(const char *name, unsigned char *buf, size_t cap)
{
	FILE *f = fopen(name, "rb");
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", name);
		return 0;
	}
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* ---- a byte builder ---- */

struct out {
	unsigned char b[200000];
	size_t n;
};

static void put8(struct out *o, unsigned v) { o->b[o->n++] = (unsigned char)v; }
static void put16le(struct out *o, unsigned v) { put8(o, v & 0xff); put8(o, v >> 8 & 0xff); }
static void put32le(struct out *o, unsigned long v) { put16le(o, v & 0xffff); put16le(o, v >> 16 & 0xffff); }
static void put16be(struct out *o, unsigned v) { put8(o, v >> 8 & 0xff); put8(o, v & 0xff); }
static void put32be(struct out *o, unsigned long v) { put16be(o, v >> 16 & 0xffff); put16be(o, v & 0xffff); }
static void putn(struct out *o, const void *p, size_t n) { memcpy(o->b + o->n, p, n); o->n += n; }

static void implicit_el(struct out *o, unsigned g, unsigned e, const void *v, size_t n)
{
	put16le(o, g); put16le(o, e); put32le(o, n); putn(o, v, n);
}

static void explicit_el(struct out *o, unsigned g, unsigned e, const char *vr,
			const void *v, size_t n)
{
	put16le(o, g); put16le(o, e); putn(o, vr, 2);
	if (strcmp(vr, "SQ") == 0 || strcmp(vr, "OB") == 0 || strcmp(vr, "UN") == 0) {
		put16le(o, 0); put32le(o, n);
	} else {
		put16le(o, n);
	}
	putn(o, v, n);
}

static void file_head(struct out *o, const char *syntax)
{
	size_t n = strlen(syntax) + (strlen(syntax) & 1);

	o->n = 0;
	memset(o->b, 0, 128);
	o->n = 128;
	putn(o, "DICM", 4);
	explicit_el(o, 0x0002, 0x0010, "UI", syntax, n);   /* NUL padded */
}

/* ---- files ---- */

static void check_sample(const struct detect_message *m)
{
	CHECK_STR(m->message_type, "DICOM file (CT)");
	CHECK_STR(m->patient, "4711");
	CHECK_STR(m->identifiers, "4711 (HOSP),A1,B2");
	CHECK_INT(m->flags, 0);
}

static void test_real_files(void)
{
	static unsigned char buf[4096];
	static const struct {
		const char *name;
		int rc;
	} files[] = {
		{ DATA "sample-explicit.dcm", 0 },
		{ DATA "sample-implicit.dcm", 0 },
		{ DATA "sample-big-endian.dcm", -EPROTONOSUPPORT },
		{ DATA "sample-deflated.dcm", -EPROTONOSUPPORT },
		{ DATA "storescu-client.bin", -ENOMSG },
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct detect_message m;
		const char *why = NULL;
		size_t n = load(files[i].name, buf, sizeof(buf));

		CHECK(n > 132);
		CHECK_INT(detect_dicom_file(buf, n, &m, &why), files[i].rc);
		if (files[i].rc == 0) {
			check_sample(&m);
			CHECK(m.bytes < n);     /* stopped before pixel data */
		} else {
			CHECK(why != NULL);
		}
	}
	/* a head that ends before the patient */
	size_t n = load(DATA "sample-explicit.dcm", buf, sizeof(buf));
	struct detect_message m;
	const char *why = NULL;

	CHECK_INT(detect_dicom_file(buf, n / 2, &m, &why), -ENODATA);
	CHECK_INT(detect_dicom_file(buf, 100, &m, &why), -ENODATA);
	buf[130] = 'X';
	CHECK_INT(detect_dicom_file(buf, n, &m, &why), -ENOMSG);
	CHECK_STR(why, "DICOM: no \"DICM\" at byte 128: not a DICOM file");
}

static void test_file_stream_every_split(void)
{
	static unsigned char buf[4096];
	const char *names[] = { DATA "sample-explicit.dcm", DATA "sample-implicit.dcm" };

	for (size_t f = 0; f < 2; f++) {
		size_t n = load(names[f], buf, sizeof(buf));

		for (size_t cut = 0; cut <= n; cut++) {
			struct detect_stream s;
			size_t got;

			detect_stream_init(&s, DETECT_DICOM);
			got = detect_stream_feed(&s, buf, cut, msgs, 8);
			got += detect_stream_feed(&s, buf + cut, n - cut, msgs + got, 8 - got);
			got += detect_stream_end(&s, msgs + got, 8 - got);
			CHECK_INT(got, 1);
			check_sample(&msgs[0]);
			CHECK(detect_stream_gave_up(&s) == NULL);
		}
	}
}

static void test_file_stream_ends_early(void)
{
	static unsigned char buf[4096];
	size_t n = load(DATA "sample-explicit.dcm", buf, sizeof(buf));
	struct detect_stream s;
	unsigned char *pid = memmem(buf, n, "LO\x04\x00" "4711", 8);

	CHECK(pid != NULL);
	pid += 4;
	/* the file ends right after PatientID's value: reported at the end */
	detect_stream_init(&s, DETECT_DICOM);
	CHECK_INT(detect_stream_feed(&s, buf, (size_t)(pid + 4 - buf), msgs, 8), 0);
	CHECK_INT(detect_stream_end(&s, msgs, 8), 1);
	CHECK_STR(msgs[0].patient, "4711");
}

/* A file whose dataset nests levels undefined-length SQ/items. */
static void nested_file(struct out *o, int pairs, int extra_sq)
{
	file_head(o, "1.2.840.10008.1.2.1");
	for (int i = 0; i < pairs; i++) {
		put16le(o, 0x0008); put16le(o, 0x1140); putn(o, "SQ", 2);
		put16le(o, 0); put32le(o, 0xffffffffUL);
		put16le(o, 0xfffe); put16le(o, 0xe000); put32le(o, 0xffffffffUL);
	}
	if (extra_sq) {
		put16le(o, 0x0008); put16le(o, 0x1140); putn(o, "SQ", 2);
		put16le(o, 0); put32le(o, 0xffffffffUL);
		put16le(o, 0xfffe); put16le(o, 0xe0dd); put32le(o, 0);
	}
	for (int i = 0; i < pairs; i++) {
		put16le(o, 0xfffe); put16le(o, 0xe00d); put32le(o, 0);
		put16le(o, 0xfffe); put16le(o, 0xe0dd); put32le(o, 0);
	}
	explicit_el(o, 0x0010, 0x0020, "LO", "4711", 4);
	explicit_el(o, 0x0020, 0x000d, "UI", "1.2", 4);
}

static void test_nesting_limit(void)
{
	static struct out o;
	struct detect_message m;
	const char *why = NULL;

	nested_file(&o, DETECT_DICOM_DEPTH_MAX / 2, 0);
	CHECK_INT(detect_dicom_file(o.b, o.n, &m, &why), 0);
	CHECK_STR(m.patient, "4711");
	nested_file(&o, DETECT_DICOM_DEPTH_MAX / 2, 1);
	CHECK_INT(detect_dicom_file(o.b, o.n, &m, &why), -EBADMSG);
	CHECK_STR(why, "DICOM: sequences nested too deep");
}

static void elements_file(struct out *o, int count)
{
	file_head(o, "1.2.840.10008.1.2");    /* implicit VR */
	/* the meta element and PatientID are two; count - 2 empty ones */
	for (int i = 0; i < count - 2; i++)
		implicit_el(o, 0x0009, 0x1000, "", 0);
	implicit_el(o, 0x0010, 0x0020, "4711", 4);
	implicit_el(o, 0x0020, 0x000d, "1.2", 4);
}

static void test_elements_limit(void)
{
	static struct out o;
	struct detect_message m;
	const char *why = NULL;

	elements_file(&o, DETECT_DICOM_ELEMENTS_MAX);
	CHECK_INT(detect_dicom_file(o.b, o.n, &m, &why), 0);
	CHECK_STR(m.patient, "4711");
	elements_file(&o, DETECT_DICOM_ELEMENTS_MAX + 1);
	CHECK_INT(detect_dicom_file(o.b, o.n, &m, &why), -EBADMSG);
	CHECK_STR(why, "DICOM: too many elements before the patient");
}

static void test_malformed_files(void)
{
	static struct out o;
	struct detect_message m;
	const char *why = NULL;

	file_head(&o, "1.2.840.10008.1.2.1");
	putn(&o, "\x10\x00\x20\x00l04\x00", 8);     /* VR "l0" */
	CHECK_INT(detect_dicom_file(o.b, o.n, &m, &why), -EBADMSG);
	CHECK_STR(why, "DICOM: bad explicit VR");
	file_head(&o, "1.2.840.10008.1.2.1");
	put16le(&o, 0xfffe); put16le(&o, 0xe000); put32le(&o, 0);
	CHECK_INT(detect_dicom_file(o.b, o.n, &m, &why), -EBADMSG);
	CHECK_STR(why, "DICOM: item or delimiter out of place");
	/* no transfer syntax */
	o.n = 132;
	explicit_el(&o, 0x0002, 0x0001, "OB", "\0\1", 2);
	explicit_el(&o, 0x0010, 0x0020, "LO", "4711", 4);
	CHECK_INT(detect_dicom_file(o.b, o.n, &m, &why), -EBADMSG);
	CHECK_STR(why, "DICOM: file meta group names no transfer syntax");
	/* an encapsulated syntax reads as explicit VR; no PatientID: "" */
	file_head(&o, "1.2.840.10008.1.2.4.50");
	explicit_el(&o, 0x0008, 0x0060, "CS", "MR", 2);
	explicit_el(&o, 0x0020, 0x000d, "UI", "1.2", 4);
	CHECK_INT(detect_dicom_file(o.b, o.n, &m, &why), 0);
	CHECK_STR(m.message_type, "DICOM file (MR)");
	CHECK_STR(m.patient, "");
	/* a PatientID longer than the 64 bytes of LO is not reported */
	file_head(&o, "1.2.840.10008.1.2.1");
	char longid[130];
	memset(longid, '7', sizeof(longid));
	explicit_el(&o, 0x0010, 0x0020, "LO", longid, sizeof(longid));
	explicit_el(&o, 0x0020, 0x000d, "UI", "1.2", 4);
	CHECK_INT(detect_dicom_file(o.b, o.n, &m, &why), 0);
	CHECK_STR(m.patient, "");
	CHECK_INT(m.flags, DETECT_FLAG_TRUNCATED);
}

/* ---- the upper layer protocol ---- */

static void check_store_rq(const struct detect_message *m)
{
	CHECK_STR(m->message_type, "C-STORE-RQ");
	CHECK_STR(m->patient, "4711");
	CHECK_STR(m->identifiers, "4711 (HOSP),A1,B2");
}

static void test_real_storescu(void)
{
	static unsigned char buf[16384];
	size_t n = load(DATA "storescu-client.bin", buf, sizeof(buf));
	struct detect_stream s;
	size_t got = 0;

	detect_stream_init(&s, DETECT_DICOM);
	CHECK_INT(detect_stream_feed(&s, buf, n, msgs, 8), 1);
	check_store_rq(&msgs[0]);
	CHECK(detect_stream_gave_up(&s) == NULL);
	/* one byte at a time */
	detect_stream_init(&s, DETECT_DICOM);
	for (size_t i = 0; i < n; i++)
		got += detect_stream_feed(&s, buf + i, 1, msgs + got, 8 - got);
	CHECK_INT(got, 1);
	check_store_rq(&msgs[0]);
	/* the implicit VR association */
	n = load(DATA "storescu-implicit-client.bin", buf, sizeof(buf));
	for (size_t cut = 0; cut <= n; cut += 7) {
		detect_stream_init(&s, DETECT_DICOM);
		got = detect_stream_feed(&s, buf, cut, msgs, 8);
		got += detect_stream_feed(&s, buf + cut, n - cut, msgs + got, 8 - got);
		CHECK_INT(got, 1);
		check_store_rq(&msgs[0]);
	}
	/* the other direction: A-ASSOCIATE-AC, C-STORE-RSP, A-RELEASE-RP */
	n = load(DATA "storescp-server.bin", buf, sizeof(buf));
	detect_stream_init(&s, DETECT_DICOM);
	CHECK_INT(detect_stream_feed(&s, buf, n, msgs, 8), 1);
	CHECK_STR(msgs[0].message_type, "C-STORE-RSP");
	CHECK_STR(msgs[0].patient, "");
	CHECK(detect_stream_gave_up(&s) == NULL);
}

/* A-ASSOCIATE-AC accepting context id with one transfer syntax. */
static void associate_ac(struct out *o, unsigned id, const char *syntax)
{
	size_t sl = strlen(syntax), item = 4 + 4 + sl;

	put8(o, 2); put8(o, 0); put32be(o, 68 + 4 + item);
	for (int i = 0; i < 68; i++)
		put8(o, 0);
	put8(o, 0x21); put8(o, 0); put16be(o, item);
	put8(o, id); put8(o, 0); put8(o, 0); put8(o, 0);
	put8(o, 0x40); put8(o, 0); put16be(o, sl); putn(o, syntax, sl);
}

/* A P-DATA-TF PDU with one PDV. */
static void pdv(struct out *o, unsigned id, unsigned control, const void *data, size_t n)
{
	put8(o, 4); put8(o, 0); put32be(o, 6 + n);
	put32be(o, 2 + n); put8(o, id); put8(o, control); putn(o, data, n);
}

static void command(struct out *o, unsigned id, unsigned field, int with_dataset)
{
	struct out c = { .n = 0 };
	unsigned char v[2];

	implicit_el(&c, 0x0000, 0x0002, "1.2.840.10008.5.1.4.1.1.2", 26);
	v[0] = field & 0xff; v[1] = field >> 8;
	implicit_el(&c, 0x0000, 0x0100, v, 2);
	implicit_el(&c, 0x0000, 0x0110, "\1\0", 2);
	implicit_el(&c, 0x0000, 0x0800, with_dataset ? "\0\0" : "\1\1", 2);
	pdv(o, id, 3, c.b, c.n);
}

static void test_built_association(void)
{
	static struct out o, d;
	struct detect_stream s;
	size_t got;

	o.n = 0;
	associate_ac(&o, 1, "1.2.840.10008.1.2.1");
	associate_ac(&o, 3, "1.2.840.10008.1.2.2");   /* big endian: unread */
	command(&o, 0, 0x8030, 0);                     /* C-ECHO-RSP */
	command(&o, 1, 0x8020, 1);                     /* C-FIND-RSP + dataset */
	d.n = 0;
	explicit_el(&d, 0x0008, 0x0052, "CS", "PATIENT ", 8);
	explicit_el(&d, 0x0010, 0x0010, "PN", "Doe^J ", 6);
	pdv(&o, 1, 0, d.b, d.n);                       /* first fragment */
	d.n = 0;
	explicit_el(&d, 0x0010, 0x0020, "LO", " 4711 ", 6);
	pdv(&o, 1, 2, d.b, d.n);                       /* last fragment */
	command(&o, 3, 0x0001, 1);                     /* C-STORE-RQ, BE dataset */
	pdv(&o, 3, 2, "\0\x10\0\x20LO\0\x04" "4712", 12);
	command(&o, 1, 0x0020, 1);                     /* C-FIND-RQ with a wildcard */
	d.n = 0;
	explicit_el(&d, 0x0010, 0x0020, "LO", "47*", 4);
	pdv(&o, 1, 2, d.b, d.n);
	command(&o, 1, 0x1234, 0);                     /* unknown command */
	put8(&o, 5); put8(&o, 0); put32be(&o, 4); put32be(&o, 0);   /* release */

	for (size_t cut = 0; cut <= o.n; cut++) {
		detect_stream_init(&s, DETECT_DICOM);
		got = detect_stream_feed(&s, o.b, cut, msgs, 8);
		got += detect_stream_feed(&s, o.b + cut, o.n - cut, msgs + got, 8 - got);
		CHECK_INT(got, 5);
		CHECK_STR(msgs[0].message_type, "C-ECHO-RSP");
		CHECK_STR(msgs[0].patient, "");
		CHECK_STR(msgs[1].message_type, "C-FIND-RSP");
		CHECK_STR(msgs[1].patient, "4711");
		CHECK_STR(msgs[2].message_type, "C-STORE-RQ");
		CHECK_STR(msgs[2].patient, "");
		CHECK_INT(msgs[2].flags, DETECT_FLAG_UNSCANNED);
		CHECK_STR(msgs[3].message_type, "C-FIND-RQ");
		CHECK_STR(msgs[3].patient, "");
		CHECK_STR(msgs[4].message_type, "DIMSE 0x1234");
		CHECK(detect_stream_gave_up(&s) == NULL);
	}
}

static void test_associate_limit(void)
{
	static struct out o;
	struct detect_stream s;
	size_t item = DETECT_DICOM_ASSOCIATE_MAX - 68 - 4;

	o.n = 0;
	put8(&o, 1); put8(&o, 0); put32be(&o, DETECT_DICOM_ASSOCIATE_MAX);
	for (int i = 0; i < 68; i++)
		put8(&o, 0);
	put8(&o, 0x10); put8(&o, 0); put16be(&o, item);
	memset(o.b + o.n, 'x', item);
	o.n += item;
	command(&o, 1, 0x0030, 0);
	detect_stream_init(&s, DETECT_DICOM);
	CHECK_INT(detect_stream_feed(&s, o.b, o.n, msgs, 8), 1);
	CHECK_STR(msgs[0].message_type, "C-ECHO-RQ");
	CHECK(detect_stream_gave_up(&s) == NULL);

	o.n = 0;
	put8(&o, 1); put8(&o, 0); put32be(&o, DETECT_DICOM_ASSOCIATE_MAX + 1);
	detect_stream_init(&s, DETECT_DICOM);
	CHECK_INT(detect_stream_feed(&s, o.b, o.n, msgs, 8), 0);
	CHECK_STR(detect_stream_gave_up(&s), "DICOM: bad A-ASSOCIATE length");
}

static void test_malformed_pdus(void)
{
	static const struct {
		const char *bytes;
		size_t n;
		const char *why;
	} bad[] = {
		{ "\x01\x00\x00\x00\x00\x10", 6, "DICOM: bad A-ASSOCIATE length" },
		{ "\x04\x00\x00\x00\x00\x06\x00\x00\x00\x01\x01\x03", 12, "DICOM: bad PDV length" },
		{ "\x04\x00\x00\x00\x00\x06\x00\x00\x00\x09\x01\x03", 12, "DICOM: bad PDV length" },
		{ "\x04\x00\x00\x00\x00\x04\x00\x00\x00\x02", 10, "DICOM: PDU ends inside an item" },
		{ "\x04\x00\x00\x00\x00\x0e\x00\x00\x00\x0a\x01\x03\xfe\xff\x00\xe0\x00\x00\x00\x00",
		  20, "DICOM: item or delimiter out of place" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct detect_stream s;

		detect_stream_init(&s, DETECT_DICOM);
		CHECK_INT(detect_stream_feed(&s, bad[i].bytes, bad[i].n, msgs, 8), 0);
		CHECK_STR(detect_stream_gave_up(&s), bad[i].why);
	}
	/* an unknown PDU type after a good start (0x01 0x00 chose network) */
	struct detect_stream s;
	static struct out o;

	o.n = 0;
	command(&o, 1, 0x0030, 0);
	put8(&o, 9); put8(&o, 0); put32be(&o, 0);
	detect_stream_init(&s, DETECT_DICOM);
	CHECK_INT(detect_stream_feed(&s, o.b, o.n, msgs, 8), 1);
	CHECK_STR(detect_stream_gave_up(&s), "DICOM: unknown PDU type");
}

/* Found by fuzz_detect_dicom: an item longer than what is left of its PDU
   gave up differently when fed whole and when fed byte by byte. */
static void test_item_longer_than_pdu_any_split(void)
{
	static struct out o;

	o.n = 0;
	put8(&o, 1); put8(&o, 0); put32be(&o, 68 + 4 + 4);
	for (int i = 0; i < 68; i++)
		put8(&o, 0);
	put8(&o, 0x10); put8(&o, 0); put16be(&o, 5);   /* 5 > 4 left */
	putn(&o, "1.2.", 4);
	for (size_t step = 1; step <= o.n; step++) {
		struct detect_stream s;

		detect_stream_init(&s, DETECT_DICOM);
		for (size_t i = 0; i < o.n; i += step)
			detect_stream_feed(&s, o.b + i, i + step > o.n ? o.n - i : step, msgs, 8);
		CHECK_STR(detect_stream_gave_up(&s), "DICOM: item longer than its PDU");
	}
}

int main(void)
{
	RUN(test_real_files);
	RUN(test_file_stream_every_split);
	RUN(test_file_stream_ends_early);
	RUN(test_nesting_limit);
	RUN(test_elements_limit);
	RUN(test_malformed_files);
	RUN(test_real_storescu);
	RUN(test_built_association);
	RUN(test_associate_limit);
	RUN(test_malformed_pdus);
	RUN(test_item_longer_than_pdu_any_split);
	return unit_done();
}
