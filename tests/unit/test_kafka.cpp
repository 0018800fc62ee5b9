// SPDX-License-Identifier: Apache-2.0
// The Kafka output against librdkafka's built-in mock cluster (in-process brokers on loopback),
// read back with a real consumer: delivered, broker down then up, shutdown with a dead broker.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "outputs/delivery_sink.hpp"
#include "outputs/kafka.hpp"
#include "outputs/sink.hpp"
#include "strict_json.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using adock::outputs::AlertMessage;

namespace {

using Clock = std::chrono::steady_clock;
using Handle = adock::util::CHandle<rd_kafka_t, &rd_kafka_destroy>;

/// A mock cluster of one broker with a one-partition topic "alerts" (so the order is total).
class MockCluster {
public:
    MockCluster() {
        std::array<char, 256> err{};
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        REQUIRE(rd_kafka_conf_set(conf, "log_level", "0", err.data(), err.size()) ==
                RD_KAFKA_CONF_OK);
        host_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size()));
        REQUIRE(host_);
        mock_ = rd_kafka_mock_cluster_new(host_.get(), 1);
        REQUIRE(mock_ != nullptr);
        REQUIRE(rd_kafka_mock_topic_create(mock_, "alerts", 1, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
    }

    MockCluster(const MockCluster&) = delete;
    MockCluster& operator=(const MockCluster&) = delete;

    ~MockCluster() { rd_kafka_mock_cluster_destroy(mock_); }

    [[nodiscard]] std::string brokers() const { return rd_kafka_mock_cluster_bootstraps(mock_); }

    void down() { REQUIRE(rd_kafka_mock_broker_set_down(mock_, 1) == RD_KAFKA_RESP_ERR_NO_ERROR); }

    void up() { REQUIRE(rd_kafka_mock_broker_set_up(mock_, 1) == RD_KAFKA_RESP_ERR_NO_ERROR); }

private:
    Handle host_;
    rd_kafka_mock_cluster_t* mock_ = nullptr;
};

struct Consumed {
    std::string key;
    std::string value;
};

/// Reads the topic from the beginning until `want` records arrived, then 500 ms more (to see
/// a duplicate that would follow), or 10 s passed.
std::vector<Consumed> consume(const std::string& brokers, std::size_t want) {
    std::array<char, 256> err{};
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    for (const auto& [k, v] : {std::pair{"bootstrap.servers", brokers},
                               std::pair{"group.id", std::string("test-reader")},
                               std::pair{"enable.auto.commit", std::string("false")},
                               std::pair{"log_level", std::string("0")}}) {
        REQUIRE(rd_kafka_conf_set(conf, k, v.c_str(), err.data(), err.size()) == RD_KAFKA_CONF_OK);
    }
    Handle rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf, err.data(), err.size()));
    REQUIRE(rk);
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, "alerts", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    REQUIRE(rd_kafka_assign(rk.get(), parts) == RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(parts);
    std::vector<Consumed> out;
    const auto end = Clock::now() + 10s;
    auto settle = Clock::time_point::max();
    while (Clock::now() < std::min(end, settle)) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
        if (m == nullptr) {
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            out.push_back({std::string(static_cast<const char*>(m->key), m->key_len),
                           std::string(static_cast<const char*>(m->payload), m->len)});
            if (out.size() == want) {
                settle = Clock::now() + 500ms;
            }
        }
        rd_kafka_message_destroy(m);
    }
    static_cast<void>(rd_kafka_consumer_close(rk.get()));
    return out;
}

adock::config::OutputConfig kafka_config(const std::string& brokers,
                                         const std::string& spool_dir = {}) {
    adock::config::OutputConfig cfg;
    cfg.name = "bus";
    cfg.type = adock::config::OutputType::Kafka;
    cfg.brokers = brokers;
    cfg.topic = "alerts";
    cfg.timeout_ms = 1500;  // message.timeout.ms: a broker down fails an attempt this soon
    cfg.connect_timeout_ms = 1000;
    cfg.retries = 0;
    cfg.backoff_initial_ms = 50;
    cfg.backoff_max_ms = 300;
    cfg.queue_size = 64;
    cfg.spool_dir = spool_dir;
    cfg.kafka_properties = {{"log_level", "0"}};  // the mock's disconnects are expected here
    return cfg;
}

AlertMessage alert(int n, bool in_container = true) {
    adock::Alert a;
    a.time = "2026-11-30T10:00:00Z";
    a.host = "node-1";
    a.rule_id = "runc_suspicious_exec";
    a.severity = adock::Severity::Critical;
    a.summary = "alert " + std::to_string(n);
    if (in_container) {
        adock::ContainerRef c;
        c.id = "c" + std::to_string(n % 2);
        c.runtime = "docker";
        a.container = c;
    }
    return AlertMessage::of(std::move(a));
}

