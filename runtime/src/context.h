/* One invocation as the Runtime API's /next describes it: the headers parsed
 * into owned strings, the event body, and the public lambda_context view of
 * them. Also the per-thread "current invocation" that logging uses. */
#ifndef LAMBDA_CONTEXT_H
#define LAMBDA_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "lambda/runtime.h"

/* Facts Lambda puts in the environment; read once, shared by all threads. */
typedef struct lambda_env_facts {
    const char *function_name;
    const char *function_version;
    const char *log_group_name;
    const char *log_stream_name;
    int memory_limit_mb;
} lambda_env_facts;

/* The header strings of an invocation (the char * fields below). */
#define LAMBDA_INVOCATION_STRINGS 7

typedef struct lambda_invocation {
    /* NULL when /next did not send the header, else a view of strings[]. */
    char *request_id;
    char *invoked_function_arn;
    char *trace_id;
    char *client_context;
    char *cognito_identity;
    char *tenant_id;
    char *invocation_id; /* Lambda-Runtime-Invocation-Id, echoed back */
    int64_t deadline_ms;
    lambda_buf event;
    lambda_buf strings[LAMBDA_INVOCATION_STRINGS]; /* storage, reused */
    lambda_context ctx;                            /* views of the fields above, see _finish() */
} lambda_invocation;

void lambda_env_facts_load(lambda_env_facts *facts);

/* Feeds one raw header line ("Name: value\r\n") from /next. Returns 1 when
 * the header is one of ours, 0 when ignored, -1 when out of memory. */
int lambda_invocation_header(lambda_invocation *inv, const char *line, size_t len);

/* Fills inv->ctx from the parsed headers and the environment facts. */
void lambda_invocation_finish(lambda_invocation *inv, const lambda_env_facts *facts);

/* Forgets the headers and empties the event, keeping every buffer. */
void lambda_invocation_clear(lambda_invocation *inv);
void lambda_invocation_free(lambda_invocation *inv);

/* The calling thread's current invocation (NULL outside one). */
void lambda_context_set_current(const lambda_context *ctx);

int64_t lambda_now_ms(void);

#endif
