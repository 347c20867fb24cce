/*
 * lambda::durable's parser of what the service sends: arbitrary bytes as an
 * invocation envelope (durable_envelope_parse) and, when they are a JSON
 * object, as a state page (durable_state_merge of its Operations).
 *
 * Asserted beyond "no crash, no leak, no UB": a parsed envelope has a
 * non-empty ARN and token and every operation it read can be found by its
 * id with a known type and status; a refusal carries Durable.InvalidEvent
 * or Durable.InvalidState and a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "state.h"

static void check_refusal(const lambda_error *err)
{
    if ((strcmp(err->type, "Durable.InvalidEvent") != 0 &&
         strcmp(err->type, "Durable.InvalidState") != 0) ||
        !err->message[0]) {
        fprintf(stderr, "undocumented refusal: '%s' '%s'\n", err->type, err->message);
        abort();
    }
}

static void check_state(const durable_state *st)
{
    size_t seen = 0;
    for (size_t i = 0; i < st->cap; i++) {
        const durable_op *op = st->slots[i];
        if (!op)
            continue;
        seen++;
        if (durable_state_get(st, op->id) != op || op->type >= OP_TYPE_COUNT ||
            op->status >= ST_STATUS_COUNT || !op->id[0] || strlen(op->id) > 64)
            abort();
    }
    if (seen != st->count)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    durable_state st = {0};
    durable_envelope env;
    lambda_error err = {{0}, {0}};
    if (durable_envelope_parse(text, size, &env, &st, &err) == 0) {
        if (!env.arn || !env.arn[0] || !env.token || !env.token[0])
            abort();
        check_state(&st);
        durable_envelope_free(&env);
    } else {
        check_refusal(&err);
    }
    durable_state_free(&st);

    cJSON *page = cJSON_ParseWithLength(text, size);
    if (cJSON_IsObject(page)) {
        durable_state merged = {0};
        memset(&err, 0, sizeof err);
        if (durable_state_merge(&merged, cJSON_GetObjectItemCaseSensitive(page, "Operations"),
                                &err) == 0)
            check_state(&merged);
        else
            check_refusal(&err);
        durable_state_free(&merged);
    }
    cJSON_Delete(page);
    free(text);
    return 0;
}
