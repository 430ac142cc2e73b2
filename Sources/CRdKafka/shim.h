#ifndef CRDKAFKA_SHIM_H
#define CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* Swift cannot call C variadic functions or function-like macros, so the few calls that need
 * them are wrapped here as static inline functions. Nothing else lives in this module. */

/// Produces one message (payload copied) with optional headers, timestamp (0 = now) and a
/// per-message opaque for the delivery report. On success librdkafka owns `headers`.
static inline rd_kafka_resp_err_t crdk_produce(rd_kafka_t *rk, const char *topic, int32_t partition,
                                               const void *key, size_t key_len,
                                               const void *value, size_t value_len,
                                               rd_kafka_headers_t *headers, int64_t timestamp,
                                               void *msg_opaque) {
    return rd_kafka_producev(rk,
                             RD_KAFKA_V_TOPIC(topic),
                             RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_KEY(key, key_len),
                             RD_KAFKA_V_VALUE((void *)value, value_len),
                             RD_KAFKA_V_HEADERS(headers),
                             RD_KAFKA_V_TIMESTAMP(timestamp),
                             RD_KAFKA_V_OPAQUE(msg_opaque),
                             RD_KAFKA_V_END);
}

/// Pushes `cnt` request errors for one API key onto the mock cluster.
static inline void crdk_mock_push_request_errors(rd_kafka_mock_cluster_t *mcluster, int16_t api_key,
                                                 size_t cnt, const rd_kafka_resp_err_t *errors) {
    rd_kafka_mock_push_request_errors_array(mcluster, api_key, cnt, errors);
}

#endif
