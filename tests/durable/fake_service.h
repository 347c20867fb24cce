/*
 * A fake durable-execution service for the SDK's tests: the two calls the
 * SDK makes (CheckpointDurableExecution, GetDurableExecutionState) on
 * 127.0.0.1, port 0, libmicrohttpd. It chains single-use tokens as the
 * service does (a used or unknown token is refused with
 * InvalidParameterValueException "Invalid checkpoint token"), answers each
 * checkpoint with the operations it changed, serves state pages by marker,
 * records every request and can be told to fail the next calls.
 */
#ifndef TESTS_DURABLE_FAKE_SERVICE_H
#define TESTS_DURABLE_FAKE_SERVICE_H

#include <cjson/cJSON.h>

typedef struct fake_service fake_service;

fake_service *fake_service_start(void);
void fake_service_stop(fake_service *f);

/* "http://127.0.0.1:<port>" */
const char *fake_service_endpoint(const fake_service *f);

/* The token the next checkpoint must carry (the envelope's). */
void fake_service_set_token(fake_service *f, const char *token);

/* State pages: GET .../state?Marker=<marker> answers `page_json`
 * ({"Operations":[...],"NextMarker":...}). */
void fake_service_add_page(fake_service *f, const char *marker, const char *page_json);

/* The next `count` calls answer `status` with X-Amzn-ErrorType `code` (NULL
 * for none) and message `message`. */
void fake_service_fail_next(fake_service *f, int count, int status, const char *code,
                            const char *message);

/* What was received. Checkpoint requests are kept as parsed bodies. */
int fake_service_checkpoints(const fake_service *f);
int fake_service_state_calls(const fake_service *f);
/* Body of checkpoint call i (0-based), owned by the fake. */
const cJSON *fake_service_checkpoint(const fake_service *f, int i);
/* The last request's decoded path, Authorization and X-Amz-Security-Token
 * headers and query CheckpointToken ("" when absent). */
const char *fake_service_last_path(const fake_service *f);
const char *fake_service_last_authorization(const fake_service *f);
const char *fake_service_last_security_token(const fake_service *f);
const char *fake_service_last_query_token(const fake_service *f);

#endif /* TESTS_DURABLE_FAKE_SERVICE_H */
