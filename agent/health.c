/* Health checks run by the agent. */
#include "container.h"

void health_start(struct container *c) { (void)c; }
void health_stop(struct container *c) { (void)c; }
void health_free(struct container *c) { (void)c; }
json_t *health_state_json(const struct container *c) { (void)c; return NULL; }
void health_load(struct container *c, const json_t *h) { (void)c; (void)h; }
const char *health_status_suffix(const struct container *c) { (void)c; return ""; }
int health_check_config(const json_t *hc, struct berth_error *err) { (void)hc; (void)err; return 0; }
int health_max_concurrent = 8;
