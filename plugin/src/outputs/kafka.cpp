// SPDX-License-Identifier: Apache-2.0
#include "outputs/kafka.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <exception>
#include <fstream>
#include <stdexcept>
#include <utility>

#include "util/log.hpp"

namespace adock::outputs {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kPollSliceMs = 50;  // abort checks while waiting for a delivery report
/// Beyond message.timeout.ms, by which librdkafka always reports: only a stuck client gets here.
constexpr std::chrono::seconds kReportGrace{5};
constexpr int kMinConnectTimeoutMs = 1000;  // socket.connection.setup.timeout.ms' lower bound
constexpr int kLogWarning = 4;              // syslog levels, as librdkafka logs

/// Records Kafka will not take however often they are sent.
bool is_permanent(rd_kafka_resp_err_t err) {
    switch (err) {
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
        case RD_KAFKA_RESP_ERR_INVALID_MSG:
        case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
        case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
        case RD_KAFKA_RESP_ERR_INVALID_RECORD:
        case RD_KAFKA_RESP_ERR__INVALID_ARG:
            return true;
        default:
            return false;
    }
}

}  // namespace

std::string kafka_key(const Alert& a) {
    if (a.container && !a.container->id.empty()) {
        return a.container->id;
    }
    return a.host;
}

std::string kafka_record(const std::string& key, const std::string& value) {
    std::string out = std::to_string(key.size());
    out += ':';
    out += key;
    out += value;
    return out;
}

bool split_kafka_record(std::string_view record, std::string_view& key, std::string_view& value) {
    const std::size_t colon = record.find(':');
    if (colon == std::string_view::npos || colon == 0) {
        return false;
    }
    std::size_t len = 0;
    const auto [end, ec] = std::from_chars(record.data(), record.data() + colon, len);
    if (ec != std::errc() || end != record.data() + colon || len > record.size() - colon - 1) {
        return false;
    }
    key = record.substr(colon + 1, len);
    value = record.substr(colon + 1 + len);
    return true;
}

KafkaTransport::KafkaTransport(const config::OutputConfig& cfg)
    : cfg_(cfg), target_("kafka://" + cfg.brokers + "/" + cfg.topic) {
    // Every property checked now (start-up, --check); the producer itself, which connects at
    // once, is made by the first send() on the worker.
    static_cast<void>(build_conf());
    const bool tls = cfg_.security_protocol == "ssl" || cfg_.security_protocol == "sasl_ssl";
    for (const std::string* file : {&cfg_.ca_file, &cfg_.client_cert, &cfg_.client_key}) {
        if (tls && !file->empty() && !std::ifstream(*file).good()) {
            throw config::ConfigError("", 0, 0, "output '" + cfg_.name + "': cannot read " + *file);
        }
    }
    if (tls && !cfg_.tls_verify) {
        log::warning("output '" + cfg_.name + "': TLS certificate verification is disabled");
    }
}

KafkaTransport::~KafkaTransport() {
    close();
}

void KafkaTransport::close() noexcept {
    if (!rk_) {
        return;
    }
    // Whatever is still in the producer stays in the spool (its cursor never moved past it):
    // purged here, not flushed, so a dead broker cannot hold up shutdown.
    static_cast<void>(rd_kafka_purge(
        rk_.get(),
        RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING));
    static_cast<void>(rd_kafka_poll(rk_.get(), 0));  // their reports: for no record waited for
    topic_.reset();
    rk_.reset();
}

KafkaTransport::Conf KafkaTransport::build_conf() {
    const std::string prefix = "output '" + cfg_.name + "': ";
    Conf conf(rd_kafka_conf_new());
    std::array<char, 512> err{};
    auto set = [&](const std::string& key, const std::string& value, bool secret = false) {
        if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), err.data(), err.size()) !=
            RD_KAFKA_CONF_OK) {
            throw config::ConfigError(
                "",
                0,
                0,
                prefix + "kafka property " + key + ": " +
                    (secret ? std::string("refused") : std::string(err.data())));
        }
    };
    set("bootstrap.servers", cfg_.brokers);
    set("client.id", cfg_.client_id);
    set("enable.idempotence", "true");
    set("acks", "all");
    // One record at a time (see kafka.hpp): nothing to batch, so no lingering.
    set("linger.ms", "0");
    set("message.timeout.ms", std::to_string(cfg_.timeout_ms));
    set("socket.connection.setup.timeout.ms",
        std::to_string(std::max<long long>(kMinConnectTimeoutMs, cfg_.connect_timeout_ms)));
    set("queue.buffering.max.messages", std::to_string(cfg_.kafka_queue_messages));
    set("queue.buffering.max.kbytes", std::to_string(cfg_.kafka_queue_kbytes));
    set("security.protocol", cfg_.security_protocol);
    if (!cfg_.sasl_mechanism.empty()) {
        set("sasl.mechanisms", cfg_.sasl_mechanism);
        set("sasl.username", cfg_.sasl_username);
        set("sasl.password", cfg_.sasl_password, true);
    }
    if (cfg_.security_protocol == "ssl" || cfg_.security_protocol == "sasl_ssl") {
        set("enable.ssl.certificate.verification", cfg_.tls_verify ? "true" : "false");
        set("ssl.endpoint.identification.algorithm", cfg_.tls_verify ? "https" : "none");
        if (!cfg_.ca_file.empty()) {
            set("ssl.ca.location", cfg_.ca_file);
        }
        if (!cfg_.client_cert.empty()) {
            set("ssl.certificate.location", cfg_.client_cert);
            set("ssl.key.location", cfg_.client_key.empty() ? cfg_.client_cert : cfg_.client_key);
        }
    }
    for (const auto& [key, value] : cfg_.kafka_properties) {
        set(key, value);
    }
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaTransport::on_delivery);
    rd_kafka_conf_set_log_cb(conf.get(), &KafkaTransport::on_log);
    return conf;
}

