// SPDX-License-Identifier: Apache-2.0
// Kafka output: an idempotent librdkafka producer (enable.idempotence, acks=all) used as a
// synchronous Transport of DeliverySink. One alert is produced at a time and send() returns
// when its delivery report arrives (or the shutdown deadline cuts the wait short), so the
// write-ahead spool's cursor moves past an alert only once the brokers acknowledged it: the
// spool keeps order and "none twice" across broker outages and restarts without a second
// bookkeeping of in-flight messages beside it.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "alert/alert.hpp"
#include "config/config.hpp"
#include "outputs/queueing.hpp"
#include "outputs/transport.hpp"
#include "util/c_handle.hpp"

namespace adock::outputs {

/// The message key of an alert: its container id when it has one, else its host (so one
/// container's alerts stay in one partition, in order).
[[nodiscard]] std::string kafka_key(const Alert& a);

/// What the spool keeps for a Kafka alert: "<key length>:<key><value>"; the value is the alert
/// JSON (the contract, as the webhook sends it).
[[nodiscard]] std::string kafka_record(const std::string& key, const std::string& value);

/// Splits a kafka_record; false when it is not one.
[[nodiscard]] bool split_kafka_record(std::string_view record,
                                      std::string_view& key,
                                      std::string_view& value);

class KafkaTransport final : public Transport {
public:
    /// Checks the producer's configuration; throws config::ConfigError for a property
    /// librdkafka refuses. The producer (which connects at once) is created by the first send().
    explicit KafkaTransport(const config::OutputConfig& cfg);
    ~KafkaTransport() override;
    KafkaTransport(const KafkaTransport&) = delete;
    KafkaTransport& operator=(const KafkaTransport&) = delete;
    KafkaTransport(KafkaTransport&&) = delete;
    KafkaTransport& operator=(KafkaTransport&&) = delete;

    /// Produces one record and waits for its delivery report: Delivered when the brokers
    /// acknowledged it (acks=all), Retry on timeouts, a full local queue or brokers down,
    /// Permanent for a record Kafka will never take (too large, invalid), Aborted when `abort`
    /// is set meanwhile (the record is purged from the producer when it is destroyed).
    [[nodiscard]] SendResult send(const std::string& payload,
                                  const std::atomic<bool>& abort) override;

    [[nodiscard]] const std::string& target() const override { return target_; }

private:
    using Producer = util::CHandle<rd_kafka_t, &rd_kafka_destroy>;
    using Topic = util::CHandle<rd_kafka_topic_t, &rd_kafka_topic_destroy>;
    using Conf = util::CHandle<rd_kafka_conf_t, &rd_kafka_conf_destroy>;

    /// The delivery report of the record send() waits for.
    struct Report {
        std::uint64_t seq = 0;  ///< which record (the message opaque)
        bool done = false;
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
        rd_kafka_msg_status_t status = RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
    };

    /// The producer's configuration; throws config::ConfigError naming a refused property,
    /// never its value.
    [[nodiscard]] Conf build_conf();
    /// Builds producer and topic handles (throws std::runtime_error with librdkafka's reason).
    void create();
    void close() noexcept;
    static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque) noexcept;
    static void on_log(const rd_kafka_t* rk,
                       int level,
                       const char* facility,
                       const char* text) noexcept;

    config::OutputConfig cfg_;
    std::string target_;
    LogLimiter log_limit_;   ///< librdkafka's own warnings (from its threads)
    std::uint64_t seq_ = 0;  ///< the sending thread's last record
    /// written by on_delivery, which runs inside rd_kafka_poll on the sending thread
    Report report_;
    Producer rk_;
    Topic topic_;
};

}  // namespace adock::outputs
