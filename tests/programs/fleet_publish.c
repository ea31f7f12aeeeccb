/*
 * fleet_publish.c - a test publisher that puts one message on a NATS
 * subject exactly as told, to play a host that lies or a network that
 * alters what it carries (tests/e2e/fleet_bad_input.sh).
 *
 *   fleet_publish URL SUBJECT DATAFILE [Header:Value ...]
 *
 * DATAFILE's bytes are the message data ("-": none). A plain NATS publish
 * (the stream stores whatever arrives on its subjects); exits 0 once the
 * server has the message (flushed), 1 on any error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

int main(int argc, char **argv)
{
	static char data[4 << 20];
	natsConnection *nc = NULL;
	natsMsg *msg = NULL;
	size_t len = 0;
	natsStatus s;
	int i;

	if (argc < 4) {
		fprintf(stderr, "usage: fleet_publish URL SUBJECT DATAFILE [H:V ...]\n");
		return 1;
	}
	if (strcmp(argv[3], "-") != 0) {
		FILE *f = fopen(argv[3], "rb");

		if (f == NULL) {
			perror(argv[3]);
			return 1;
		}
		len = fread(data, 1, sizeof(data), f);
		fclose(f);
	}
	s = natsConnection_ConnectTo(&nc, argv[1]);
	if (s == NATS_OK)
		s = natsMsg_Create(&msg, argv[2], NULL, data, (int)len);
	for (i = 4; s == NATS_OK && i < argc; i++) {
		char *colon = strchr(argv[i], ':');

		if (colon == NULL) {
			fprintf(stderr, "header %s: expected Name:Value\n", argv[i]);
			return 1;
		}
		*colon = '\0';
		s = natsMsgHeader_Set(msg, argv[i], colon + 1);
	}
	if (s == NATS_OK)
		s = natsConnection_PublishMsg(nc, msg);
	if (s == NATS_OK)
		s = natsConnection_FlushTimeout(nc, 5000);
	if (s != NATS_OK)
		fprintf(stderr, "fleet_publish: %s\n", natsStatus_GetText(s));
	natsMsg_Destroy(msg);
	natsConnection_Destroy(nc);
	nats_Close();
	return s == NATS_OK ? 0 : 1;
}
