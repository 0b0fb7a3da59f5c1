/* Unit tests for netd's published-port proxy: TCP splice relay, balancing, failover, UDP flows,
 * errors, many listeners, fd and memory bounds. Loopback only; every loop and wait is bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "berth/error.h"
#include "proxy.h"

#define HOST "127.0.0.1"

/* ---- helpers run by client and backend threads (no cmocka asserts off the main thread) ---- */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

static struct sockaddr_in sa(const char *ip, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

/* A port free right now on ip (bind to 0 and read it back). */
static int free_port(const char *ip, int type)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = sa(ip, 0);
	socklen_t len = sizeof(a);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		a.sin_port = 0;
	close(fd);
	return ntohs(a.sin_port);
}

static int dial(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = sa(HOST, port);
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Reads until EOF (or max bytes); -1 on error or timeout. */
static ssize_t read_all(int fd, char *buf, size_t max)
{
	size_t got = 0;
	while (got < max) {
		ssize_t n = recv(fd, buf + got, max - got, 0);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* A blocking TCP echo server on its own thread: one connection at a time, echoing until EOF;
 * with trailer set it then writes "<bye>" before closing (for half-close tests). */
struct backend {
	char ip[16];
	int fd;
	int port;
	bool trailer;
	atomic_int accepted;
	pthread_t thread;
};

static void *backend_main(void *arg)
{
	struct backend *b = arg;
	char buf[65536];
	for (;;) {
		int c = accept4(b->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINVAL || errno == EBADF)
				return NULL; /* shut down */
			usleep(1000);
			continue;
		}
		atomic_fetch_add(&b->accepted, 1);
		struct timeval tv = {10, 0};
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ssize_t n;
		while ((n = recv(c, buf, sizeof(buf), 0)) > 0)
			if (!write_all(c, buf, (size_t)n))
				break;
		if (n == 0 && b->trailer)
			write_all(c, "<bye>", 5);
		close(c);
	}
}

static struct backend *backend_start(const char *ip, bool trailer)
{
	struct backend *b = calloc(1, sizeof(*b));
	b->trailer = trailer;
	snprintf(b->ip, sizeof(b->ip), "%s", ip);
	b->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = sa(ip, 0);
	socklen_t len = sizeof(a);
	assert_int_equal(bind(b->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(b->fd, 128), 0);
	getsockname(b->fd, (struct sockaddr *)&a, &len);
	b->port = ntohs(a.sin_port);
	pthread_create(&b->thread, NULL, backend_main, b);
	return b;
}

static void backend_stop(struct backend *b)
{
	shutdown(b->fd, SHUT_RDWR);
	pthread_join(b->thread, NULL);
	close(b->fd);
	free(b);
}

/* ---- the proxy's loop on the main thread while a scenario runs on another ---- */

struct scenario {
	void (*fn)(struct scenario *s);
	int port;	/* the published port */
	int n;		/* scenario-specific count */
	char fail[256]; /* set by the scenario thread on failure */
	atomic_bool done;
	atomic_bool ready; /* scenario_hold: connected, waiting for the proxy to close it */
	atomic_bool go;	   /* scenario_drain: finish the held connection */
};

#define SCENARIO_CHECK(s, cond)                                                                    \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			snprintf((s)->fail, sizeof((s)->fail), "%s:%d: %s (errno %s)", __FILE__,   \
				 __LINE__, #cond, strerror(errno));                                \
			return;                                                                    \
		}                                                                                  \
	} while (0)

static void *scenario_main(void *arg)
{
	struct scenario *s = arg;
	s->fn(s);
	atomic_store(&s->done, true);
	return NULL;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
}

/* Runs the loop for ms milliseconds (or until *stop, if given). */
static void loop_for(struct event_base *base, int ms, atomic_bool *stop)
{
	struct event *t = event_new(base, -1, EV_PERSIST, tick, NULL);
	struct timeval tv = {0, 5000};
	event_add(t, &tv);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		event_base_loop(base, EVLOOP_ONCE);
		if (stop && atomic_load(stop))
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
		    ms)
			break;
	}
	event_free(t);
}

