// SPDX-License-Identifier: Apache-2.0
// The man pages against the code: every key the config loader accepts is in
// audisp-docker.yaml(5) (the nested ones with their default), every output type too, every
// shipped rule id and every rule condition in audisp-docker-rules(5), and the options of
// audisp-docker(8) are those of --help. The key lists are the loader's own (an unknown key's
// ConfigError carries the keys its mapping accepts), so a key added without documentation fails
// here.
#ifdef AUDISP_DOCKER_MAN_DIR
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "app/options.hpp"
#include "config/config.hpp"
#include "rules/catalogue.hpp"
#include "rules/loader.hpp"
#include "test_catch.hpp"

using namespace adock;

namespace {

constexpr const char* kProbe = "adock_undocumented_probe";

std::string man_page(const std::string& name) {
    std::ifstream in(std::string(AUDISP_DOCKER_MAN_DIR) + "/" + name);
    REQUIRE(in);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Text as docs/man/mkman.py writes it inside a code span.
std::string roff(const std::string& s) {
    std::string out;
    for (const char c : s) {
        if (c == '\\') {
            out += "\\e";
        } else if (c == '-') {
            out += "\\-";
        } else {
            out += c;
        }
    }
    return out;
}

/// `text` set as code (`text` in the Markdown): the whole span, or its start when `prefix`.
bool has_code(const std::string& page, const std::string& text, bool prefix = false) {
    const std::string open = "\\fB\\%" + roff(text);
    for (std::size_t at = page.find(open); at != std::string::npos; at = page.find(open, at + 1)) {
        const std::string rest = page.substr(at + open.size(), 3);
        if (rest.starts_with("\\fR") ||
            (prefix && (rest.starts_with(" ") || rest.starts_with("\n")))) {
            return true;
        }
    }
    return false;
}

/// The tagged paragraphs (.TP) of a page: tag line, body up to the next macro that ends it.
std::vector<std::pair<std::string, std::string>> tagged(const std::string& page) {
    std::vector<std::pair<std::string, std::string>> out;
    std::istringstream in(page);
    std::string line;
    bool in_tp = false;
    bool want_tag = false;
    while (std::getline(in, line)) {
        if (line == ".TP") {
            out.emplace_back();
            in_tp = true;
            want_tag = true;
        } else if (line.starts_with(".SH") || line.starts_with(".SS") || line.starts_with(".PP") ||
                   line.starts_with(".IP")) {
            in_tp = false;
        } else if (in_tp && want_tag) {
            out.back().first = line;
            want_tag = false;
        } else if (in_tp) {
            out.back().second += line + "\n";
        }
    }
    return out;
}

/// The keys the config loader accepts in the mapping the YAML `text` reaches with kProbe.
std::vector<std::string> config_keys_at(const std::string& text) {
    try {
        (void)config::load_config_string(text, "probe.yaml");
    } catch (const config::ConfigError& e) {
        if (std::string(e.what()).find(kProbe) != std::string::npos) {
            return e.known_keys();
        }
        return {};  // not a mapping: a leaf
    }
    return {};
}

/// Every key of the configuration outside `outputs`, dotted (`engine.input_queue_mb`).
void walk(const std::string& prefix,
          const std::string& yaml_prefix,
          int depth,
          std::vector<std::string>& out) {
    const std::string text =
        yaml_prefix + "{" + kProbe + ": 1}" + std::string(static_cast<std::size_t>(depth), '}');
    for (const auto& key : config_keys_at(text)) {
        const std::string dotted = prefix.empty() ? key : prefix + "." + key;
        if (dotted == "outputs") {
            out.push_back(dotted);
            continue;
        }
        const auto before = out.size();
        if (depth < 3) {
            walk(dotted, yaml_prefix + "{" + key + ": ", depth + 1, out);
        }
        if (out.size() == before) {
            out.push_back(dotted);  // a leaf
        } else {
            out.insert(out.begin() + static_cast<std::ptrdiff_t>(before), dotted);  // a section
        }
    }
}

std::vector<std::string> output_types() {
    try {
        (void)config::load_config_string(std::string("outputs:\n  - {type: ") + kProbe + "}\n",
                                         "probe.yaml");
    } catch (const config::ConfigError& e) {
        const std::string msg = e.what();
        const auto open = msg.rfind('(');
        const auto close = msg.rfind(')');
        std::vector<std::string> types;
        if (open != std::string::npos && close != std::string::npos && close > open) {
            std::istringstream list(msg.substr(open + 1, close - open - 1));
            std::string t;
            while (std::getline(list, t, ',')) {
                t.erase(0, t.find_first_not_of(' '));
                types.push_back(t);
            }
        }
        return types;
    }
    return {};
}

std::vector<std::string> rule_keys_at(const std::string& text) {
    try {
        (void)rules::load_rules_texts({{"probe.yaml", text}});
    } catch (const config::ConfigError& e) {
        if (std::string(e.what()).find(kProbe) != std::string::npos) {
            return e.known_keys();
        }
    }
    return {};
}

}  // namespace

TEST_CASE("audisp-docker.yaml(5) documents every key the loader accepts, with its default",
          "[man]") {
    const std::string page = man_page("audisp-docker.yaml.5");
    std::vector<std::string> keys;
    walk("", "", 0, keys);
    // The enumeration itself works (else this test would pass on nothing).
    REQUIRE(std::find(keys.begin(), keys.end(), "engine.input_queue_mb") != keys.end());
    REQUIRE(std::find(keys.begin(), keys.end(), "outputs") != keys.end());
    REQUIRE(keys.size() > 30);
    const auto paragraphs = tagged(page);
    std::set<std::string> sections;
    for (const auto& k : keys) {
        if (const auto dot = k.rfind('.'); dot != std::string::npos) {
            sections.insert(k.substr(0, dot));
        }
    }
    for (const auto& key : keys) {
        if (sections.contains(key)) {
            continue;  // `engine`, `processes`: their keys are the documentation
        }
        INFO("config key " << key);
        CHECK(has_code(page, key));
        bool with_default = false;
        for (const auto& [tag, body] : paragraphs) {
            if (has_code(tag, key) && body.find("\\fIdefault:\\fR") != std::string::npos) {
                with_default = true;
            }
        }
        CHECK(with_default);
    }
}

TEST_CASE("audisp-docker.yaml(5) documents every output type and each type's keys", "[man]") {
    const std::string page = man_page("audisp-docker.yaml.5");
    const auto types = output_types();
    REQUIRE(std::find(types.begin(), types.end(), "file") != types.end());
    REQUIRE(std::find(types.begin(), types.end(), "webhook") != types.end());
    for (const auto& type : types) {
        INFO("output type " << type);
        CHECK(has_code(page, type));
        const auto keys = config_keys_at("outputs:\n  - {type: " + type + ", " + kProbe + ": 1}\n");
        REQUIRE(std::find(keys.begin(), keys.end(), "min_severity") != keys.end());
        for (const auto& key : keys) {
            INFO("key " << key << " of output type " << type);
            CHECK(has_code(page, key));
        }
    }
}

TEST_CASE("audisp-docker-rules(5) names every shipped detection and every rule condition",
          "[man]") {
    const std::string page = man_page("audisp-docker-rules.5");
    std::vector<std::string> ids;
    for (const auto& [name, text] : rules::builtin_catalogue()) {
        const YAML::Node root = YAML::Load(text);
        for (const auto& rule : root["rules"]) {
            ids.push_back(rule["id"].as<std::string>());
        }
    }
    REQUIRE(std::find(ids.begin(), ids.end(), "runc_suspicious_exec") != ids.end());
    for (const auto& id : ids) {
        INFO("shipped rule " << id);
        CHECK(has_code(page, id));
    }
    const auto conditions = rule_keys_at(
        std::string("rules:\n  - id: x\n    summary: s\n    match: {") + kProbe + ": 1}\n");
    REQUIRE(std::find(conditions.begin(), conditions.end(), "path_in") != conditions.end());
    for (const auto& c : conditions) {
        INFO("rule condition " << c);
        CHECK(has_code(page, c));
    }
}

TEST_CASE("audisp-docker(8) has exactly the options of --help", "[man]") {
    const std::string page = man_page("audisp-docker.8");
    const std::string help = app::usage();
    const std::regex option(R"((^|[\s\[|])(--?[a-z][a-z-]*))");
    std::set<std::string> in_help;
    for (std::sregex_iterator it(help.begin(), help.end(), option), end; it != end; ++it) {
        in_help.insert((*it)[2].str());
    }
    REQUIRE(in_help.contains("--config"));
    const auto paragraphs = tagged(page);
    for (const auto& o : in_help) {
        INFO("option " << o << " of --help");
        CHECK(std::any_of(paragraphs.begin(), paragraphs.end(), [&](const auto& p) {
            return has_code(p.first, o, true);
        }));
    }
    // The other way: an option the page describes (a tag of OPTIONS) is one the program knows.
    const auto options_at = page.find(".SH \"OPTIONS\"");
    const auto options_end = page.find(".SH", options_at + 1);
    REQUIRE(options_at != std::string::npos);
    const std::string options = page.substr(options_at, options_end - options_at);
    const std::regex tag_option(R"(\\fB\\%((?:\\-)+[a-z](?:[a-z]|\\-)*))");
    std::size_t described = 0;
    for (const auto& [tag, body] : tagged(options)) {
        for (std::sregex_iterator it(tag.begin(), tag.end(), tag_option), end; it != end; ++it) {
            std::string o = (*it)[1].str();
            for (std::size_t p = o.find("\\-"); p != std::string::npos; p = o.find("\\-", p)) {
                o.replace(p, 2, "-");
                ++p;
            }
            INFO("option " << o << " of the man page");
            CHECK(in_help.contains(o));
            ++described;
        }
    }
    CHECK(described >= in_help.size());
}
#endif
