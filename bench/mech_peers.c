/* SPDX-License-Identifier: MIT */
/*
 * mech_peers.c - what users would pick instead of mapq: a pipe, AF_UNIX
 * stream and seqpacket socket pairs, POSIX message queues. Each producer
 * makes one system call per message, as a messaging user would; each
 * consumer reads in bulk where the mechanism allows it (streams) and
 * checks every byte, as the mapq consumer does.
 */
#define _GNU_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

enum kind {
	PIPE,
	STREAM,
	SEQPACKET,
	MQ
};

struct chan {
	enum kind kind;
	int fd[2][2]; /* [direction][read end, write end] */
	char mq_name[2][64];
	size_t size;
};

static int write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t k = read(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Direction d: fd[d][0] reads, fd[d][1] writes. */
static int chan_open(struct chan *ch, int dirs)
{
	for (int d = 0; d < dirs; d++) {
		int sv[2];
		switch (ch->kind) {
		case PIPE:
			if (pipe2(ch->fd[d], O_CLOEXEC) < 0)
				return -errno;
			break;
		case STREAM:
		case SEQPACKET:
			if (socketpair(AF_UNIX,
				       (ch->kind == STREAM ? SOCK_STREAM : SOCK_SEQPACKET) |
					       SOCK_CLOEXEC,
				       0, sv) < 0)
				return -errno;
			ch->fd[d][0] = sv[0];
			ch->fd[d][1] = sv[1];
			break;
		case MQ: {
			struct mq_attr a = { .mq_maxmsg = 10, .mq_msgsize = (long)ch->size };
			snprintf(ch->mq_name[d], sizeof(ch->mq_name[d]), "/mapq-bench.%d.%d",
				 (int)getpid(), d);
			mqd_t r = mq_open(ch->mq_name[d], O_RDONLY | O_CREAT | O_EXCL, 0600, &a);
			if (r == (mqd_t)-1)
				return -errno;
			mqd_t w = mq_open(ch->mq_name[d], O_WRONLY);
			if (w == (mqd_t)-1)
				return -errno;
			ch->fd[d][0] = (int)r;
			ch->fd[d][1] = (int)w;
			break;
		}
		}
	}
	return 0;
}

static void chan_close(struct chan *ch, int dirs)
{
	for (int d = 0; d < dirs; d++) {
		close(ch->fd[d][0]);
		close(ch->fd[d][1]);
		if (ch->kind == MQ)
			mq_unlink(ch->mq_name[d]);
	}
}

/* One message out: one system call (or a few for a partial stream write). */
static int send_msg(const struct chan *ch, int d, const void *buf, size_t n)
{
	switch (ch->kind) {
	case MQ:
		return mq_send((mqd_t)ch->fd[d][1], buf, n, 0);
	case SEQPACKET:
		return send(ch->fd[d][1], buf, n, 0) == (ssize_t)n ? 0 : -1;
	default:
		return write_all(ch->fd[d][1], buf, n);
	}
}

/* One message in, exactly. */
static int recv_msg(const struct chan *ch, int d, void *buf, size_t n)
{
	switch (ch->kind) {
	case MQ:
		return mq_receive((mqd_t)ch->fd[d][0], buf, n, NULL) == (ssize_t)n ? 0 : -1;
	case SEQPACKET:
		return recv(ch->fd[d][0], buf, n, 0) == (ssize_t)n ? 0 : -1;
	default:
		return read_all(ch->fd[d][0], buf, n);
	}
}

static int produce(void *ctx, int w, const struct bench_tp_case *c)
{
	struct chan *ch = ctx;
	static uint8_t buf[BENCH_MAX_SIZE];
	close(ch->fd[0][0]);
	for (uint64_t i = 0; i < c->count; i++) {
		bench_pay_fill(buf, c->size, (unsigned)w, i);
		if (send_msg(ch, 0, buf, c->size)) {
			perror("mapq-bench: peer send");
			return -1;
		}
	}
	return 0;
}

#define BULK (256 * 1024)

static int consume(void *ctx, int id, const struct bench_tp_case *c, struct bench_tp_report *r)
{
	(void)id;
	struct chan *ch = ctx;
	struct bench_seqcheck sc = { { 0 } };
	static uint8_t buf[BULK + BENCH_MAX_SIZE];
	close(ch->fd[0][1]);
	bench_ready();
	uint64_t got = 0, t0 = 0;
	size_t have = 0;
	while (got < c->count) {
		if (ch->kind == PIPE || ch->kind == STREAM) {
			/* streams: read what is there, check every whole message */
			ssize_t k = read(ch->fd[0][0], buf + have, BULK);
			if (k <= 0) {
				snprintf(r->why, sizeof(r->why), "read: %s",
					 k ? strerror(errno) : "EOF");
				r->failed = 1;
				return -1;
			}
			have += (size_t)k;
		} else {
			if (recv_msg(ch, 0, buf, c->size)) {
				snprintf(r->why, sizeof(r->why), "receive: %s", strerror(errno));
				r->failed = 1;
				return -1;
			}
			have = c->size;
		}
		if (got == 0)
			t0 = bench_now_ns();
		size_t off = 0;
		for (; have - off >= c->size; off += c->size, got++)
			if (bench_seq_accept(&sc, buf + off, c->size, c->size, r->why,
					     sizeof(r->why))) {
				r->failed = 1;
				return -1;
			}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	bench_tp_done(r, t0, got);
	return 0;
}

static void throughput_of(enum kind k, const struct bench_tp_case *c, struct bench_tp_result *out)
{
	struct chan ch = { .kind = k, .size = c->size };
	int rc = chan_open(&ch, 1);
	if (rc) {
		memset(out, 0, sizeof(*out));
		snprintf(out->why, sizeof(out->why), "%s%s", strerror(-rc),
			 k == MQ && rc == -EINVAL
				 ? " (message size above /proc/sys/fs/mqueue/msgsize_max)"
				 : "");
		return;
	}
	bench_run_throughput(c, &ch, produce, consume, out);
	chan_close(&ch, 1);
}

/* Round trips: direction 0 carries pings, direction 1 pongs. */
static int pong(void *ctx, const struct bench_lat_case *c)
{
	struct chan *ch = ctx;
	static uint8_t buf[BENCH_MAX_SIZE];
	bench_ready();
	for (uint64_t i = 0; i < c->warmup + c->iters; i++)
		if (recv_msg(ch, 0, buf, c->size) || send_msg(ch, 1, buf, c->size))
			return -1;
	return 0;
}

static int ping(void *ctx, const struct bench_lat_case *c, uint64_t *rtt)
{
	struct chan *ch = ctx;
	static uint8_t buf[BENCH_MAX_SIZE], in[BENCH_MAX_SIZE];
	for (uint64_t i = 0; i < c->warmup + c->iters; i++) {
		bench_pay_fill(buf, c->size, 0, i);
		uint64_t t0 = bench_now_ns();
		if (send_msg(ch, 0, buf, c->size) || recv_msg(ch, 1, in, c->size))
			return -1;
		uint64_t t1 = bench_now_ns();
		unsigned w;
		uint64_t seq;
		if (bench_pay_check(in, c->size, &w, &seq) || seq != i)
			return -1;
		if (i >= c->warmup)
			rtt[i - c->warmup] = t1 - t0;
	}
	return 0;
}

static void latency_of(enum kind k, const struct bench_lat_case *c, struct bench_lat_result *out)
{
	struct chan ch = { .kind = k, .size = c->size };
	int rc = chan_open(&ch, 2);
	if (rc) {
		memset(out, 0, sizeof(*out));
		snprintf(out->why, sizeof(out->why), "%s", strerror(-rc));
		return;
	}
	bench_run_latency(c, &ch, ping, pong, out);
	chan_close(&ch, 2);
}

#define PEER(sym, k, nm, desc)                                                            \
	static void tp_##sym(const struct bench_tp_case *c, struct bench_tp_result *o)    \
	{                                                                                 \
		throughput_of(k, c, o);                                                   \
	}                                                                                 \
	static void lat_##sym(const struct bench_lat_case *c, struct bench_lat_result *o) \
	{                                                                                 \
		latency_of(k, c, o);                                                      \
	}                                                                                 \
	const struct bench_mech bench_##sym = {                                           \
		.name = nm, .what = desc, .throughput = tp_##sym, .latency = lat_##sym    \
	}

PEER(pipe, PIPE, "pipe", "pipe(2): one write per message, bulk reads");
PEER(unix_stream, STREAM, "unix-stream",
     "AF_UNIX SOCK_STREAM socketpair: one write per message, bulk reads");
PEER(unix_seqpacket, SEQPACKET, "unix-seqpacket",
     "AF_UNIX SOCK_SEQPACKET socketpair: one send and one recv per message");
PEER(posix_mq, MQ, "posix-mq", "POSIX message queue: mq_send and mq_receive per message");
