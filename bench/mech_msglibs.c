/* SPDX-License-Identifier: MIT */
/*
 * mech_msglibs.c - messaging libraries users pick for local IPC: ZeroMQ
 * (PUSH/PULL for throughput, PAIR for round trips) and nng (push0/pull0,
 * pair1), both over ipc://, when configure found them. Each process makes
 * its own context after fork, as both libraries require. Without them,
 * the cases say why they did not run.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#if defined(HAVE_ZMQ) || defined(HAVE_NNG)
/* ipc:// endpoints: a socket file per case, named by the parent's pid. */
static void endpoint(char *buf, size_t n, const char *lib, const char *what)
{
	snprintf(buf, n, "ipc:///tmp/mapq-bench.%d.%s.%s", (int)getppid(), lib, what);
}
#endif

#ifdef HAVE_ZMQ
#include <zmq.h>

struct zctx {
	void *ctx, *sock;
};

static int zopen(struct zctx *z, int type, const char *ep, bool bind)
{
	int ms = 20000; /* a lost message fails the case, not hangs it */
	z->ctx = zmq_ctx_new();
	z->sock = z->ctx ? zmq_socket(z->ctx, type) : NULL;
	if (!z->sock || zmq_setsockopt(z->sock, ZMQ_RCVTIMEO, &ms, sizeof(ms)))
		return -1;
	return bind ? zmq_bind(z->sock, ep) : zmq_connect(z->sock, ep);
}

static void zclose(struct zctx *z)
{
	if (z->sock)
		zmq_close(z->sock); /* lingers until queued messages are sent */
	if (z->ctx)
		zmq_ctx_term(z->ctx);
}

static int z_produce(void *ctx, int w, const struct bench_tp_case *c)
{
	(void)ctx;
	char ep[128];
	static uint8_t buf[BENCH_MAX_SIZE];
	struct zctx z = { 0 };
	endpoint(ep, sizeof(ep), "zmq", "tp");
	int rc = zopen(&z, ZMQ_PUSH, ep, false);
	for (uint64_t i = 0; rc == 0 && i < c->count; i++) {
		bench_pay_fill(buf, c->size, (unsigned)w, i);
		if (zmq_send(z.sock, buf, c->size, 0) != (int)c->size)
			rc = -1;
	}
	if (rc)
		fprintf(stderr, "mapq-bench: zeromq push: %s\n", zmq_strerror(zmq_errno()));
	/* Closing while messages were still in flight lost the last few
	 * hundred to few thousand 8-byte messages in most runs here, with
	 * ZMQ_LINGER -1 and ZMQ_IMMEDIATE too (libzmq 4.3): stay connected
	 * until the consumer has them all. */
	bench_wait_consumers();
	zclose(&z);
	return rc;
}

static int z_consume(void *ctx, int id, const struct bench_tp_case *c, struct bench_tp_report *r)
{
	(void)ctx, (void)id;
	char ep[128];
	static uint8_t buf[BENCH_MAX_SIZE];
	struct zctx z = { 0 };
	struct bench_seqcheck sc = { { 0 } };
	endpoint(ep, sizeof(ep), "zmq", "tp");
	unlink(ep + 6);
	if (zopen(&z, ZMQ_PULL, ep, true)) {
		snprintf(r->why, sizeof(r->why), "bind %.60s: %.60s", ep,
			 zmq_strerror(zmq_errno()));
		r->failed = 1;
		return -1;
	}
	bench_ready();
	uint64_t t0 = 0;
	for (uint64_t i = 0; i < c->count; i++) {
		int n = zmq_recv(z.sock, buf, sizeof(buf), 0);
		if (i == 0)
			t0 = bench_now_ns();
		if (n < 0 ||
		    bench_seq_accept(&sc, buf, (size_t)n, c->size, r->why, sizeof(r->why))) {
			if (n < 0)
				snprintf(r->why, sizeof(r->why), "recv %llu of %llu: %.80s",
					 (unsigned long long)i, (unsigned long long)c->count,
					 zmq_strerror(zmq_errno()));
			r->failed = 1;
			return -1;
		}
	}
	bench_tp_done(r, t0, c->count);
	zclose(&z);
	unlink(ep + 6);
	return 0;
}

