/* berth's nftables table: rendered from the bridge networks, applied through libnftables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "berth/log.h"
#include "firewall.h"
#include "ipam.h"
#include "netd.h"

static bool firewall_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("_.-", *s)))
			return false;
	return true;
}

char *firewall_render(const struct firewall_net *nets, size_t n, struct berth_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (!firewall_name_ok(nets[i].bridge)) {
			berth_err(err, 400, "bridge name %s cannot go into an nftables rule",
				  nets[i].bridge);
			return NULL;
		}
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (!f)
		abort();
	/* "add" then "delete" removes the table whether or not it exists (nft 1.0.6 has no
	 * "destroy"); with the new table in the same transaction, there is no instant without
	 * rules, and a netd killed anywhere finds either the old table or the new one. */
	fprintf(f, "add table ip " FIREWALL_TABLE "\ndelete table ip " FIREWALL_TABLE "\n");
	fprintf(f, "table ip " FIREWALL_TABLE " {\n");
	if (n) {
		fprintf(f, "\tset bridges {\n\t\ttype ifname\n\t\telements = {");
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s \"%s\"", i ? "," : "", nets[i].bridge);
		fprintf(f, " }\n\t}\n");
	}
	/* Only drops here: traffic this table does not drop is left to the host's other rules. */
	fprintf(f, "\tchain forward {\n\t\ttype filter hook forward priority filter; policy "
		   "accept;\n");
	for (size_t i = 0; i < n; i++) {
		const char *b = nets[i].bridge;
		if (nets[i].internal)
			fprintf(f,
				"\t\tiifname \"%s\" oifname != \"%s\" drop\n"
				"\t\toifname \"%s\" iifname != \"%s\" drop\n",
				b, b, b, b);
		else /* Docker's DOCKER-ISOLATION: no bridge network reaches another. */
			fprintf(f, "\t\tiifname \"%s\" oifname @bridges oifname != \"%s\" drop\n",
				b, b);
	}
	fprintf(f, "\t}\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; "
		   "policy accept;\n");
	for (size_t i = 0; i < n; i++) {
		if (nets[i].internal)
			continue;
		char cidr[20];
		ipam_format_cidr(nets[i].subnet, nets[i].prefix, cidr);
		fprintf(f, "\t\tip saddr %s oifname != \"%s\" masquerade\n", cidr, nets[i].bridge);
	}
	fprintf(f, "\t}\n}\n");
	if (fclose(f) != 0)
		abort();
	return buf;
}

int firewall_apply(const char *script, struct berth_error *err)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return berth_err(err, 500, "nftables: cannot make a context");
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	int rc = nft_run_cmd_from_buffer(ctx, script);
	if (rc != 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", nft_ctx_get_error_buffer(ctx) ?: "");
		/* One line is enough: the error text repeats the script around the failure. */
		msg[strcspn(msg, "\n")] = '\0';
		berth_err(err, 500, "nftables: %s", msg[0] ? msg : "the rules were refused");
	}
	nft_ctx_free(ctx);
	return rc == 0 ? 0 : -1;
}

int netd_firewall_sync(struct netd *nd, struct berth_error *err)
{
	if (nd->cfg.no_firewall)
		return 0;
	size_t n = 0;
	for (struct netd_network *net = nd->networks; net; net = net->next)
		n++;
	struct firewall_net *nets = calloc(n + 1, sizeof(*nets));
	if (!nets)
		abort();
	n = 0;
	for (struct netd_network *net = nd->networks; net; net = net->next) {
		if (net->driver != NETD_DRIVER_BRIDGE || net->ipam.prefix <= 0)
			continue;
		snprintf(nets[n].bridge, sizeof(nets[n].bridge), "%s", net->bridge);
		nets[n].subnet = net->ipam.subnet;
		nets[n].prefix = net->ipam.prefix;
		nets[n].internal = net->internal;
		n++;
	}
	char *script = firewall_render(nets, n, err);
	free(nets);
	if (!script)
		return -1;
	int rc = firewall_apply(script, err);
	if (rc == 0)
		log_debug("nftables: table ip " FIREWALL_TABLE " set for %zu networks", n);
	free(script);
	return rc;
}
