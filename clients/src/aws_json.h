/*
 * The internal core of lambda-c's AWS service clients: one JSON request to
 * an AWS service, either JSON-protocol (Step Functions: POST / with
 * X-Amz-Target) or rest-json (Lambda's durable-execution calls: a method
 * and a path), signed with SigV4 by sigv4.c (not libcurl: see sigv4.h), retried
 * with exponential backoff and full jitter on throttling, 5xx and transport
 * failures. Built once as an object library that lambda::sfn and
 * lambda::durable both carry. Not part of any public header.
 *
 * Thread safety: a lambda__aws_service is read-only after init, so threads
 * may share it; each call uses its own curl handle.
 */
#ifndef LAMBDA_CLIENTS_AWS_JSON_H
#define LAMBDA_CLIENTS_AWS_JSON_H

#include <lambda/runtime.h>

/* Where and how to call one service. */
typedef struct lambda__aws_service {
    char endpoint[512]; /* scheme://host[:port], no trailing slash */
    char region[64];
    char service[32];       /* the SigV4 service name ("states") */
    char target_prefix[64]; /* X-Amz-Target prefix ("AWSStepFunctions"); "" for the
                               query protocol (SNS), whose body names the action */
    char content_type[64];  /* "application/x-amz-json-1.0" */
    char access_key_id[128];
    char secret_access_key[256];
    char session_token[4096];
    char ca_file[512];
    char error_prefix[32]; /* errorType prefix ("StepFunctions") */
    int max_attempts;
    long base_delay_ms, max_delay_ms, timeout_ms;
    size_t response_max; /* the largest answer read, in bytes (0: 1 MiB) */
    /* How a retry waits (NULL: nanosleep); tests skip the time with it. */
    void (*sleep_ms)(long ms, void *sleep_data);
    void *sleep_data;
} lambda__aws_service;

/* Fills `svc` from the environment: the endpoint from `endpoint_env`
 * (e.g. AWS_ENDPOINT_URL_SFN), else AWS_ENDPOINT_URL, else
 * https://<host_prefix>.<region>.amazonaws.com; the region from AWS_REGION,
 * else AWS_DEFAULT_REGION, else us-east-1; AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN. Explicit non-NULL arguments win.
 * The retry settings come from <env_prefix>_MAX_ATTEMPTS, _RETRY_BASE_MS and
 * _TIMEOUT_MS (e.g. LAMBDA_SFN_MAX_ATTEMPTS).
 * 0, or -1 with err (InvalidConfiguration: no credentials, bad endpoint). */
int lambda__aws_service_init(lambda__aws_service *svc, const char *env_prefix,
                             const char *endpoint_env, const char *host_prefix,
                             const char *endpoint, const char *region, const char *access_key_id,
                             const char *secret_access_key, const char *session_token,
                             lambda_error *err);

/* POSTs `body` (JSON text) as <target_prefix>.<operation>; with an empty
 * target_prefix, `body` is a query-protocol form (Action=<operation>&…) and
 * the answer XML; errors are read from either (<Code>, <Message>). On a 2xx answer
 * returns 0 and the response body in *response (malloc'd, NUL-terminated,
 * "{}" when empty). Otherwise -1 with err: the service's error code as
 * "<error_prefix>.<Code>" (e.g. StepFunctions.TaskTimedOut) and its message,
 * or, once the attempts are spent on retryable failures,
 * "<error_prefix>.Throttled" / "<error_prefix>.Unavailable" naming the last
 * failure and the number of attempts. */
int lambda__aws_json_call(const lambda__aws_service *svc, const char *operation, const char *body,
                          char **response, lambda_error *err);

/* The text of the first <element> of an XML answer (expat): 0, or -1 (out
 * empty) when the document does not parse or has no such element. */
int lambda__aws_xml_text(const char *xml, size_t len, const char *element, char *out, size_t cap);

/* A rest-json call: `method` ("GET", "POST") on `path` (starting with '/',
 * already percent-encoded, with its query string), `body` a JSON text or
 * NULL. The error code comes from the X-Amzn-ErrorType header or the body's
 * "__type"/"code"; otherwise as lambda__aws_json_call. */
int lambda__aws_rest_call(const lambda__aws_service *svc, const char *method, const char *path,
                          const char *body, char **response, lambda_error *err);

/* `s` percent-encoded for a URL path segment or query value (every byte
 * but A-Z a-z 0-9 - . _ ~), malloc'd; NULL when out of memory. */
char *lambda__aws_escape(const char *s);

#endif /* LAMBDA_CLIENTS_AWS_JSON_H */
