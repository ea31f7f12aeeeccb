/*
 * test_fleet_again.c - the request to ship again (fleet_wire.h): what the
 * aggregator encodes the host decodes; the range at FLEET_AGAIN_MAX ids
 * and one past it; a store id, a number or a separator out of place; the
 * subject outside the stream's <prefix>.>.
 */
#include <errno.h>
#include <string.h>

#include "fleet_wire.h"
#include "unit.h"

#define STORE "0123456789abcdef0123456789abcdef"

static int decode(const char *text, struct fleet_again *a)
{
	return fleet_wire_again_decode((const unsigned char *)text, strlen(text), a);
}

static void test_again_round_trip(void)
{
	struct fleet_again a = { .store = STORE, .from = 7, .to = 9 }, b;
	char text[FLEET_AGAIN_TEXT_MAX + 1];
	int len = fleet_wire_again_encode(&a, text, sizeof(text));

	CHECK_INT(len, (int)strlen(STORE " 7 9"));
	CHECK_STR(text, STORE " 7 9");
	CHECK_INT(fleet_wire_again_decode((const unsigned char *)text, (size_t)len, &b), 0);
	CHECK_STR(b.store, STORE);
	CHECK_INT(b.from, 7);
	CHECK_INT(b.to, 9);
	a.from = a.to = 9223372036854775807LL;     /* the longest text */
	len = fleet_wire_again_encode(&a, text, sizeof(text));
	CHECK_INT(len, FLEET_AGAIN_TEXT_MAX);
	CHECK_INT(fleet_wire_again_decode((const unsigned char *)text, (size_t)len, &b), 0);
	CHECK_INT(b.to, 9223372036854775807LL);
}

static void test_again_limits(void)
{
	struct fleet_again a = { .store = STORE, .from = 1, .to = FLEET_AGAIN_MAX }, b;
	char text[FLEET_AGAIN_TEXT_MAX + 1];

	CHECK(fleet_wire_again_encode(&a, text, sizeof(text)) > 0);   /* at the limit */
	CHECK_INT(decode(text, &b), 0);
	CHECK_INT(b.to - b.from + 1, FLEET_AGAIN_MAX);
	a.to = FLEET_AGAIN_MAX + 1;                                     /* one past */
	CHECK_INT(fleet_wire_again_encode(&a, text, sizeof(text)), -EINVAL);
	CHECK_INT(decode(STORE " 1 4097", &b), -EPROTO);
	CHECK_INT(decode(STORE " 1 4096", &b), 0);
	CHECK_INT(decode(STORE " 9 8", &b), -EPROTO);                   /* backwards */
	CHECK_INT(decode(STORE " 0 1", &b), -EPROTO);                   /* id 0 */
	CHECK_INT(decode(STORE " 9223372036854775808 9223372036854775808", &b), -EPROTO);
	CHECK_INT(fleet_wire_again_decode((const unsigned char *)STORE " 1 1",
					  FLEET_AGAIN_TEXT_MAX + 1, &b), -EPROTO);
}

static void test_again_malformed(void)
{
	static const char *const bad[] = {
		"", STORE, STORE " ", STORE " 1", STORE " 1 ", STORE "  1 2",
		STORE " 1  2", STORE " 1 2 ", STORE " 1 2\n", STORE " 01 2",
		STORE " +1 2", STORE " 1 -2", STORE " 1 2 3", STORE "0 1 2",
		"0123456789ABCDEF0123456789abcdef 1 2",
		"0123456789abcdef0123456789abcde 1 2",
		"0123456789abcdef0123456789abcdeg 1 2",
	};
	struct fleet_again b;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(decode(bad[i], &b), -EPROTO);
	CHECK_INT(fleet_wire_again_decode((const unsigned char *)STORE " 1\0 2",
					  strlen(STORE) + 5, &b), -EPROTO);
	CHECK_INT(fleet_wire_again_decode(NULL, 0, &b), -EPROTO);
}

static void test_again_subject(void)
{
	char subject[FLEET_SUBJECT_MAX];

	CHECK_INT(fleet_wire_subject(subject, sizeof(subject), "phitrail", "ws",
				     "h1", FLEET_AGAIN), 0);
	CHECK_STR(subject, "phitrail-again.ws.h1");
	CHECK_INT(fleet_wire_subject(subject, sizeof(subject), "phitrail", "ws",
				     "h1", FLEET_RECORD), 0);
	CHECK_STR(subject, "phitrail.ws.h1");
	CHECK_INT(fleet_wire_subject(subject, 20, "phitrail", "ws", "h1",
				     FLEET_AGAIN), -ENAMETOOLONG);
}

int main(void)
{
	RUN(test_again_round_trip);
	RUN(test_again_limits);
	RUN(test_again_malformed);
	RUN(test_again_subject);
	return unit_done();
}
