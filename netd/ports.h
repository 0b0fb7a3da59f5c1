/* Host port bindings: which (host IP, port, protocol) berth holds, who shares it, and the
 * allocation of free ports from the configured range. Listening goes through callbacks (the
 * proxy in netd, fakes in the unit tests). */
#ifndef BERTH_NETD_PORTS_H
#define BERTH_NETD_PORTS_H

#include <stdbool.h>
#include <stddef.h>

#include "berth/error.h"
#include "proxy.h"

struct netd_port;

struct port_ops {
	/* 409 with Docker's text when the port is taken by someone else. */
	int (*listen)(void *ctx, const char *host_ip, int port, enum proxy_proto proto,
		      struct berth_error *err);
	void (*unlisten)(void *ctx, const char *host_ip, int port, enum proxy_proto proto);
	void *ctx;
};

struct port_binding {
	char host_ip[16];
	int host_port;
	enum proxy_proto proto;
	char *service; /* "" unless shared by a service's replicas */
	int container_port;
	unsigned users;
	bool listening;
	struct port_binding *next;
};

struct port_table {
	struct port_binding *head;
	size_t count;
	int low, high;
	int last; /* the last port handed out from the range */
	struct port_ops ops;
};

void port_table_init(struct port_table *t, int low, int high, const struct port_ops *ops);
void port_table_destroy(struct port_table *t);
/* "32768-60999" */
int port_parse_range(const char *s, int *low, int *high, struct berth_error *err);
const char *port_proto_name(enum proxy_proto proto);
int port_parse_proto(const char *s, enum proxy_proto *out);

/* Check and normalise a request (ports 1..65535 / 0..65535, host IP literal). */
int port_validate(struct netd_port *p, struct berth_error *err);
/* Take p's host port (allocating one when p->host_port is 0): listen if new, share if the
 * same service already holds it. */
int port_table_bind(struct port_table *t, struct netd_port *p, struct berth_error *err);
/* Give back one user of p's binding; the last one stops listening. */
void port_table_unbind(struct port_table *t, const struct netd_port *p);
/* Record p's binding as restored from state, without listening (recovery listens after). */
void port_table_restore(struct port_table *t, const struct netd_port *p);
struct port_binding *port_table_find(struct port_table *t, const char *host_ip, int port,
				     enum proxy_proto proto);

#endif
