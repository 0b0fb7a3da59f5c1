/* Host port bindings and allocation from the range (the kernel's ephemeral range, as Docker). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netd.h"
#include "ports.h"

void port_table_init(struct port_table *t, int low, int high, const struct port_ops *ops)
{
	memset(t, 0, sizeof(*t));
	t->low = low;
	t->high = high;
	t->last = high;
	t->ops = *ops;
}

static void port_binding_free(struct port_binding *b)
{
	free(b->service);
	free(b);
}

void port_table_destroy(struct port_table *t)
{
	while (t->head) {
		struct port_binding *b = t->head;
		t->head = b->next;
		port_binding_free(b);
	}
	t->count = 0;
}

int port_parse_range(const char *s, int *low, int *high, struct berth_error *err)
{
	int lo, hi, n = 0;
	if (sscanf(s, "%d-%d%n", &lo, &hi, &n) != 2 || s[n] || lo < 1 || hi > 65535 || lo > hi)
		return berth_err(err, 400,
				 "invalid port range %s: expected LOW-HIGH within 1-65535", s);
	*low = lo;
	*high = hi;
	return 0;
}

const char *port_proto_name(enum proxy_proto proto)
{
	return proto == PROXY_UDP ? "udp" : "tcp";
}

int port_parse_proto(const char *s, enum proxy_proto *out)
{
	if (!s || !*s || strcmp(s, "tcp") == 0)
		*out = PROXY_TCP;
	else if (strcmp(s, "udp") == 0)
		*out = PROXY_UDP;
	else
		return -1;
	return 0;
}

int port_validate(struct netd_port *p, struct berth_error *err)
{
	if (p->container_port < 1 || p->container_port > 65535)
		return berth_err(err, 400, "invalid container port %d: must be 1-65535",
				 p->container_port);
	if (p->host_port < 0 || p->host_port > 65535)
		return berth_err(err, 400, "invalid host port %d: must be 1-65535 (or 0 for any)",
				 p->host_port);
	if (!p->host_ip[0])
		snprintf(p->host_ip, sizeof(p->host_ip), "0.0.0.0");
	struct in_addr a;
	if (inet_pton(AF_INET, p->host_ip, &a) != 1)
		return berth_err(err, 400, "invalid host IP %s: expected an IPv4 address",
				 p->host_ip);
	if (!p->service)
		p->service = strdup("");
	return 0;
}

/* Do a and b claim the same socket? 0.0.0.0 overlaps every address. */
static bool port_clash(const char *ip_a, const char *ip_b)
{
	return strcmp(ip_a, ip_b) == 0 || strcmp(ip_a, "0.0.0.0") == 0 ||
	       strcmp(ip_b, "0.0.0.0") == 0;
}

struct port_binding *port_table_find(struct port_table *t, const char *host_ip, int port,
				     enum proxy_proto proto)
{
	for (struct port_binding *b = t->head; b; b = b->next)
		if (b->host_port == port && b->proto == proto && port_clash(b->host_ip, host_ip))
			return b;
	return NULL;
}

static bool port_shareable(const struct port_binding *b, const struct netd_port *p)
{
	return p->service && p->service[0] && strcmp(b->service, p->service) == 0 &&
	       strcmp(b->host_ip, p->host_ip) == 0 && b->container_port == p->container_port;
}

static struct port_binding *port_binding_add(struct port_table *t, const struct netd_port *p)
{
	struct port_binding *b = calloc(1, sizeof(*b));
	if (!b)
		abort();
	snprintf(b->host_ip, sizeof(b->host_ip), "%s", p->host_ip);
	b->host_port = p->host_port;
	b->proto = p->proto;
	b->service = strdup(p->service ? p->service : "");
	b->container_port = p->container_port;
	b->users = 1;
	b->next = t->head;
	t->head = b;
	t->count++;
	return b;
}

static int port_bind_fixed(struct port_table *t, struct netd_port *p, struct berth_error *err)
{
	struct port_binding *b = port_table_find(t, p->host_ip, p->host_port, p->proto);
	if (b) {
		if (!port_shareable(b, p))
			return berth_err(err, 409,
					 "Bind for %s:%d failed: port is already allocated",
					 p->host_ip, p->host_port);
		b->users++;
		return 0;
	}
	if (t->ops.listen(t->ops.ctx, p->host_ip, p->host_port, p->proto, err) < 0)
		return -1;
	port_binding_add(t, p)->listening = true;
	return 0;
}

int port_table_bind(struct port_table *t, struct netd_port *p, struct berth_error *err)
{
	if (p->host_port)
		return port_bind_fixed(t, p, err);
	/* A replica of a service joins the port its service already has. */
	if (p->service && p->service[0])
		for (struct port_binding *b = t->head; b; b = b->next)
			if (b->proto == p->proto && port_shareable(b, p)) {
				p->host_port = b->host_port;
				b->users++;
				return 0;
			}
	int span = t->high - t->low + 1;
	for (int i = 0; i < span; i++) {
		int port = t->last >= t->high || t->last < t->low ? t->low : t->last + 1;
		t->last = port;
		if (port_table_find(t, p->host_ip, port, p->proto))
			continue;
		struct berth_error e = {0};
		if (t->ops.listen(t->ops.ctx, p->host_ip, port, p->proto, &e) < 0) {
			if (e.status == 409)
				continue; /* a host process has it: try the next */
			*err = e;
			return -1;
		}
		p->host_port = port;
		port_binding_add(t, p)->listening = true;
		return 0;
	}
	return berth_err(err, 409, "no free host port in the range %d-%d", t->low, t->high);
}

void port_table_unbind(struct port_table *t, const struct netd_port *p)
{
	for (struct port_binding **pb = &t->head; *pb; pb = &(*pb)->next) {
		struct port_binding *b = *pb;
		if (b->host_port != p->host_port || b->proto != p->proto ||
		    strcmp(b->host_ip, p->host_ip) != 0)
			continue;
		if (--b->users > 0)
			return;
		if (b->listening)
			t->ops.unlisten(t->ops.ctx, b->host_ip, b->host_port, b->proto);
		*pb = b->next;
		t->count--;
		port_binding_free(b);
		return;
	}
}

void port_table_restore(struct port_table *t, const struct netd_port *p)
{
	struct port_binding *b = port_table_find(t, p->host_ip, p->host_port, p->proto);
	if (b && strcmp(b->host_ip, p->host_ip) == 0) {
		b->users++;
		return;
	}
	port_binding_add(t, p);
}