void KafkaTransport::create() {
    Conf conf = build_conf();
    std::array<char, 512> err{};
    // rd_kafka_new takes the configuration over only when it succeeds.
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err.data(), err.size());
    if (rk == nullptr) {
        throw std::runtime_error("cannot create the Kafka producer: " + std::string(err.data()));
    }
    static_cast<void>(conf.release());
    rk_.reset(rk);
    topic_.reset(rd_kafka_topic_new(rk_.get(), cfg_.topic.c_str(), nullptr));
    if (!topic_) {
        const std::string why = rd_kafka_err2str(rd_kafka_last_error());
        rk_.reset();
        throw std::runtime_error("topic '" + cfg_.topic + "': " + why);
    }
}

SendResult KafkaTransport::send(const std::string& payload, const std::atomic<bool>& abort) {
    SendResult r;
    std::string_view key;
    std::string_view value;
    if (!split_kafka_record(payload, key, value)) {
        r.kind = SendResult::Kind::Permanent;
        r.detail = "not a kafka record (spooled by another output type?)";
        return r;
    }
    if (!rk_) {
        try {
            create();
        } catch (const std::exception& e) {
            r.kind = SendResult::Kind::Retry;
            r.detail = e.what();
            return r;
        }
    }
    report_ = Report{++seq_};
    // The message opaque carries the record's number, not a pointer: a report arriving after
    // send() gave up on it (abort) finds nothing to write to.
    // The opaque is an id, never dereferenced.
    // NOLINTNEXTLINE(performance-no-int-to-ptr,cppcoreguidelines-pro-type-reinterpret-cast)
    void* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(seq_));
    // RD_KAFKA_MSG_F_COPY: librdkafka copies both, so the const_casts never let it write.
    if (rd_kafka_produce(topic_.get(),
                         RD_KAFKA_PARTITION_UA,
                         RD_KAFKA_MSG_F_COPY,
                         // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): copied
                         const_cast<char*>(value.data()),
                         value.size(),
                         key.data(),
                         key.size(),
                         opaque) != 0) {
        const rd_kafka_resp_err_t e = rd_kafka_last_error();
        r.detail = std::string("produce: ") + rd_kafka_err2str(e);
        r.kind = is_permanent(e) ? SendResult::Kind::Permanent : SendResult::Kind::Retry;
        return r;
    }
    const auto give_up = Clock::now() + std::chrono::milliseconds(cfg_.timeout_ms) + kReportGrace;
    while (!report_.done) {
        if (abort.load()) {
            r.kind = SendResult::Kind::Aborted;
            r.detail = "cut short by the shutdown deadline";
            return r;
        }
        if (Clock::now() >= give_up) {
            // Not sent yet: taken back, so the next attempt cannot make it a duplicate.
            static_cast<void>(rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE));
            r.kind = SendResult::Kind::Retry;
            r.detail = "no delivery report within message.timeout.ms";
            return r;
        }
        static_cast<void>(rd_kafka_poll(rk_.get(), kPollSliceMs));
    }
    if (report_.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        r.kind = SendResult::Kind::Delivered;
        r.detail = "acknowledged";
        return r;
    }
    r.detail = rd_kafka_err2str(report_.err);
    if (report_.status == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED) {
        r.detail += " (possibly written: a retry may duplicate it)";
    }
    std::array<char, 256> fatal{};
    if (rd_kafka_fatal_error(rk_.get(), fatal.data(), fatal.size()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        // The idempotent producer cannot go on (e.g. its sequence is out of step): a new one
        // is made for the next attempt; the record stays in the spool.
        log::warning("output '" + cfg_.name + "': Kafka producer failed (" +
                     std::string(fatal.data()) + "); starting a new one");
        close();
        r.kind = SendResult::Kind::Retry;
        return r;
    }
    r.kind = is_permanent(report_.err) ? SendResult::Kind::Permanent : SendResult::Kind::Retry;
    return r;
}

void KafkaTransport::on_delivery(rd_kafka_t* /*rk*/,
                                 const rd_kafka_message_t* msg,
                                 void* opaque) noexcept {
    auto* self = static_cast<KafkaTransport*>(opaque);
    if (self == nullptr || msg == nullptr) {
        return;
    }
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the id set in send()
    const auto seq = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(msg->_private));
    if (seq != self->report_.seq || self->report_.done) {
        return;  // a record send() no longer waits for
    }
    self->report_.err = msg->err;
    self->report_.status = rd_kafka_message_status(msg);
    self->report_.done = true;
}

void KafkaTransport::on_log(const rd_kafka_t* rk,
                            int level,
                            const char* facility,
                            const char* text) noexcept {
    if (level > kLogWarning) {
        return;
    }
    try {
        auto* self = static_cast<KafkaTransport*>(rd_kafka_opaque(rk));
        if (self == nullptr) {
            return;
        }
        unsigned long long held = 0;
        if (self->log_limit_.allow(held)) {
            std::string line = "output '" + self->cfg_.name + "': librdkafka " +
                               std::string(facility != nullptr ? facility : "") + ": " +
                               std::string(text != nullptr ? text : "");
            if (held > 0) {
                line += " (" + std::to_string(held) + " similar messages suppressed)";
            }
            log::warning(line);
        }
    } catch (...) {
        // Nothing may unwind into librdkafka's threads; a lost log line is the lesser harm.
    }
}

}  // namespace adock::outputs
