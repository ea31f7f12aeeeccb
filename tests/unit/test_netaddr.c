/*
 * test_netaddr.c - address rules (netaddr.c): the grammar at each limit
 * and one past it, matching of IPv4, IPv6, v4-mapped, CIDR, port ranges,
 * Unix paths and abstract names, targets as records write them, and the
 * "FILE:LINE:" errors of the configuration.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/un.h>

#include "config.h"
#include "netaddr.h"
#include "unit.h"

static struct netaddr a;

static const char *problem(const char *text, int accept, int is_unix)
{
	const char *why = NULL;

	if (netaddr_parse(&a, text, accept, is_unix, &why) == 0)
		return "OK";
	return why;
}

static struct sockaddr_in in4(const char *ip, unsigned port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

static struct sockaddr_in6 in6(const char *ip, unsigned port)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };

	inet_pton(AF_INET6, ip, &s.sin6_addr);
	return s;
}

static int match4(const char *rule, const char *ip, unsigned port)
{
	struct sockaddr_in s = in4(ip, port);

	if (netaddr_parse(&a, rule, 1, 0, NULL) != 0)
		return -1;
	return netaddr_match(&a, (struct sockaddr *)&s, sizeof(s));
}

static int match6(const char *rule, const char *ip, unsigned port)
{
	struct sockaddr_in6 s = in6(ip, port);

	if (netaddr_parse(&a, rule, 1, 0, NULL) != 0)
		return -1;
	return netaddr_match(&a, (struct sockaddr *)&s, sizeof(s));
}

static socklen_t un_path(struct sockaddr_un *s, const char *path, int abstract)
{
	size_t len = strlen(path);

	memset(s, 0, sizeof(*s));
	s->sun_family = AF_UNIX;
	if (abstract) {
		memcpy(s->sun_path + 1, path, len);
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
	}
	memcpy(s->sun_path, path, len);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

static void test_ports(void)
{
	CHECK_STR(problem("10.0.0.5:1", 0, 0), "OK");
	CHECK_STR(problem("10.0.0.5:65535", 0, 0), "OK");
	CHECK_STR(problem("10.0.0.5:0", 0, 0), "port must be a number from 1 to 65535");
	CHECK_STR(problem("10.0.0.5:65536", 0, 0), "port must be a number from 1 to 65535");
	CHECK_STR(problem("10.0.0.5:0065535", 0, 0), "port must be a number from 1 to 65535");
	CHECK_STR(problem("10.0.0.5:", 0, 0), "port must be a number from 1 to 65535");
	CHECK_STR(problem("10.0.0.5:+80", 0, 0), "port must be a number from 1 to 65535");
	CHECK_STR(problem("10.0.0.5:2570-2580", 0, 0), "OK");
	CHECK_INT(a.port_low, 2570);
	CHECK_INT(a.port_high, 2580);
	CHECK_STR(problem("10.0.0.5:80-80", 0, 0), "OK");
	CHECK_STR(problem("10.0.0.5:81-80", 0, 0), "port range must run from low to high");
	CHECK_STR(problem("10.0.0.5:80-", 0, 0), "port must be a number from 1 to 65535");
	CHECK_STR(problem("10.0.0.5:1-65536", 0, 0), "port must be a number from 1 to 65535");
	CHECK_STR(problem("10.0.0.5:*", 0, 0), "OK");
	CHECK_INT(a.port_low, 1);
	CHECK_INT(a.port_high, 65535);
	CHECK_INT(match4("10.0.0.5:2570-2580", "10.0.0.5", 2569), 0);
	CHECK_INT(match4("10.0.0.5:2570-2580", "10.0.0.5", 2570), 1);
	CHECK_INT(match4("10.0.0.5:2570-2580", "10.0.0.5", 2580), 1);
	CHECK_INT(match4("10.0.0.5:2570-2580", "10.0.0.5", 2581), 0);
	CHECK_INT(match4("10.0.0.5:*", "10.0.0.5", 1), 1);
	CHECK_INT(match4("10.0.0.5:*", "10.0.0.6", 1), 0);
}

static void test_ipv4(void)
{
	CHECK_STR(problem("255.255.255.255:1", 0, 0), "OK");
	CHECK_STR(problem("256.0.0.1:1", 0, 0), "not an IPv4 address");
	CHECK_STR(problem("1.2.3:1", 0, 0), "not an IPv4 address");
	CHECK_STR(problem("1.2.3.4.5:1", 0, 0), "not an IPv4 address");
	CHECK_STR(problem("1..3.4:1", 0, 0), "not an IPv4 address");
	CHECK_STR(problem("0001.2.3.4:1", 0, 0), "not an IPv4 address");
	CHECK_STR(problem("ehr.example.org:443", 0, 0),
		  "HOST must be a numeric address, CIDR or * (names are not resolved)");
	CHECK_STR(problem("10.0.0.0/8:2575", 0, 0), "OK");
	CHECK_STR(problem("10.0.0.0/0:1", 0, 0), "address has bits set past its prefix length");
	CHECK_STR(problem("0.0.0.0/0:1", 0, 0), "OK");
	CHECK_STR(problem("10.0.0.1/32:1", 0, 0), "OK");
	CHECK_STR(problem("10.0.0.1/33:1", 0, 0), "prefix length must be 0 to 32");
	CHECK_STR(problem("10.0.0.1/:1", 0, 0), "prefix length must be 0 to 32");
	CHECK_STR(problem("10.0.0.1/8:1", 0, 0), "address has bits set past its prefix length");
	CHECK_STR(problem("10.0.0.5", 0, 0), "expected HOST:PORT");
	CHECK_STR(problem(":80", 0, 0), "expected HOST:PORT");
	CHECK_STR(problem("*:80", 0, 0), "OK");
	CHECK_INT(match4("10.0.0.0/8:2575", "10.255.1.2", 2575), 1);
	CHECK_INT(match4("10.0.0.0/8:2575", "11.0.0.0", 2575), 0);
	CHECK_INT(match4("10.128.0.0/9:1", "10.127.255.255", 1), 0);
	CHECK_INT(match4("10.128.0.0/9:1", "10.128.0.0", 1), 1);
	CHECK_INT(match4("192.168.1.0/31:1", "192.168.1.1", 1), 1);
	CHECK_INT(match4("192.168.1.0/31:1", "192.168.1.2", 1), 0);
	CHECK_INT(match4("0.0.0.0/0:7", "203.0.113.9", 7), 1);
	CHECK_INT(match4("*:7", "203.0.113.9", 7), 1);
	CHECK_INT(match6("*:7", "2001:db8::1", 7), 1);
	/* v4-mapped addresses match IPv4 rules, not IPv6 ones */
	CHECK_INT(match6("127.0.0.1:80", "::ffff:127.0.0.1", 80), 1);
	CHECK_INT(match6("[::ffff:127.0.0.1]:80", "::ffff:127.0.0.1", 80), 0);
	CHECK_INT(match4("[::1]:80", "127.0.0.1", 80), 0);
}