std::string summary_of(const Consumed& c) {
    return adock::test::load_json(c.value)["summary"].as<std::string>();
}

template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
        if (pred()) {
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    return pred();
}

}  // namespace

TEST_CASE("kafka record framing keeps the key beside the alert JSON", "[outputs][kafka]") {
    std::string_view key;
    std::string_view value;
    const std::string rec = adock::outputs::kafka_record("ab:c", "{\"x\":1}");
    CHECK(rec == "4:ab:c{\"x\":1}");
    REQUIRE(adock::outputs::split_kafka_record(rec, key, value));
    CHECK(key == "ab:c");
    CHECK(value == "{\"x\":1}");
    CHECK(adock::outputs::split_kafka_record("0:{}", key, value));
    CHECK(key.empty());
    CHECK_FALSE(adock::outputs::split_kafka_record("{\"x\":1}", key, value));
    CHECK_FALSE(adock::outputs::split_kafka_record("99:short", key, value));
    CHECK_FALSE(adock::outputs::split_kafka_record(":x", key, value));
    adock::Alert a;
    a.host = "h";
    CHECK(adock::outputs::kafka_key(a) == "h");
    a.container = adock::ContainerRef{};  // unknown attribution: no id
    CHECK(adock::outputs::kafka_key(a) == "h");
    a.container->id = "abc";
    CHECK(adock::outputs::kafka_key(a) == "abc");
}

