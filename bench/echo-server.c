/*
 * A tiny static keep-alive HTTP/1.1 server for the published-port benchmark: GET /big answers
 * 1 MiB, any other path a 13-byte body. One epoll loop, no allocation per request, built with
 * `cc -O2 -static` so it runs inside busybox containers.
 *
 * Usage: echo-server [-a ADDR] [-p PORT]   (default 0.0.0.0:8080)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define BIG_SIZE (1024 * 1024)
#define REQ_BUF 8192
#define MAX_EVENTS 256

static const char small_body[] = "Hello, world\n";
static char big_body[BIG_SIZE];
static char small_head[128], big_head[128];
static size_t small_head_len, big_head_len;

struct conn {
	int fd;
	size_t have;	  /* request bytes buffered */
	const char *head; /* the response being written: header then body */
	size_t head_len;
	const char *body;
	size_t body_len;
	size_t sent; /* of head_len + body_len */
	bool out_on; /* EPOLLOUT registered */
	char req[REQ_BUF];
};

static int ep;

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c);
}

/* Writes the current response; 1 when done, 0 when the socket is full, -1 on error. */
static int conn_flush(struct conn *c)
{
	while (c->head) {
		struct iovec iov[2];
		int n = 0;
		size_t total = c->head_len + c->body_len;
		if (c->sent < c->head_len)
			iov[n++] = (struct iovec){(char *)c->head + c->sent, c->head_len - c->sent};
		size_t body_off = c->sent > c->head_len ? c->sent - c->head_len : 0;
		if (c->body_len > body_off)
			iov[n++] =
			    (struct iovec){(char *)c->body + body_off, c->body_len - body_off};
		ssize_t w = writev(c->fd, iov, n);
		if (w < 0)
			return errno == EAGAIN ? 0 : -1;
		c->sent += (size_t)w;
		if (c->sent == total)
			c->head = NULL;
	}
	return 1;
}

/* Answers every complete request buffered; 0 to keep going, -1 to close. */
static int conn_serve(struct conn *c)
{
	for (;;) {
		if (c->head) {
			int r = conn_flush(c);
			if (r <= 0)
				return r;
		}
		char *end = memmem(c->req, c->have, "\r\n\r\n", 4);
		if (!end)
			return c->have == REQ_BUF ? -1 : 0;
		bool big = c->have > 8 && memcmp(c->req, "GET /big", 8) == 0;
		bool close_after = memmem(c->req, (size_t)(end - c->req), "Connection: close", 17);
		size_t used = (size_t)(end + 4 - c->req);
		memmove(c->req, c->req + used, c->have - used);
		c->have -= used;
		c->head = big ? big_head : small_head;
		c->head_len = big ? big_head_len : small_head_len;
		c->body = big ? big_body : small_body;
		c->body_len = big ? BIG_SIZE : sizeof(small_body) - 1;
		c->sent = 0;
		int r = conn_flush(c);
		if (r <= 0)
			return r;
		if (close_after)
			return -1;
	}
}

static void conn_on_event(struct conn *c, uint32_t events)
{
	if (events & (EPOLLERR | EPOLLHUP)) {
		conn_close(c);
		return;
	}
	if (events & EPOLLIN) {
		for (;;) {
			if (c->have == REQ_BUF)
				break;
			ssize_t n = read(c->fd, c->req + c->have, REQ_BUF - c->have);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				conn_close(c);
				return;
			}
			if (n < 0)
				break;
			c->have += (size_t)n;
			if (c->have < REQ_BUF)
				break; /* a short read: the socket is likely empty */
		}
	}
	int r = conn_serve(c);
	if (r < 0) {
		conn_close(c);
		return;
	}
	/* EPOLLOUT only while a response is stuck */
	if (c->out_on != (c->head != NULL)) {
		c->out_on = c->head != NULL;
		struct epoll_event ev = {.events = EPOLLIN | (c->out_on ? EPOLLOUT : 0),
					 .data.ptr = c};
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
}

int main(int argc, char **argv)
{
	const char *addr = "0.0.0.0";
	int port = 8080, opt;
	while ((opt = getopt(argc, argv, "a:p:h")) != -1) {
		if (opt == 'a')
			addr = optarg;
		else if (opt == 'p')
			port = atoi(optarg);
		else {
			fprintf(stderr, "usage: echo-server [-a ADDR] [-p PORT]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	memset(big_body, 'x', sizeof(big_body));
	small_head_len = (size_t)snprintf(small_head, sizeof(small_head),
					  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
					  "Content-Length: %zu\r\n\r\n",
					  sizeof(small_body) - 1);
	big_head_len =
	    (size_t)snprintf(big_head, sizeof(big_head),
			     "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
			     "Content-Length: %d\r\n\r\n",
			     BIG_SIZE);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "echo-server: bad address %s\n", addr);
		return 2;
	}
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1024) < 0) {
		perror("echo-server: bind");
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	struct epoll_event events[MAX_EVENTS];
	for (;;) {
		int n = epoll_wait(ep, events, MAX_EVENTS, -1);
		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;
			if (c) {
				conn_on_event(c, events[i].events);
				continue;
			}
			int fd;
			while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				c = calloc(1, sizeof(*c));
				if (!c) {
					close(fd);
					continue;
				}
				c->fd = fd;
				struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
			}
		}
	}
}