static int z_pong(void *ctx, const struct bench_lat_case *c)
{
	(void)ctx;
	char ep[128];
	static uint8_t buf[BENCH_MAX_SIZE];
	struct zctx z = { 0 };
	endpoint(ep, sizeof(ep), "zmq", "lat");
	unlink(ep + 6);
	if (zopen(&z, ZMQ_PAIR, ep, true))
		return -1;
	bench_ready();
	int rc = 0;
	for (uint64_t i = 0; rc == 0 && i < c->warmup + c->iters; i++) {
		int n = zmq_recv(z.sock, buf, sizeof(buf), 0);
		if (n != (int)c->size || zmq_send(z.sock, buf, c->size, 0) != (int)c->size)
			rc = -1;
	}
	zclose(&z);
	unlink(ep + 6);
	return rc;
}

static int z_ping(void *ctx, const struct bench_lat_case *c, uint64_t *rtt)
{
	(void)ctx;
	char ep[128];
	static uint8_t buf[BENCH_MAX_SIZE], in[BENCH_MAX_SIZE];
	struct zctx z = { 0 };
	endpoint(ep, sizeof(ep), "zmq", "lat");
	int rc = zopen(&z, ZMQ_PAIR, ep, false);
	for (uint64_t i = 0; rc == 0 && i < c->warmup + c->iters; i++) {
		bench_pay_fill(buf, c->size, 0, i);
		uint64_t t0 = bench_now_ns();
		unsigned w;
		uint64_t seq;
		if (zmq_send(z.sock, buf, c->size, 0) != (int)c->size ||
		    zmq_recv(z.sock, in, sizeof(in), 0) != (int)c->size ||
		    bench_pay_check(in, c->size, &w, &seq) || seq != i) {
			rc = -1;
			break;
		}
		if (i >= c->warmup)
			rtt[i - c->warmup] = bench_now_ns() - t0;
	}
	zclose(&z);
	return rc;
}

static void z_throughput(const struct bench_tp_case *c, struct bench_tp_result *out)
{
	bench_run_throughput(c, NULL, z_produce, z_consume, out);
}

static void z_latency(const struct bench_lat_case *c, struct bench_lat_result *out)
{
	bench_run_latency(c, NULL, z_ping, z_pong, out);
}
#else
static void z_throughput(const struct bench_tp_case *c, struct bench_tp_result *out)
{
	(void)c;
	memset(out, 0, sizeof(*out));
	snprintf(out->why, sizeof(out->why),
		 "built without libzmq (apt-get install libzmq3-dev, then configure again)");
}

static void z_latency(const struct bench_lat_case *c, struct bench_lat_result *out)
{
	(void)c;
	memset(out, 0, sizeof(*out));
	snprintf(out->why, sizeof(out->why),
		 "built without libzmq (apt-get install libzmq3-dev, then configure again)");
}
#endif

#ifdef HAVE_NNG
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/supplemental/util/platform.h>

#define RECV_TIMEOUT_MS 20000 /* a lost message fails the case, not hangs it */

static int n_produce(void *ctx, int w, const struct bench_tp_case *c)
{
	(void)ctx;
	char ep[128];
	static uint8_t buf[BENCH_MAX_SIZE];
	nng_socket s;
	endpoint(ep, sizeof(ep), "nng", "tp");
	int rc = nng_push0_open(&s);
	if (!rc)
		rc = nng_dial(s, ep, NULL, 0);
	for (uint64_t i = 0; rc == 0 && i < c->count; i++) {
		bench_pay_fill(buf, c->size, (unsigned)w, i);
		rc = nng_send(s, buf, c->size, 0);
	}
	if (rc)
		fprintf(stderr, "mapq-bench: nng push: %s\n", nng_strerror(rc));
	/* nng_close drops what is still queued: give the pull side time to
	 * take everything first (it counts only what it checked). */
	nng_msleep(200);
	nng_close(s);
	return rc;
}