TEST_CASE("kafka config: keys, the password from a file, refused properties",
          "[outputs][kafka][config]") {
    adock::test::TempDir tmp;
    { std::ofstream(tmp / "pw") << "s3cret-pw\n"; }
    const auto c = adock::config::load_config_string(
        "spool_dir: /tmp/sp\n"
        "outputs:\n"
        "  - name: bus\n"
        "    type: kafka\n"
        "    brokers: [k1:9092, k2:9092]\n"
        "    topic: audit.alerts\n"
        "    client_id: node-7\n"
        "    security_protocol: sasl_ssl\n"
        "    sasl_mechanism: SCRAM-SHA-512\n"
        "    sasl_username: adock\n"
        "    sasl_password_file: " +
            (tmp / "pw") +
            "\n"
            "    ca_file: /etc/ssl/kafka-ca.pem\n"
            "    queue_max_messages: 500\n"
            "    queue_max_kbytes: 2048\n"
            "    properties: {compression.type: zstd}\n",
        "k.yaml");
    REQUIRE(c.outputs.size() == 1);
    const auto& o = c.outputs[0];
    CHECK(o.brokers == "k1:9092,k2:9092");
    CHECK(o.topic == "audit.alerts");
    CHECK(o.client_id == "node-7");
    CHECK(o.sasl_password == "s3cret-pw");
    CHECK(o.ca_file == "/etc/ssl/kafka-ca.pem");
    CHECK(o.kafka_queue_messages == 500);
    CHECK(o.kafka_queue_kbytes == 2048);
    CHECK(o.kafka_properties.at("compression.type") == "zstd");
    CHECK(o.spool_dir == "/tmp/sp/bus.kafka");
    auto error_of = [](const std::string& yaml) {
        try {
            (void)adock::config::load_config_string(yaml, "k.yaml");
        } catch (const adock::config::ConfigError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    CHECK(error_of("outputs:\n  - {type: kafka, topic: t}\n").find("needs 'brokers' and 'topic'") !=
          std::string::npos);
    CHECK(error_of("outputs:\n  - {type: kafka, brokers: b:1, topic: t, sasl_password: x}\n")
              .find("sasl_password") != std::string::npos);  // no inline secret
    CHECK(error_of("outputs:\n  - {type: kafka, brokers: b:1, topic: t, properties: {acks: '1'}}\n")
              .find("set by the output itself") != std::string::npos);
    CHECK(error_of("outputs:\n  - {type: kafka, brokers: b:1, topic: t, properties: "
                   "{ssl.key.password: x}}\n")
              .find("set by the output itself") != std::string::npos);
    CHECK(error_of("outputs:\n  - {type: kafka, brokers: b:1, topic: t, properties: "
                   "{sasl.oauthbearer.client.secret: x}}\n")
              .find("secret") != std::string::npos);
    CHECK(error_of("outputs:\n  - {type: kafka, brokers: b:1, topic: t, properties: "
                   "{test.mock.num.brokers: '1'}}\n")
              .find("not supported") != std::string::npos);
    CHECK(error_of("outputs:\n  - {type: kafka, brokers: b:1, topic: t, security_protocol: "
                   "sasl_plaintext}\n")
              .find("needs sasl_mechanism") != std::string::npos);
    // librdkafka itself refuses an unknown property when the output is built.
    auto bad = kafka_config("127.0.0.1:1");
    bad.kafka_properties = {{"no.such.property", "1"}};
    CHECK_THROWS_AS(adock::outputs::make_sink(bad), adock::config::ConfigError);
}

TEST_CASE("kafka: alerts delivered, keyed by container id or host, acknowledged",
          "[outputs][kafka]") {
    MockCluster cluster;
    auto sink = adock::outputs::make_sink(kafka_config(cluster.brokers()));
    sink->start();
    REQUIRE(sink->submit(alert(0)));
    REQUIRE(sink->submit(alert(1)));
    REQUIRE(sink->submit(alert(2, false)));
    REQUIRE(wait_for([&] { return sink->stats().delivered == 3; }, 10s));
    sink->stop(1s);
    const auto got = consume(cluster.brokers(), 3);
    REQUIRE(got.size() == 3);
    CHECK(got[0].key == "c0");
    CHECK(got[1].key == "c1");
    CHECK(got[2].key == "node-1");
    CHECK(summary_of(got[0]) == "alert 0");
    CHECK(adock::test::load_json(got[2].value)["rule"]["id"].as<std::string>() ==
          "runc_suspicious_exec");
    const auto s = sink->stats();
    CHECK(s.failed == 0);
    CHECK(s.dropped == 0);
}

TEST_CASE("kafka: a broker down, then up: spooled, then delivered in order, none twice",
          "[outputs][kafka]") {
    adock::test::TempDir tmp;
    MockCluster cluster;
    auto sink = adock::outputs::make_sink(kafka_config(cluster.brokers(), tmp / "spool"));
    sink->start();
    REQUIRE(sink->submit(alert(0)));
    REQUIRE(wait_for([&] { return sink->stats().delivered == 1; }, 10s));
    cluster.down();
    for (int i = 1; i <= 5; ++i) {
        REQUIRE(sink->submit(alert(i)));
    }
    // The first attempt fails once message.timeout.ms passes; the rest wait in the spool.
    REQUIRE(wait_for([&] { return sink->stats().failed >= 1 && sink->stats().backlogged; }, 10s));
    CHECK(sink->stats().delivered == 1);
    CHECK(sink->stats().spool_pending == 5);
    cluster.up();
    REQUIRE(wait_for([&] { return sink->stats().delivered == 6; }, 20s));
    sink->stop(1s);
    CHECK(sink->stats().spool_pending == 0);
    CHECK(sink->stats().dropped == 0);
    const auto got = consume(cluster.brokers(), 6);
    REQUIRE(got.size() == 6);
    for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(summary_of(got[i]) == "alert " + std::to_string(i));
    }
}

TEST_CASE(
    "kafka: shutdown with a dead broker is bounded; the alerts wait in the spool for the next "
    "start",
    "[outputs][kafka]") {
    adock::test::TempDir tmp;
    MockCluster cluster;
    auto cfg = kafka_config(cluster.brokers(), tmp / "spool");
    cfg.timeout_ms = 30000;  // the deadline, not message.timeout.ms, has to end the wait
    cluster.down();
    {
        auto sink = adock::outputs::make_sink(cfg);
        sink->start();
        for (int i = 0; i < 3; ++i) {
            REQUIRE(sink->submit(alert(i)));
        }
        REQUIRE(wait_for([&] { return sink->stats().spooled == 3; }, 5s));
        const auto started = Clock::now();
        sink->stop(500ms);
        sink.reset();  // destroys the producer too
        CHECK(Clock::now() - started < 3s);
    }
    cluster.up();
    auto sink = adock::outputs::make_sink(cfg);
    sink->start();
    REQUIRE(wait_for([&] { return sink->stats().delivered == 3; }, 20s));
    sink->stop(1s);
    const auto got = consume(cluster.brokers(), 3);
    REQUIRE(got.size() == 3);
    for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(summary_of(got[i]) == "alert " + std::to_string(i));
    }
}

TEST_CASE("kafka: send_once (--test-output) reports the broker's verdict", "[outputs][kafka]") {
    MockCluster cluster;
    auto sink = adock::outputs::make_sink(kafka_config(cluster.brokers()));
    auto* delivery = dynamic_cast<adock::outputs::DeliverySink*>(sink.get());
    REQUIRE(delivery != nullptr);
    CHECK(delivery->target() == "kafka://" + cluster.brokers() + "/alerts");
    const auto r = delivery->send_once(alert(7));
    CHECK(r.kind == adock::outputs::SendResult::Kind::Delivered);
    const auto got = consume(cluster.brokers(), 1);
    REQUIRE(got.size() == 1);
    CHECK(summary_of(got[0]) == "alert 7");
}
