/*
 * query_answer.h - answering one whole request read by query_server.c
 * (query_answer.c).
 */
#ifndef PHITRAILD_QUERY_ANSWER_H
#define PHITRAILD_QUERY_ANSWER_H

#include <stdint.h>

#include "config.h"
#include "store.h"

/* Remembers the configuration (auditors) and the store asked. */
void query_answer_start(const struct config *cfg, struct store *st);

/* Answers one whole request (len bytes) on sock, blocking for sends from
 * here on, within QUERY_SERVER_SEND_TIMEOUT_MS (query_server.h). */
void query_answer_request(int sock, const unsigned char *request, uint32_t len);

/* Sends a short error frame on a connection still non-blocking (it fits
 * the socket buffer). */
void query_answer_refuse(int sock, const char *message);

#endif