static void run_scenario(struct event_base *base, struct scenario *s)
{
	pthread_t t;
	s->fail[0] = 0;
	atomic_store(&s->done, false);
	pthread_create(&t, NULL, scenario_main, s);
	loop_for(base, 90000, &s->done);
	assert_true(atomic_load(&s->done)); /* else it hung: the process exits with the thread */
	pthread_join(t, NULL);
	if (s->fail[0])
		fail_msg("%s", s->fail);
}

/* Waits (bounded) until the proxy has closed every TCP connection. */
static void settle(struct event_base *base, struct proxy *p)
{
	struct proxy_stats st;
	for (int i = 0; i < 400; i++) {
		proxy_get_stats(p, &st);
		if (st.tcp_connections == 0)
			return;
		loop_for(base, 5, NULL);
	}
	proxy_get_stats(p, &st);
	assert_int_equal(st.tcp_connections, 0);
}

struct fixture {
	struct event_base *base;
	struct proxy *p;
	struct rlimit nofile; /* restored after each test, even a failed one */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->base = event_base_new();
	f->p = proxy_new(f->base);
	getrlimit(RLIMIT_NOFILE, &f->nofile);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	setrlimit(RLIMIT_NOFILE, &f->nofile);
	proxy_free(f->p);
	event_base_free(f->base);
	free(f);
	return 0;
}

/* Listens on a free loopback port with the given backends (ids "b0", "b1", ...). */
static int publish(struct fixture *f, enum proxy_proto proto, struct backend **b, int n)
{
	struct berth_error err = {0};
	for (int tries = 0; tries < 20; tries++) {
		int port = free_port(HOST, proto == PROXY_TCP ? SOCK_STREAM : SOCK_DGRAM);
		if (proxy_listen(f->p, HOST, port, proto, &err) == 0) {
			for (int i = 0; i < n; i++) {
				char id[16];
				snprintf(id, sizeof(id), "b%d", i);
				assert_int_equal(proxy_backend_add(f->p, HOST, port, proto, id,
								   b[i]->ip, b[i]->port, &err),
						 0);
			}
			return port;
		}
	}
	fail_msg("no free port: %s", err.msg);
	return -1;
}

/* ---- scenarios ---- */

/* s->n round trips, each on a new connection: send a line, read it back, close. */
static void scenario_echo(struct scenario *s)
{
	for (int i = 0; i < s->n; i++) {
		int fd = dial(s->port);
		SCENARIO_CHECK(s, fd >= 0);
		char msg[64], back[64];
		int len = snprintf(msg, sizeof(msg), "hello %d\n", i);
		SCENARIO_CHECK(s, write_all(fd, msg, (size_t)len));
		shutdown(fd, SHUT_WR);
		ssize_t n = read_all(fd, back, sizeof(back));
		close(fd);
		SCENARIO_CHECK(s, n == len && memcmp(msg, back, (size_t)len) == 0);
	}
}

static void test_echo(void **state)
{
	struct fixture *f = *state;
	struct backend *b = backend_start("127.0.0.2", false);
	struct scenario s = {.fn = scenario_echo, .n = 3};
	s.port = publish(f, PROXY_TCP, &b, 1);
	run_scenario(f->base, &s);
	settle(f->base, f->p);
	struct proxy_stats st;
	proxy_get_stats(f->p, &st);
	assert_int_equal(st.listeners, 1);
	assert_int_equal(st.accepted, 3);
	assert_int_equal(atomic_load(&b->accepted), 3);
	assert_true(st.bytes >= 2 * 3 * 8);
	backend_stop(b);
}

/* Several MB each way at once, checksummed: the sender runs on its own thread. */
#define BIG (6 * 1024 * 1024 + 12345)

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

struct sender {
	int fd;
	uint64_t sum;
	bool ok;
};