static void test_ipv6(void)
{
	CHECK_STR(problem("[::1]:8080", 0, 0), "OK");
	CHECK_STR(problem("[::1:8080", 0, 0), "'[' without ']' around an IPv6 address");
	CHECK_STR(problem("::1:8080", 0, 0), "write an IPv6 address in brackets: [ADDRESS]:PORT");
	CHECK_STR(problem("[::1]", 0, 0), "expected HOST:PORT");
	CHECK_STR(problem("[]:80", 0, 0), "not an IPv6 address");
	CHECK_STR(problem("[fe80::1%eth0]:80", 0, 0), "not an IPv6 address");
	CHECK_STR(problem("[::g]:80", 0, 0), "not an IPv6 address");
	CHECK_STR(problem("[::1]x:80", 0, 0), "expected [ADDRESS]:PORT");
	CHECK_STR(problem("[fe80::/10]:443", 0, 0), "OK");
	CHECK_INT(a.prefix_bits, 10);
	CHECK_STR(problem("[fe80::]/10:443", 0, 0), "OK");
	CHECK_INT(a.prefix_bits, 10);
	CHECK_STR(problem("[::/0]:443", 0, 0), "OK");
	CHECK_STR(problem("[::1/128]:443", 0, 0), "OK");
	CHECK_STR(problem("[::1/129]:443", 0, 0), "prefix length must be 0 to 128");
	CHECK_STR(problem("[fe80::1/10]:443", 0, 0), "address has bits set past its prefix length");
	CHECK_INT(match6("[::1]:8080", "::1", 8080), 1);
	CHECK_INT(match6("[::1]:8080", "::2", 8080), 0);
	CHECK_INT(match6("[fe80::/10]:443", "febf:ffff::1", 443), 1);
	CHECK_INT(match6("[fe80::/10]:443", "fec0::1", 443), 0);
	CHECK_INT(match6("[2001:db8::/127]:1", "2001:db8::1", 1), 1);
	CHECK_INT(match6("[2001:db8::/127]:1", "2001:db8::2", 1), 0);
}