static int n_consume(void *ctx, int id, const struct bench_tp_case *c, struct bench_tp_report *r)
{
	(void)ctx, (void)id;
	char ep[128];
	static uint8_t buf[BENCH_MAX_SIZE];
	nng_socket s;
	struct bench_seqcheck sc = { { 0 } };
	endpoint(ep, sizeof(ep), "nng", "tp");
	unlink(ep + 6);
	int rc = nng_pull0_open(&s);
	if (!rc)
		rc = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, RECV_TIMEOUT_MS);
	if (!rc)
		rc = nng_listen(s, ep, NULL, 0);
	if (rc) {
		snprintf(r->why, sizeof(r->why), "listen %.60s: %.60s", ep, nng_strerror(rc));
		r->failed = 1;
		return -1;
	}
	bench_ready();
	uint64_t t0 = 0;
	for (uint64_t i = 0; i < c->count; i++) {
		size_t n = sizeof(buf);
		rc = nng_recv(s, buf, &n, 0);
		if (i == 0)
			t0 = bench_now_ns();
		if (rc || bench_seq_accept(&sc, buf, n, c->size, r->why, sizeof(r->why))) {
			if (rc)
				snprintf(r->why, sizeof(r->why), "recv: %.100s", nng_strerror(rc));
			r->failed = 1;
			return -1;
		}
	}
	bench_tp_done(r, t0, c->count);
	nng_close(s);
	unlink(ep + 6);
	return 0;
}

static int n_pong(void *ctx, const struct bench_lat_case *c)
{
	(void)ctx;
	char ep[128];
	static uint8_t buf[BENCH_MAX_SIZE];
	nng_socket s;
	endpoint(ep, sizeof(ep), "nng", "lat");
	unlink(ep + 6);
	int rc = nng_pair1_open(&s);
	if (!rc)
		rc = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, RECV_TIMEOUT_MS);
	if (!rc)
		rc = nng_listen(s, ep, NULL, 0);
	if (rc)
		return -1;
	bench_ready();
	for (uint64_t i = 0; rc == 0 && i < c->warmup + c->iters; i++) {
		size_t n = sizeof(buf);
		rc = nng_recv(s, buf, &n, 0);
		if (!rc)
			rc = n == c->size ? nng_send(s, buf, n, 0) : -1;
	}
	nng_msleep(100); /* let the last reply leave before closing */
	nng_close(s);
	unlink(ep + 6);
	return rc;
}

static int n_ping(void *ctx, const struct bench_lat_case *c, uint64_t *rtt)
{
	(void)ctx;
	char ep[128];
	static uint8_t buf[BENCH_MAX_SIZE], in[BENCH_MAX_SIZE];
	nng_socket s;
	endpoint(ep, sizeof(ep), "nng", "lat");
	int rc = nng_pair1_open(&s);
	if (!rc)
		rc = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, RECV_TIMEOUT_MS);
	if (!rc)
		rc = nng_dial(s, ep, NULL, 0);
	for (uint64_t i = 0; rc == 0 && i < c->warmup + c->iters; i++) {
		bench_pay_fill(buf, c->size, 0, i);
		uint64_t t0 = bench_now_ns();
		size_t n = sizeof(in);
		unsigned w;
		uint64_t seq;
		rc = nng_send(s, buf, c->size, 0);
		if (!rc)
			rc = nng_recv(s, in, &n, 0);
		if (!rc && (n != c->size || bench_pay_check(in, n, &w, &seq) || seq != i))
			rc = -1;
		if (!rc && i >= c->warmup)
			rtt[i - c->warmup] = bench_now_ns() - t0;
	}
	nng_close(s);
	return rc;
}

static void n_throughput(const struct bench_tp_case *c, struct bench_tp_result *out)
{
	bench_run_throughput(c, NULL, n_produce, n_consume, out);
}

static void n_latency(const struct bench_lat_case *c, struct bench_lat_result *out)
{
	bench_run_latency(c, NULL, n_ping, n_pong, out);
}
#else
static void n_throughput(const struct bench_tp_case *c, struct bench_tp_result *out)
{
	(void)c;
	memset(out, 0, sizeof(*out));
	snprintf(out->why, sizeof(out->why),
		 "built without nng (apt-get install libnng-dev, then configure again)");
}

static void n_latency(const struct bench_lat_case *c, struct bench_lat_result *out)
{
	(void)c;
	memset(out, 0, sizeof(*out));
	snprintf(out->why, sizeof(out->why),
		 "built without nng (apt-get install libnng-dev, then configure again)");
}
#endif

const struct bench_mech bench_zeromq = {
	.name = "zeromq",
	.what = "ZeroMQ over ipc://: PUSH/PULL, PAIR for round trips",
	.throughput = z_throughput,
	.latency = z_latency,
};

const struct bench_mech bench_nng = {
	.name = "nng",
	.what = "nng over ipc://: push0/pull0, pair1 for round trips",
	.throughput = n_throughput,
	.latency = n_latency,
};