static void *sender_main(void *arg)
{
	struct sender *snd = arg;
	unsigned char buf[32768];
	uint32_t x = 2463534242u;
	snd->sum = 0xcbf29ce484222325ull;
	snd->ok = true;
	for (size_t sent = 0; sent < BIG && snd->ok;) {
		size_t n = BIG - sent < sizeof(buf) ? BIG - sent : sizeof(buf);
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			buf[i] = (unsigned char)x;
		}
		snd->sum = fnv(snd->sum, buf, n);
		snd->ok = write_all(snd->fd, buf, n);
		sent += n;
	}
	shutdown(snd->fd, SHUT_WR);
	return NULL;
}

static void scenario_large(struct scenario *s)
{
	struct sender snd = {.fd = dial(s->port)};
	SCENARIO_CHECK(s, snd.fd >= 0);
	pthread_t t;
	pthread_create(&t, NULL, sender_main, &snd);
	unsigned char buf[65536];
	uint64_t sum = 0xcbf29ce484222325ull;
	size_t got = 0;
	ssize_t n;
	while ((n = recv(snd.fd, buf, sizeof(buf), 0)) > 0) {
		sum = fnv(sum, buf, (size_t)n);
		got += (size_t)n;
	}
	pthread_join(t, NULL);
	close(snd.fd);
	SCENARIO_CHECK(s, n == 0 && snd.ok);
	SCENARIO_CHECK(s, got == BIG);
	SCENARIO_CHECK(s, sum == snd.sum);
}

static void test_large_transfer(void **state)
{
	struct fixture *f = *state;
	struct backend *b = backend_start("127.0.0.2", false);
	struct scenario s = {.fn = scenario_large};
	s.port = publish(f, PROXY_TCP, &b, 1);
	run_scenario(f->base, &s);
	settle(f->base, f->p);
	struct proxy_stats st;
	proxy_get_stats(f->p, &st);
	assert_int_equal(st.bytes, 2ull * BIG);
	backend_stop(b);
}

/* The client shuts down its write side; the backend still answers after seeing that EOF. */
static void scenario_half_close(struct scenario *s)
{
	int fd = dial(s->port);
	SCENARIO_CHECK(s, fd >= 0);
	SCENARIO_CHECK(s, write_all(fd, "ping", 4));
	SCENARIO_CHECK(s, shutdown(fd, SHUT_WR) == 0);
	char buf[64];
	ssize_t n = read_all(fd, buf, sizeof(buf));
	close(fd);
	SCENARIO_CHECK(s, n == 9 && memcmp(buf, "ping<bye>", 9) == 0);
}

static void test_half_close(void **state)
{
	struct fixture *f = *state;
	struct backend *b = backend_start("127.0.0.2", true);
	struct scenario s = {.fn = scenario_half_close};
	s.port = publish(f, PROXY_TCP, &b, 1);
	run_scenario(f->base, &s);
	settle(f->base, f->p);
	backend_stop(b);
}

static void test_balance_and_down(void **state)
{
	struct fixture *f = *state;
	struct backend *b[2] = {backend_start("127.0.0.2", false),
				backend_start("127.0.0.3", false)};
	struct scenario s = {.fn = scenario_echo, .n = 20};
	s.port = publish(f, PROXY_TCP, b, 2);
	run_scenario(f->base, &s);
	assert_int_equal(atomic_load(&b[0]->accepted), 10);
	assert_int_equal(atomic_load(&b[1]->accepted), 10);

	/* Down: no new connections at once; up again: balanced again. */
	proxy_backend_set_up(f->p, "b0", false);
	s.n = 8;
	run_scenario(f->base, &s);
	assert_int_equal(atomic_load(&b[0]->accepted), 10);
	assert_int_equal(atomic_load(&b[1]->accepted), 18);
	proxy_backend_set_up(f->p, "b0", true);
	run_scenario(f->base, &s);
	assert_int_equal(atomic_load(&b[0]->accepted), 14);
	assert_int_equal(atomic_load(&b[1]->accepted), 22);

	/* Removed: the other gets everything. */
	proxy_backend_remove(f->p, HOST, s.port, PROXY_TCP, "b1");
	run_scenario(f->base, &s);
	assert_int_equal(atomic_load(&b[0]->accepted), 22);
	assert_int_equal(atomic_load(&b[1]->accepted), 22);
	settle(f->base, f->p);
	backend_stop(b[0]);
	backend_stop(b[1]);
}