static void test_accept(void)
{
	CHECK_STR(problem(":2575", 1, 0), "OK");
	CHECK_INT(a.family, NETADDR_ANY);
	CHECK_STR(problem("2575", 1, 0), "OK");
	CHECK_STR(problem("2570-2580", 1, 0), "OK");
	CHECK_STR(problem("0.0.0.0:2576", 1, 0), "OK");
	CHECK_STR(problem("[::1]:2577", 1, 0), "OK");
	CHECK_STR(problem("fe80::1:80", 1, 0), "write an IPv6 address in brackets: [ADDRESS]:PORT");
	CHECK_STR(problem("2575", 0, 0), "expected HOST:PORT");
	CHECK_STR(problem("10.0.0.1", 1, 0), "expected [ADDRESS]:PORT");
	CHECK_INT(match4(":2575", "127.0.0.1", 2575), 1);
	CHECK_INT(match6(":2575", "::1", 2575), 1);
	CHECK_INT(match6(":2575", "::1", 2576), 0);
	/* 0.0.0.0 is the address 0.0.0.0, not "any" */
	CHECK_INT(match4("0.0.0.0:2576", "127.0.0.1", 2576), 0);
}

static void test_unix(void)
{
	struct sockaddr_un s;
	socklen_t len;
	size_t max = sizeof(s.sun_path) - 1;
	char path[sizeof(s.sun_path) + 2];

	CHECK_STR(problem("/run/x.sock", 0, 1), "OK");
	CHECK_STR(problem("run/x.sock", 0, 1), "must be an absolute path or @abstract-name");
	CHECK_STR(problem("@", 0, 1), "an abstract name needs at least one byte after '@'");
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[max] = '\0';                         /* 107 bytes: fits */
	CHECK_STR(problem(path, 0, 1), "OK");
	path[max] = 'a';
	path[max + 1] = '\0';                     /* 108: one past */
	CHECK_STR(problem(path, 0, 1), "is longer than a socket path (107 bytes)");

	CHECK_STR(problem("/run/*.sock", 0, 1), "OK");
	len = un_path(&s, "/run/hl7.sock", 0);
	CHECK_INT(netaddr_match(&a, (struct sockaddr *)&s, len), 1);
	len = un_path(&s, "/run/sub/hl7.sock", 0);
	CHECK_INT(netaddr_match(&a, (struct sockaddr *)&s, len), 0);
	/* a path sun_path fills without a NUL is still read within salen */
	memset(&s, 0, sizeof(s));
	s.sun_family = AF_UNIX;
	memset(s.sun_path, 'b', sizeof(s.sun_path));
	s.sun_path[0] = '/';
	CHECK_INT(netaddr_match(&a, (struct sockaddr *)&s, sizeof(s)), 0);

	CHECK_STR(problem("@phitrail/*", 0, 1), "OK");
	len = un_path(&s, "phitrail/feed", 1);
	CHECK_INT(netaddr_match(&a, (struct sockaddr *)&s, len), 1);
	len = un_path(&s, "/phitrail/feed", 0);  /* a path is not the name */
	CHECK_INT(netaddr_match(&a, (struct sockaddr *)&s, len), 0);
	/* unnamed and short addresses never match */
	CHECK_INT(netaddr_match(&a, (struct sockaddr *)&s, sizeof(sa_family_t)), 0);
	CHECK_INT(netaddr_match(&a, (struct sockaddr *)&s, 1), 0);
	/* an internet address never matches a unix rule, nor the reverse */
	{
		struct sockaddr_in i = in4("127.0.0.1", 80);

		CHECK_INT(netaddr_match(&a, (struct sockaddr *)&i, sizeof(i)), 0);
		CHECK_STR(problem("*:*", 0, 0), "OK");
		len = un_path(&s, "/x", 0);
		CHECK_INT(netaddr_match(&a, (struct sockaddr *)&s, len), 0);
		/* a short sockaddr_in is not read */
		CHECK_INT(netaddr_match(&a, (struct sockaddr *)&i, sizeof(i) - 1), 0);
	}
}

