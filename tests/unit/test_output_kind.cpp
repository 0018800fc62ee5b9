// SPDX-License-Identifier: Apache-2.0
// Each output type's descriptor (config/output_kind.hpp) agrees with what the config parser
// and make_sink do with the type.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "config/output_kind.hpp"
#include "outputs/alert_payload.hpp"
#include "outputs/delivery_sink.hpp"
#include "outputs/sink.hpp"
#include "test_catch.hpp"

namespace {

using adock::config::OutputKind;
using adock::config::OutputType;

/// The least an entry of kind `k` needs to parse (what the descriptor does not default).
std::string minimal_entry(const OutputKind& k, const std::string& file_path) {
    std::string e = "outputs:\n  - type: " + std::string(k.name) + "\n";
    if (k.type == OutputType::File) {
        e += "    path: " + file_path + "\n";
    }
    if (k.http && k.default_url.empty()) {
        e += "    url: http://127.0.0.1:9/\n";
    }
    if (!k.secret_key.empty()) {
        e += "    " + std::string(k.secret_key) + ": k\n";
    }
    if (k.type == OutputType::Kafka) {
        e += "    brokers: 127.0.0.1:9\n    topic: alerts\n";
    }
    if (k.delivering) {
        e += "    spool: false\n";
    }
    return e;
}

}  // namespace

TEST_CASE("every output type's descriptor agrees with parsing and make_sink", "[config][outputs]") {
    const std::string file_path =
        (std::filesystem::temp_directory_path() / "adock-output-kind-test.log").string();
    for (const OutputKind& k : adock::config::kOutputKinds) {
        INFO("output type " << k.name);
        CHECK(&adock::config::kind_of(k.type) == &k);
        CHECK(adock::config::kind_named(k.name) == &k);
        CHECK(std::string(adock::config::output_type_name(k.type)) == k.name);
        CHECK(adock::config::is_http(k.type) == k.http);
        CHECK(adock::config::is_delivery(k.type) == k.delivering);
        CHECK((!k.http || k.delivering));

        const auto c = adock::config::load_config_string(minimal_entry(k, file_path), "kind.yaml");
        REQUIRE(c.outputs.size() == 1);
        const auto& o = c.outputs[0];
        CHECK(o.type == k.type);
        CHECK(o.name == k.name);
        CHECK(o.dedup_window_s == k.default_dedup_s);
        if (!k.default_url.empty()) {
            CHECK(o.url == k.default_url);
        }
        if (!k.secret_key.empty()) {
            CHECK(o.secret == "k");
        }

        const auto sink = adock::outputs::make_sink(o);
        REQUIRE(sink != nullptr);
        const auto* delivery = dynamic_cast<const adock::outputs::DeliverySink*>(sink.get());
        CHECK((delivery != nullptr) == k.delivering);
        if (delivery != nullptr) {
            CHECK(delivery->target().starts_with("http") == k.http);
        }

        // Chat and pager outputs (folded by default: they page humans) each have a payload.
        if (k.default_dedup_s > 0) {
            CHECK(adock::outputs::alert_payload_of(k.type) != nullptr);
        }
        if (!k.http) {
            CHECK(adock::outputs::alert_payload_of(k.type) == nullptr);
        }
    }
    std::remove(file_path.c_str());
    CHECK(adock::outputs::alert_payload_of(OutputType::Falco) != nullptr);
    CHECK(adock::outputs::alert_payload_of(OutputType::Webhook) == nullptr);
    CHECK(adock::outputs::alert_payload_of(OutputType::Otlp) == nullptr);
}

TEST_CASE("an unknown output type lists every descriptor's name", "[config][outputs]") {
    std::string expected;
    for (const OutputKind& k : adock::config::kOutputKinds) {
        expected += (expected.empty() ? "" : ", ") + std::string(k.name);
    }
    CHECK(adock::config::kind_named("nope") == nullptr);
    try {
        (void)adock::config::load_config_string("outputs:\n  - {type: nope}\n", "kind.yaml");
        FAIL("no error");
    } catch (const adock::config::ConfigError& e) {
        CHECK(std::string(e.what()) == "unknown output type 'nope' (" + expected + ")");
    }
}

TEST_CASE("every type that takes TLS keys refuses client_key without client_cert",
          "[config][outputs]") {
    const std::string file_path =
        (std::filesystem::temp_directory_path() / "adock-output-kind-test.log").string();
    int tls_kinds = 0;
    for (const OutputKind& k : adock::config::kOutputKinds) {
        if (!k.tls) {
            continue;
        }
        ++tls_kinds;
        INFO("output type " << k.name);
        const std::string entry = minimal_entry(k, file_path);
        // Control: the key with its certificate is accepted.
        CHECK_NOTHROW(adock::config::load_config_string(
            entry + "    client_key: /k.pem\n    client_cert: /c.pem\n"));
        std::string error;
        try {
            (void)adock::config::load_config_string(entry + "    client_key: /k.pem\n");
        } catch (const adock::config::ConfigError& e) {
            error = e.what();
        }
        CHECK(error.find("': client_key needs client_cert") != std::string::npos);
    }
    CHECK(tls_kinds > 0);
    // Both families that used to check it apart are walked: HTTP and kafka.
    CHECK(adock::config::kind_of(OutputType::Webhook).tls);
    CHECK(adock::config::kind_of(OutputType::Kafka).tls);
}