/* Connecting the client succeeds, then the proxy closes it: EOF, nothing read. */
static void scenario_refused(struct scenario *s)
{
	for (int i = 0; i < s->n; i++) {
		int fd = dial(s->port);
		SCENARIO_CHECK(s, fd >= 0);
		char buf[8];
		write_all(fd, "x", 1);
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		close(fd);
		SCENARIO_CHECK(s, n == 0 || (n < 0 && errno == ECONNRESET));
	}
}

static void test_dead_backend_failover(void **state)
{
	struct fixture *f = *state;
	struct backend *live = backend_start("127.0.0.3", false);
	/* A backend whose port nobody listens on: connect is refused. */
	struct backend dead = {.port = free_port("127.0.0.2", SOCK_STREAM)};
	snprintf(dead.ip, sizeof(dead.ip), "127.0.0.2");
	struct backend *b[2] = {&dead, live};
	struct scenario s = {.fn = scenario_echo, .n = 10};
	s.port = publish(f, PROXY_TCP, b, 2);
	run_scenario(f->base, &s);
	assert_int_equal(atomic_load(&live->accepted), 10);
	struct proxy_stats st;
	proxy_get_stats(f->p, &st);
	assert_true(st.connect_failures >= 5);
	assert_int_equal(st.refused, 0);

	/* Nothing up: the client is closed, not left hanging. */
	proxy_backend_remove(f->p, HOST, s.port, PROXY_TCP, "b1");
	s.fn = scenario_refused;
	s.n = 3;
	run_scenario(f->base, &s);
	proxy_backend_set_up(f->p, "b0", false);
	run_scenario(f->base, &s);
	proxy_get_stats(f->p, &st);
	assert_int_equal(st.refused, 6);
	settle(f->base, f->p);
	backend_stop(live);
}