static void test_format(void)
{
	struct sockaddr_in i = in4("10.0.0.5", 2575);
	struct sockaddr_in6 i6 = in6("::1", 8080), m = in6("::ffff:127.0.0.1", 80);
	struct sockaddr_un s;
	char out[NETADDR_TEXT_MAX];
	socklen_t len;

	CHECK_INT(netaddr_format((struct sockaddr *)&i, sizeof(i), "tcp", out, sizeof(out)), 17);
	CHECK_STR(out, "tcp:10.0.0.5:2575");
	netaddr_format((struct sockaddr *)&i6, sizeof(i6), "tcp", out, sizeof(out));
	CHECK_STR(out, "tcp:[::1]:8080");
	netaddr_format((struct sockaddr *)&m, sizeof(m), "udp", out, sizeof(out));
	CHECK_STR(out, "udp:127.0.0.1:80");
	len = un_path(&s, "/run/x.sock", 0);
	netaddr_format((struct sockaddr *)&s, len, "tcp", out, sizeof(out));
	CHECK_STR(out, "unix:/run/x.sock");
	len = un_path(&s, "name", 1);
	netaddr_format((struct sockaddr *)&s, len, "tcp", out, sizeof(out));
	CHECK_STR(out, "unix:@name");
	netaddr_format((struct sockaddr *)&s, sizeof(sa_family_t), "tcp", out, sizeof(out));
	CHECK_STR(out, "unix:");
	s.sun_family = AF_NETLINK;
	CHECK_INT(netaddr_format((struct sockaddr *)&s, sizeof(s), "tcp", out, sizeof(out)),
		  -EAFNOSUPPORT);
	CHECK_INT(netaddr_format((struct sockaddr *)&i, sizeof(i) - 1, "tcp", out, sizeof(out)),
		  -EINVAL);
	/* cut to the buffer, always terminated */
	CHECK_INT(netaddr_format((struct sockaddr *)&i, sizeof(i), "tcp", out, 8), 7);
	CHECK_STR(out, "tcp:10.");
}

static void test_config_rules(void)
{
	static struct config cfg;
	static const char text[] =
		"[rule hl7]\nconnect = 10.0.0.0/8:2575 [::1]:2575\nprotocol = hl7\n"
		"[rule web]\naccept = :8080\n"
		"[rule sock]\nunix = /run/phi/*.sock\n";
	struct sockaddr_in i = in4("10.1.2.3", 2575);
	struct sockaddr_in6 i6 = in6("::1", 2575);
	struct sockaddr_un s;
	socklen_t len;

	CHECK_INT(config_load_string(&cfg, "phitrail.conf", text, sizeof(text) - 1), 0);
	CHECK_INT(config_match_address(&cfg, CONFIG_ADDRESS_CONNECT, (struct sockaddr *)&i, sizeof(i)), 0);
	CHECK_INT(config_match_address(&cfg, CONFIG_ADDRESS_CONNECT, (struct sockaddr *)&i6, sizeof(i6)), 0);
	CHECK_INT(config_match_address(&cfg, CONFIG_ADDRESS_ACCEPT, (struct sockaddr *)&i, sizeof(i)), -1);
	i.sin_port = htons(8080);
	CHECK_INT(config_match_address(&cfg, CONFIG_ADDRESS_ACCEPT, (struct sockaddr *)&i, sizeof(i)), 1);
	CHECK_INT(config_match_address(&cfg, CONFIG_ADDRESS_CONNECT, (struct sockaddr *)&i, sizeof(i)), -1);
	len = un_path(&s, "/run/phi/a.sock", 0);
	CHECK_INT(config_match_address(&cfg, CONFIG_ADDRESS_CONNECT, (struct sockaddr *)&s, len), 2);
	CHECK_INT(config_match_address(&cfg, CONFIG_ADDRESS_ACCEPT, (struct sockaddr *)&s, len), 2);
	CHECK_INT(config_match_address(&cfg, CONFIG_ADDRESS_CONNECT, NULL, 0), -1);
	CHECK_INT(config_address_kinds(&cfg),
		  (1u << CONFIG_ADDRESS_CONNECT) | (1u << CONFIG_ADDRESS_ACCEPT) |
		  (1u << CONFIG_ADDRESS_UNIX));

	static const char bad[] = "[rule a]\nfiles = /a\nconnect = 10.0.0.1/8:80\n";
	CHECK_INT(config_load_string(&cfg, "phitrail.conf", bad, sizeof(bad) - 1), -EINVAL);
	CHECK_STR(cfg.error, "phitrail.conf:3: bad connect address '10.0.0.1/8:80': "
		  "address has bits set past its prefix length");
	static const char name[] = "[rule a]\nconnect = localhost:80\n";
	CHECK_INT(config_load_string(&cfg, "phitrail.conf", name, sizeof(name) - 1), -EINVAL);
	CHECK_STR(cfg.error, "phitrail.conf:2: bad connect address 'localhost:80': "
		  "HOST must be a numeric address, CIDR or * (names are not resolved)");
}

int main(void)
{
	RUN(test_ports);
	RUN(test_ipv4);
	RUN(test_ipv6);
	RUN(test_accept);
	RUN(test_unix);
	RUN(test_format);
	RUN(test_config_rules);
	return unit_done();
}