static void test_port_taken(void **state)
{
	struct fixture *f = *state;
	struct berth_error err = {0};
	char want[160];
	/* Taken by another socket. */
	int other = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = sa(HOST, 0);
	socklen_t len = sizeof(a);
	assert_int_equal(bind(other, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(other, 1), 0);
	getsockname(other, (struct sockaddr *)&a, &len);
	int port = ntohs(a.sin_port);
	assert_int_equal(proxy_listen(f->p, HOST, port, PROXY_TCP, &err), -1);
	assert_int_equal(err.status, 409);
	snprintf(
	    want, sizeof(want),
	    "Error starting userland proxy: listen tcp4 127.0.0.1:%d: bind: address already in use",
	    port);
	assert_string_equal(err.msg, want);
	close(other);

	/* Taken by berth itself, exactly or through an overlapping address. */
	port = publish(f, PROXY_TCP, NULL, 0);
	assert_int_equal(proxy_listen(f->p, HOST, port, PROXY_TCP, &err), -1);
	assert_int_equal(err.status, 409);
	snprintf(want, sizeof(want), "Bind for 127.0.0.1:%d failed: port is already allocated",
		 port);
	assert_string_equal(err.msg, want);
	assert_int_equal(proxy_listen(f->p, "", port, PROXY_TCP, &err), -1);
	snprintf(want, sizeof(want), "Bind for 0.0.0.0:%d failed: port is already allocated", port);
	assert_string_equal(err.msg, want);
	assert_true(proxy_is_listening(f->p, HOST, port, PROXY_TCP));
	assert_false(proxy_is_listening(f->p, HOST, port, PROXY_UDP));

	/* UDP taken by another socket. */
	other = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	a = sa(HOST, 0);
	len = sizeof(a);
	assert_int_equal(bind(other, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(other, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	assert_int_equal(proxy_listen(f->p, HOST, port, PROXY_UDP, &err), -1);
	snprintf(
	    want, sizeof(want),
	    "Error starting userland proxy: listen udp4 127.0.0.1:%d: bind: address already in use",
	    port);
	assert_string_equal(err.msg, want);
	close(other);

	/* Bad input. */
	assert_int_equal(proxy_listen(f->p, HOST, 0, PROXY_TCP, &err), -1);
	assert_int_equal(err.status, 400);
	assert_int_equal(proxy_listen(f->p, HOST, 65536, PROXY_TCP, &err), -1);
	assert_int_equal(err.status, 400);
	assert_int_equal(proxy_listen(f->p, "300.1.1.1", 8080, PROXY_TCP, &err), -1);
	assert_string_equal(err.msg, "invalid host IP address: 300.1.1.1");
	assert_int_equal(proxy_backend_add(f->p, HOST, 1, PROXY_TCP, "x", HOST, 80, &err), -1);
	assert_int_equal(err.status, 404);
	struct proxy_stats st;
	proxy_get_stats(f->p, &st);
	assert_int_equal(st.listeners, 1);
}

static void test_thousand_listeners(void **state)
{
	struct fixture *f = *state;
	int fds_before = count_fds();
	struct backend *b = backend_start("127.0.0.2", false);
	struct berth_error err = {0};
	int ports[1000];
	for (int i = 0; i < 1000; i++) {
		ports[i] = 0;
		for (int tries = 0; tries < 20 && !ports[i]; tries++) {
			int port = free_port(HOST, SOCK_STREAM);
			if (proxy_listen(f->p, HOST, port, PROXY_TCP, &err) == 0)
				ports[i] = port;
		}
		assert_int_not_equal(ports[i], 0);
		assert_int_equal(
		    proxy_backend_add(f->p, HOST, ports[i], PROXY_TCP, "b", b->ip, b->port, &err),
		    0);
	}
	struct proxy_stats st;
	proxy_get_stats(f->p, &st);
	assert_int_equal(st.listeners, 1000);
	/* A few of them answer (the first, one in the middle, the last). */
	int probe[] = {0, 499, 999};
	for (size_t i = 0; i < 3; i++) {
		struct scenario s = {.fn = scenario_echo, .n = 1, .port = ports[probe[i]]};
		run_scenario(f->base, &s);
	}
	settle(f->base, f->p);
	for (int i = 0; i < 1000; i++)
		proxy_unlisten(f->p, HOST, ports[i], PROXY_TCP);
	proxy_get_stats(f->p, &st);
	assert_int_equal(st.listeners, 0);
	backend_stop(b);
	/* what is left is the pool of empty pipes */
	assert_true(st.pooled_pipes <= 2);
	assert_int_equal(count_fds(), fds_before + 2 * (int)st.pooled_pipes);
}

static void test_many_sequential_connections(void **state)
{
	struct fixture *f = *state;
	struct backend *b = backend_start("127.0.0.2", false);
	struct scenario s = {.fn = scenario_echo, .n = 200};
	s.port = publish(f, PROXY_TCP, &b, 1);
	/* Warm up so the allocator's and libevent's one-time growth is not counted. */
	run_scenario(f->base, &s);
	settle(f->base, f->p);
	int fds_before = count_fds();
	size_t heap_before = mallinfo2().uordblks;
	s.n = 10000;
	run_scenario(f->base, &s);
	settle(f->base, f->p);
	assert_int_equal(count_fds(), fds_before);
	size_t heap_after = mallinfo2().uordblks;
	assert_true(heap_after < heap_before + 64 * 1024);
	struct proxy_stats st;
	proxy_get_stats(f->p, &st);
	assert_int_equal(st.accepted, 10200);
	assert_int_equal(st.refused, 0);
	backend_stop(b);
}

/* A UDP echo backend on its own thread; it stops when stop is set (bounded by a recv timeout). */
struct udp_backend {
	int fd;
	int port;
	atomic_bool stop;
	pthread_t thread;
};

static void *udp_backend_main(void *arg)
{
	struct udp_backend *u = arg;
	char buf[2048];
	while (!atomic_load(&u->stop)) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(u->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
		if (n > 0)
			sendto(u->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
	}
	return NULL;
}

/* s->n clients, each sends one datagram through the port and waits for the echo. */
static void scenario_udp(struct scenario *s)
{
	for (int i = 0; i < s->n; i++) {
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct timeval tv = {0, 500 * 1000};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		struct sockaddr_in a = sa(HOST, s->port);
		SCENARIO_CHECK(s, connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
		char msg[32], back[32];
		int len = snprintf(msg, sizeof(msg), "datagram %d", i);
		SCENARIO_CHECK(s, send(fd, msg, (size_t)len, 0) == len);
		ssize_t n = recv(fd, back, sizeof(back), 0);
		close(fd);
		/* n == -1: a client beyond the flow table's bound gets no answer */
		if (i < s->n - 1 || n >= 0)
			SCENARIO_CHECK(s, n == len && memcmp(msg, back, (size_t)len) == 0);
	}
}

static void test_udp_flows(void **state)
{
	struct fixture *f = *state;
	struct udp_backend u = {.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
	struct sockaddr_in a = sa("127.0.0.2", 0);
	socklen_t len = sizeof(a);
	assert_int_equal(bind(u.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(u.fd, (struct sockaddr *)&a, &len);
	u.port = ntohs(a.sin_port);
	struct timeval tv = {0, 50 * 1000};
	setsockopt(u.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	pthread_create(&u.thread, NULL, udp_backend_main, &u);

	int fds_before = count_fds();
	proxy_set_udp_idle_timeout(f->p, 300);
	proxy_set_udp_max_flows(f->p, 3);
	struct backend fake = {.port = u.port};
	snprintf(fake.ip, sizeof(fake.ip), "127.0.0.2");
	struct backend *b = &fake;
	struct scenario s = {.fn = scenario_udp, .n = 2};
	s.port = publish(f, PROXY_UDP, &b, 1);
	run_scenario(f->base, &s);
	struct proxy_stats st;
	proxy_get_stats(f->p, &st);
	assert_int_equal(st.udp_flows, 2);
	assert_int_equal(count_fds(), fds_before + 1 + 2); /* the listener, a socket per flow */

	/* Idle flows are closed after the timeout. */
	loop_for(f->base, 700, NULL);
	proxy_get_stats(f->p, &st);
	assert_int_equal(st.udp_flows, 0);
	assert_int_equal(count_fds(), fds_before + 1);

	/* The table is bounded: the fourth client of four is dropped (and waits for its answer
	 * longer than the first timeout). */
	proxy_set_udp_idle_timeout(f->p, 10000);
	s.n = 4;
	run_scenario(f->base, &s);
	proxy_get_stats(f->p, &st);
	assert_int_equal(st.udp_flows, 3);
	assert_true(st.udp_dropped >= 1);

	proxy_unlisten(f->p, HOST, s.port, PROXY_UDP);
	proxy_get_stats(f->p, &st);
	assert_int_equal(st.udp_flows, 0);
	assert_int_equal(count_fds(), fds_before);
	atomic_store(&u.stop, true);
	pthread_join(u.thread, NULL);
	close(u.fd);
}

/* One connection on a socket made beforehand (s->n is its fd), so that the proxy is the first
 * to need an fd after the limit was lowered. */
static void scenario_refused_fd(struct scenario *s)
{
	struct sockaddr_in a = sa(HOST, s->port);
	struct timeval tv = {10, 0};
	setsockopt(s->n, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	SCENARIO_CHECK(s, connect(s->n, (struct sockaddr *)&a, sizeof(a)) == 0);
	char buf[8];
	write_all(s->n, "x", 1);
	ssize_t n = recv(s->n, buf, sizeof(buf), 0);
	SCENARIO_CHECK(s, n == 0 || (n < 0 && errno == ECONNRESET));
}

/* Out of fds: new connections are refused (closed at once) and the proxy keeps working. */
static void test_out_of_fds(void **state)
{
	struct fixture *f = *state;
	struct backend *b = backend_start("127.0.0.2", false);
	struct scenario s = {.fn = scenario_refused_fd};
	s.port = publish(f, PROXY_TCP, &b, 1);
	struct rlimit rl;
	/* With `spare` fds left the proxy fails at: accept, the backend socket, the pipe (twice:
	 * no fd, one fd). (With two more it works: a pipe is held only while bytes are in it.) */
	const int spares[] = {0, 1, 2, 3};
	for (size_t i = 0; i < 4; i++) {
		s.n = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
		close(lowest);
		rl = f->nofile;
		rl.rlim_cur = (rlim_t)(lowest + spares[i]);
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
		run_scenario(f->base, &s);
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &f->nofile), 0);
		close(s.n);
		settle(f->base, f->p);
	}
	struct proxy_stats st;
	proxy_get_stats(f->p, &st);
	assert_int_equal(st.refused, 4);
	s.fn = scenario_echo;
	s.n = 2;
	run_scenario(f->base, &s);
	settle(f->base, f->p);
	backend_stop(b);
}

/* One connection, one round trip, then it waits for the proxy to end it. */
static void scenario_hold(struct scenario *s)
{
	int fd = dial(s->port);
	SCENARIO_CHECK(s, fd >= 0);
	char buf[8];
	SCENARIO_CHECK(s, write_all(fd, "a", 1));
	SCENARIO_CHECK(s, recv(fd, buf, 1, 0) == 1);
	atomic_store(&s->ready, true);
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	close(fd);
	SCENARIO_CHECK(s, n == 0 || (n < 0 && errno == ECONNRESET));
}

/* Runs s while calling act once the scenario holds its connection. */
static void run_scenario_then(struct fixture *f, struct scenario *s,
			      void (*act)(struct fixture *f, struct scenario *s))
{
	pthread_t t;
	s->fail[0] = 0;
	atomic_store(&s->done, false);
	atomic_store(&s->ready, false);
	pthread_create(&t, NULL, scenario_main, s);
	loop_for(f->base, 30000, &s->ready);
	if (atomic_load(&s->ready))
		act(f, s);
	loop_for(f->base, 30000, &s->done);
	assert_true(atomic_load(&s->done));
	pthread_join(t, NULL);
	if (s->fail[0])
		fail_msg("%s", s->fail);
}

static void act_remove_backend(struct fixture *f, struct scenario *s)
{
	proxy_backend_remove(f->p, HOST, s->port, PROXY_TCP, "b0");
}

static void act_unlisten(struct fixture *f, struct scenario *s)
{
	proxy_unlisten(f->p, HOST, s->port, PROXY_TCP);
}

/* Open connections end when their backend is removed or their port unpublished. */
static void test_close_on_remove(void **state)
{
	struct fixture *f = *state;
	int fds_before = count_fds();
	struct backend *b = backend_start("127.0.0.2", false);
	struct scenario s = {.fn = scenario_hold};
	s.port = publish(f, PROXY_TCP, &b, 1);
	run_scenario_then(f, &s, act_remove_backend);
	struct proxy_stats st;
	proxy_get_stats(f->p, &st);
	assert_int_equal(st.tcp_connections, 0);
	struct berth_error err = {0};
	assert_int_equal(
	    proxy_backend_add(f->p, HOST, s.port, PROXY_TCP, "b0", b->ip, b->port, &err), 0);
	run_scenario_then(f, &s, act_unlisten);
	proxy_get_stats(f->p, &st);
	assert_int_equal(st.tcp_connections, 0);
	assert_int_equal(st.listeners, 0);
	assert_false(proxy_is_listening(f->p, HOST, s.port, PROXY_TCP));
	backend_stop(b);
	assert_int_equal(count_fds(), fds_before + 2 * (int)st.pooled_pipes);
}

/* One connection, one round trip; then, once told to go, another on the same connection. */
static void scenario_drain(struct scenario *s)
{
	int fd = dial(s->port);
	SCENARIO_CHECK(s, fd >= 0);
	char buf[8];
	SCENARIO_CHECK(s, write_all(fd, "a", 1));
	SCENARIO_CHECK(s, recv(fd, buf, 1, 0) == 1);
	atomic_store(&s->ready, true);
	for (int i = 0; i < 10000 && !atomic_load(&s->go); i++)
		usleep(1000);
	SCENARIO_CHECK(s, write_all(fd, "b", 1));
	ssize_t n = recv(fd, buf, 1, 0);
	close(fd);
	SCENARIO_CHECK(s, n == 1 && buf[0] == 'b');
}

struct idle_seen {
	int calls;
	char id[16];
};

static void on_idle(void *arg, const char *id)
{
	struct idle_seen *seen = arg;
	seen->calls++;
	snprintf(seen->id, sizeof(seen->id), "%s", id);
}

/* A draining backend gets no new connections, keeps its open one working, and is reported
 * idle when that one closes; undrained it takes its share again. */
static void test_drain(void **state)
{
	struct fixture *f = *state;
	struct idle_seen seen = {0};
	proxy_set_on_drained(f->p, on_idle, &seen);
	struct backend *b[2] = {backend_start("127.0.0.2", false),
				backend_start("127.0.0.3", false)};
	struct scenario hold = {.fn = scenario_drain};
	hold.port = publish(f, PROXY_TCP, b, 2);
	pthread_t t;
	pthread_create(&t, NULL, scenario_main, &hold);
	loop_for(f->base, 30000, &hold.ready);
	assert_true(atomic_load(&hold.ready));
	/* The round-robin starts at b0. */
	assert_int_equal(proxy_backend_connections(f->p, "b0"), 1);
	assert_int_equal(proxy_backend_connections(f->p, "b1"), 0);

	proxy_backend_set_draining(f->p, "b0", true);
	assert_true(proxy_backend_draining(f->p, "b0"));
	assert_false(proxy_backend_draining(f->p, "b1"));
	/* Health does not undo a drain. */
	proxy_backend_set_up(f->p, "b0", true);
	struct scenario s = {.fn = scenario_echo, .n = 4, .port = hold.port};
	run_scenario(f->base, &s);
	assert_int_equal(atomic_load(&b[0]->accepted), 1);
	assert_int_equal(atomic_load(&b[1]->accepted), 4);
	for (int i = 0; i < 400 && proxy_backend_connections(f->p, "b1") > 0; i++)
		loop_for(f->base, 5, NULL);
	assert_int_equal(proxy_backend_connections(f->p, "b1"), 0);
	assert_int_equal(proxy_backend_connections(f->p, "b0"), 1);
	assert_int_equal(seen.calls, 0);

	/* The open connection still works; its close makes b0 idle. */
	atomic_store(&hold.go, true);
	loop_for(f->base, 30000, &hold.done);
	assert_true(atomic_load(&hold.done));
	pthread_join(t, NULL);
	if (hold.fail[0])
		fail_msg("%s", hold.fail);
	settle(f->base, f->p);
	assert_int_equal(proxy_backend_connections(f->p, "b0"), 0);
	assert_int_equal(seen.calls, 1);
	assert_string_equal(seen.id, "b0");

	proxy_backend_set_draining(f->p, "b0", false);
	s.n = 2;
	run_scenario(f->base, &s);
	assert_int_equal(atomic_load(&b[0]->accepted), 2);
	assert_int_equal(atomic_load(&b[1]->accepted), 5);
	settle(f->base, f->p);
	assert_int_equal(seen.calls, 1); /* not draining: no report */

	/* Removing a draining backend reports it too (its waiters need not wait). */
	proxy_backend_set_draining(f->p, "b1", true);
	proxy_backend_remove(f->p, HOST, hold.port, PROXY_TCP, "b1");
	assert_int_equal(seen.calls, 2);
	assert_string_equal(seen.id, "b1");
	backend_stop(b[0]);
	backend_stop(b[1]);
}

static void test_nofile(void **state)
{
	proxy_raise_nofile();
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	assert_true(rl.rlim_cur == rl.rlim_max);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nofile),
	    cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_transfer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_half_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_balance_and_down, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dead_backend_failover, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_port_taken, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_udp_flows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_fds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_on_remove, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thousand_listeners, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_sequential_connections, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
