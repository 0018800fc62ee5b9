// SPDX-License-Identifier: Apache-2.0
#include "rules/loader.hpp"

#include <libaudit.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <span>
#include <sstream>

#include "audit/event.hpp"
#include "audit/framer.hpp"
#include "config/yaml_util.hpp"
#include "integrity/monitor.hpp"
#include "proc/container_request.hpp"
#include "proc/namespaces.hpp"
#include "rules/fileop.hpp"
#include "rules/fold.hpp"
#include "rules/placeholders.hpp"

namespace adock::rules {
namespace {

constexpr std::uint32_t kArchX86_64 = 0xc000003e;
constexpr std::uint32_t kArchI386 = 0x40000003;

using config::ConfigError;
using config::YamlReader;

/// "a, b, c": the names of a field table, for an error that lists what is known.
template <typename Field>
std::string names_of(std::span<const Field> fields) {
    std::string out;
    for (const auto& f : fields) {
        out += (out.empty() ? "" : ", ") + std::string(f.name);
    }
    return out;
}

void check_template(const YamlReader& r, const YAML::Node& n, const std::string& tmpl) {
    std::size_t pos = 0;
    while ((pos = tmpl.find('{', pos)) != std::string::npos) {
        const auto end = tmpl.find('}', pos);
        if (end == std::string::npos) {
            r.fail(n, "summary: unclosed '{'");
        }
        const std::string name = tmpl.substr(pos + 1, end - pos - 1);
        if (!summary_placeholders().contains(name)) {
            std::string known;
            for (const auto& k : summary_placeholders()) {
                known += (known.empty() ? "" : ", ") + k;
            }
            r.fail(n,
                   "summary: unknown placeholder {" + name + "} (known: " + known + ")",
                   "unknown_placeholder");
        }
        pos = end + 1;
    }
}

class Loader {
public:
    explicit Loader(const std::vector<std::string>& dirs) : dirs_(dirs) {}

    void load(const std::string& name, const std::string& text) {
        const YAML::Node root = config::parse_yaml(text, name);
        const YamlReader r(name);
        set_->files.push_back(name);
        if (!root || root.IsNull()) {
            return;
        }
        r.mapping(root,
                  "a rules file",
                  {{"lists", [&](const YAML::Node& v) { load_lists(r, v); }},
                   {"rules", [&](const YAML::Node& v) {
                        if (!v.IsSequence()) {
                            r.fail(v, "rules: expected a list of rules");
                        }
                        for (const auto& item : v) {
                            load_rule(r, item);
                        }
                    }}});
    }

    std::shared_ptr<const RuleSet> finish() {
        for (auto& rule : set_->rules) {
            if (rule.enabled && rule.summary.empty()) {
                throw ConfigError(rule.source, 0, 0, "rule '" + rule.id + "' has no summary");
            }
        }
        set_->build_index();
        return set_;
    }

private:
    void load_lists(const YamlReader& r, const YAML::Node& v) {
        if (!v.IsMap()) {
            r.fail(v, "lists: expected a mapping of name: [patterns]");
        }
        for (const auto& kv : v) {
            auto list = std::make_shared<ProgramList>();
            list->name = kv.first.Scalar();
            const std::string what = "lists." + list->name;
            if (kv.second.IsMap()) {
                // {dirs: [...], programs: [...]}: basenames count only in those directories.
                bool has_programs = false;
                r.mapping(
                    kv.second,
                    what,
                    {{"dirs",
                      [&](const YAML::Node& x) { list->dirs = r.str_list(x, what + ".dirs"); }},
                     {"programs", [&](const YAML::Node& x) {
                          list->patterns = r.str_list(x, what + ".programs");
                          has_programs = true;
                      }}});
                if (!has_programs) {
                    r.fail(kv.second, what + ": needs 'programs'");
                }
                for (auto& d : list->dirs) {
                    if (d.empty() || d.front() != '/') {
                        r.fail(kv.second, what + ".dirs: '" + d + "' is not an absolute directory");
                    }
                    while (d.size() > 1 && d.back() == '/') {
                        d.pop_back();
                    }
                }
            } else {
                list->patterns = r.str_list(kv.second, what);
            }
            list->search_dirs = dirs_;
            list->resolve();
            set_->all_lists.push_back(list);
            set_->lists[list->name] = std::move(list);  // a later file replaces the list
        }
    }

    std::shared_ptr<const ProgramList> program_list(const YamlReader& r,
                                                    const YAML::Node& v,
                                                    const std::string& what) {
        if (v.IsScalar()) {
            auto it = set_->lists.find(v.Scalar());
            if (it == set_->lists.end()) {
                r.fail(v,
                       what + ": unknown list '" + v.Scalar() + "' (define it under lists: first)",
                       "unknown_list");
            }
            return it->second;
        }
        auto list = std::make_shared<ProgramList>();
        list->patterns = r.str_list(v, what);
        list->search_dirs = dirs_;
        list->resolve();
        set_->all_lists.push_back(list);
        return list;
    }

    Conditions conditions(const YamlReader& r,
                          const YAML::Node& v,
                          const std::string& what,
                          EventClass* event) {
        Conditions c;
        std::map<std::string, std::function<void(const YAML::Node&)>> h{
            {"actor_in", [&](const YAML::Node& x) { c.actor_in = program_list(r, x, "actor_in"); }},
            {"actor_not_in",
             [&](const YAML::Node& x) { c.actor_not_in = program_list(r, x, "actor_not_in"); }},
            {"parent_in",
             [&](const YAML::Node& x) { c.parent_in = program_list(r, x, "parent_in"); }},
            {"parent_not_in",
             [&](const YAML::Node& x) { c.parent_not_in = program_list(r, x, "parent_not_in"); }},
            {"ancestor_in",
             [&](const YAML::Node& x) { c.ancestor_in = program_list(r, x, "ancestor_in"); }},
            {"key",
             [&](const YAML::Node& x) {
                 auto keys = r.str_list(x, "key");
                 c.keys = std::set<std::string>(keys.begin(), keys.end());
             }},
            {"success", [&](const YAML::Node& x) { c.success = r.boolean(x, "success"); }},
            {"in_container",
             [&](const YAML::Node& x) { c.in_container = r.boolean(x, "in_container"); }},
            {"argv_contains",
             [&](const YAML::Node& x) { c.argv_contains = r.str_list(x, "argv_contains"); }},
            {"lineage_in",
             [&](const YAML::Node& x) { c.lineage_in = program_list(r, x, "lineage_in"); }},
            {"lineage_named_in",
             [&](const YAML::Node& x) {
                 c.lineage_named_in = program_list(r, x, "lineage_named_in");
             }},
            {"file_on_host",
             [&](const YAML::Node& x) { c.file_on_host = r.boolean(x, "file_on_host"); }},
            {"image_build",
             [&](const YAML::Node& x) { c.image_build = r.boolean(x, "image_build"); }},
            {"comm", [&](const YAML::Node& x) { c.comm = r.str_list(x, "comm"); }},
            {"syscall", [&](const YAML::Node& x) { c.syscalls = syscall_names(r, x); }},
            {"exit", [&](const YAML::Node& x) { c.exits = exit_codes(r, x); }},
            {"operation", [&](const YAML::Node& x) { c.operations = operations(r, x); }},
            {"path", [&](const YAML::Node& x) { c.paths = r.str_list(x, "path"); }},
            {"path_in", [&](const YAML::Node& x) { c.path_in = program_list(r, x, "path_in"); }},
            {"uid", [&](const YAML::Node& x) { c.uids = ids(r, x, "uid"); }},
            {"euid", [&](const YAML::Node& x) { c.euids = ids(r, x, "euid"); }},
            {"auid", [&](const YAML::Node& x) { c.auids = ids(r, x, "auid"); }},
            {"record_type", [&](const YAML::Node& x) { c.record_types = record_types(r, x); }},
            {"seccomp_action",
             [&](const YAML::Node& x) { c.seccomp_actions = seccomp_actions(r, x); }},
            {"monitored", [&](const YAML::Node& x) { c.monitored = r.boolean(x, "monitored"); }},
            {"fileless", [&](const YAML::Node& x) { c.fileless = r.boolean(x, "fileless"); }},
            {"drift", [&](const YAML::Node& x) { c.drift = r.boolean(x, "drift"); }},
            {"host_namespace",
             [&](const YAML::Node& x) {
                 std::set<std::string> kinds;
                 for (const auto& k : r.str_list(x, "host_namespace")) {
                     if (!proc::namespace_kinds().contains(k)) {
                         r.fail(x,
                                "host_namespace: unknown namespace '" + k +
                                    "' (cgroup, ipc, mnt, net, pid, time, user, uts)");
                     }
                     kinds.insert(k);
                 }
                 c.host_namespaces = std::move(kinds);
             }},
            {"container_request",
             [&](const YAML::Node& x) {
                 std::uint32_t bits = 0;
                 for (const auto& k : r.str_list(x, "container_request")) {
                     if (k == "leaked_fd_cwd") {
                         bits |= static_cast<std::uint32_t>(proc::RequestKind::LeakedFdCwd);
                     } else if (k == "host_mount") {
                         bits |= static_cast<std::uint32_t>(proc::RequestKind::HostMount);
                     } else {
                         r.fail(x,
                                "container_request: unknown request '" + k +
                                    "' (host_mount, leaked_fd_cwd)");
                     }
                 }
                 if (bits == 0) {
                     r.fail(x, "container_request: name at least one of host_mount, leaked_fd_cwd");
                 }
                 c.requests = bits;
             }},
            {"integrity_trusted",
             [&](const YAML::Node& x) { c.integrity_trusted = r.boolean(x, "integrity_trusted"); }},
            {"content",
             [&](const YAML::Node& x) {
                 if (event == nullptr) {
                     r.fail(x,
                            "content: only in a rule's match (it is decided after the exceptions)");
                 }
                 std::uint32_t bits = 0;
                 for (const auto& k : r.str_list(x, "content")) {
                     if (k == "runtime_copy") {
                         bits |= static_cast<std::uint32_t>(integrity::ContentCheck::RuntimeCopy);
                     } else if (k == "untrusted_runtime") {
                         bits |=
                             static_cast<std::uint32_t>(integrity::ContentCheck::UntrustedRuntime);
                     } else if (k == "package_copy") {
                         bits |= static_cast<std::uint32_t>(integrity::ContentCheck::PackageCopy);
                     } else {
                         r.fail(x,
                                "content: unknown '" + k +
                                    "' (runtime_copy, untrusted_runtime, package_copy)");
                     }
                 }
                 c.content = bits;
             }},
        };
        if (event != nullptr) {
            h["event"] = [&](const YAML::Node& x) {
                const std::string e = r.str(x, "event");
                if (e == "exec") {
                    *event = EventClass::Exec;
                } else if (e == "syscall") {
                    *event = EventClass::Syscall;
                } else if (e == "seccomp") {
                    *event = EventClass::Seccomp;
                } else if (e == "integrity") {
                    *event = EventClass::Integrity;
                } else if (e == "any") {
                    *event = EventClass::Any;
                } else {
                    r.fail(x, "event: expected exec, syscall, seccomp, integrity or any");
                }
            };
        }
        r.mapping(v, what, h);
        return c;
    }

    void load_rule(const YamlReader& r, const YAML::Node& n) {
        if (!n.IsMap() || !n["id"]) {
            r.fail(n, "each rule needs an 'id'");
        }
        const std::string id = r.str(n["id"], "id");
        auto existing = std::find_if(
            set_->rules.begin(), set_->rules.end(), [&](const Rule& x) { return x.id == id; });
        const bool patch = !n["match"] && existing != set_->rules.end();
        if (!n["match"] && !patch) {
            r.fail(n, "rule '" + id + "': needs 'match' (or must override a rule defined earlier)");
        }
        Rule rule = patch ? *existing : Rule{};
        rule.id = id;
        if (!patch) {
            rule.source = r.file() + ":" + std::to_string(n.Mark().line + 1);
        }
        r.mapping(
            n,
            "rule '" + id + "'",
            {{"id", [](const YAML::Node&) {}},
             {"description",
              [&](const YAML::Node& v) { rule.description = r.str(v, "description"); }},
             {"enabled", [&](const YAML::Node& v) { rule.enabled = r.boolean(v, "enabled"); }},
             {"severity",
              [&](const YAML::Node& v) {
                  auto s = parse_severity(r.str(v, "severity"));
                  if (!s) {
                      r.fail(v, "severity: expected critical, high, medium, low or info");
                  }
                  rule.severity = *s;
              }},
             {"mitre", [&](const YAML::Node& v) { rule.mitre = r.str_list(v, "mitre"); }},
             {"tags", [&](const YAML::Node& v) { rule.tags = r.str_list(v, "tags"); }},
             {"summary",
              [&](const YAML::Node& v) {
                  rule.summary = r.str(v, "summary");
                  check_template(r, v, rule.summary);
              }},
             {"match",
              [&](const YAML::Node& v) { rule.match = conditions(r, v, "match", &rule.event); }},
             {"remediation",
              [&](const YAML::Node& v) { rule.remediation = r.str(v, "remediation"); }},
             {"image_diff",
              [&](const YAML::Node& v) { rule.image_diff = r.boolean(v, "image_diff"); }},
             {"variants", [&](const YAML::Node& v) { rule.variants = variants(r, v); }},
             {"aggregate", [&](const YAML::Node& v) { rule.aggregate = aggregate(r, v); }},
             {"exceptions", [&](const YAML::Node& v) {
                  if (!v.IsSequence()) {
                      r.fail(v, "exceptions: expected a list of condition sets");
                  }
                  for (const auto& e : v) {
                      rule.exceptions.push_back(conditions(r, e, "exception", nullptr));
                  }
              }}});
        if (rule.match.content && rule.event != EventClass::Exec) {
            r.fail(n["match"], "rule '" + id + "': content conditions need event: exec");
        }
        if (patch) {
            *existing = std::move(rule);
        } else {
            set_->rules.push_back(std::move(rule));
        }
    }

    std::vector<Variant> variants(const YamlReader& r, const YAML::Node& v) {
        if (!v.IsSequence()) {
            r.fail(v, "variants: expected a list of {when, severity, add_tags}");
        }
        std::vector<Variant> out;
        for (const auto& item : v) {
            Variant var;
            bool has_when = false;
            r.mapping(item,
                      "variant",
                      {{"when",
                        [&](const YAML::Node& x) {
                            var.when = conditions(r, x, "when", nullptr);
                            has_when = true;
                        }},
                       {"severity",
                        [&](const YAML::Node& x) {
                            var.severity = parse_severity(r.str(x, "severity"));
                            if (!var.severity) {
                                r.fail(x, "severity: expected critical, high, medium, low or info");
                            }
                        }},
                       {"add_tags",
                        [&](const YAML::Node& x) { var.add_tags = r.str_list(x, "add_tags"); }},
                       {"add_mitre",
                        [&](const YAML::Node& x) { var.add_mitre = r.str_list(x, "add_mitre"); }}});
            if (!has_when) {
                r.fail(item, "variant: needs 'when'");
            }
            out.push_back(std::move(var));
        }
        return out;
    }

    static Aggregate aggregate(const YamlReader& r, const YAML::Node& v) {
        Aggregate a;
        r.mapping(v,
                  "aggregate",
                  {{"by",
                    [&](const YAML::Node& x) {
                        a.by.clear();
                        for (const auto& f : r.str_list(x, "by")) {
                            a.by.push_back(find_by_field(f));
                            if (a.by.back() == nullptr) {
                                r.fail(x,
                                       "aggregate.by: unknown field '" + f + "' (" +
                                           names_of(by_fields()) + ")");
                            }
                        }
                    }},
                   {"distinct",
                    [&](const YAML::Node& x) {
                        a.distinct.clear();
                        for (const auto& f : r.str_list(x, "distinct")) {
                            a.distinct.push_back(find_fold_field(f));
                            if (a.distinct.back() == nullptr) {
                                r.fail(x,
                                       "aggregate.distinct: unknown field '" + f + "' (" +
                                           names_of(fold_fields()) + ")");
                            }
                        }
                    }},
                   {"window_s", [&](const YAML::Node& x) {
                        a.window_s = r.integer<unsigned>(x, "window_s", 1, 86400);
                    }}});
        return a;
    }

    static std::set<std::string> syscall_names(const YamlReader& r, const YAML::Node& v) {
        std::set<std::string> out;
        for (const auto& name : r.str_list(v, "syscall")) {
            // Known on either arch we decode (x86_64, i386); typos are errors, not silent misses.
            if (!audit::syscall_number(kArchX86_64, name) &&
                !audit::syscall_number(kArchI386, name)) {
                r.fail(v, "syscall: unknown syscall '" + name + "'", "unknown_syscall");
            }
            out.insert(name);
        }
        return out;
    }

    static std::set<std::int64_t> exit_codes(const YamlReader& r, const YAML::Node& v) {
        static const std::map<std::string, std::int64_t> kErrno{{"EPERM", EPERM},
                                                                {"ENOENT", ENOENT},
                                                                {"EACCES", EACCES},
                                                                {"EEXIST", EEXIST},
                                                                {"EBUSY", EBUSY},
                                                                {"EINVAL", EINVAL},
                                                                {"ETXTBSY", ETXTBSY},
                                                                {"EROFS", EROFS},
                                                                {"ENOSYS", ENOSYS},
                                                                {"EXDEV", EXDEV}};
        std::set<std::int64_t> out;
        for (const auto& e : r.str_list(v, "exit")) {
            if (auto it = kErrno.find(e); it != kErrno.end()) {
                out.insert(-it->second);
                continue;
            }
            std::int64_t n = 0;
            const auto* end = e.data() + e.size();
            const auto [ptr, ec] = std::from_chars(e.data(), end, n);
            if (ec != std::errc() || ptr != end) {
                r.fail(v,
                       "exit: expected a number or an errno name (EPERM, ETXTBSY, ...), got '" + e +
                           "'");
            }
            out.insert(n);
        }
        return out;
    }

    static std::uint32_t operations(const YamlReader& r, const YAML::Node& v) {
        std::uint32_t mask = 0;
        for (const auto& name : r.str_list(v, "operation")) {
            auto op = parse_file_op(name);
            if (!op) {
                std::string known;
                for (const auto& k : file_op_names()) {
                    known += (known.empty() ? "" : " ") + k;
                }
                r.fail(v, "operation: unknown '" + name + "' (" + known + ")");
            }
            mask |= static_cast<std::uint32_t>(*op);
        }
        return mask;
    }

    static std::set<std::uint32_t> ids(const YamlReader& r,
                                       const YAML::Node& v,
                                       const std::string& what) {
        std::set<std::uint32_t> out;
        for (const auto& s : r.str_list(v, what)) {
            if (s == "unset") {
                out.insert(4294967295U);
                continue;
            }
            std::uint32_t n = 0;
            const auto* end = s.data() + s.size();
            const auto [ptr, ec] = std::from_chars(s.data(), end, n);
            if (ec != std::errc() || ptr != end) {
                r.fail(v, what + ": expected a number or 'unset', got '" + s + "'");
            }
            out.insert(n);
        }
        return out;
    }

    static std::set<std::string> seccomp_actions(const YamlReader& r, const YAML::Node& v) {
        static const std::set<std::string> kActions{
            "kill_process", "kill_thread", "trap", "errno", "user_notif", "trace", "log", "allow"};
        std::set<std::string> out;
        for (const auto& a : r.str_list(v, "seccomp_action")) {
            if (!kActions.contains(a)) {
                r.fail(v,
                       "seccomp_action: unknown '" + a +
                           "' (kill_process kill_thread trap errno user_notif trace log allow)");
            }
            out.insert(a);
        }
        return out;
    }

    static std::set<int> record_types(const YamlReader& r, const YAML::Node& v) {
        std::set<int> out;
        for (const auto& s : r.str_list(v, "record_type")) {
            const int t = audit_name_to_msg_type(s.c_str());
            if (t <= 0) {
                r.fail(v, "record_type: unknown audit record type '" + s + "'");
            }
            if (!audit::kept_record_type(t)) {
                // A rule on it could never match: the framer drops these records.
                r.fail(v,
                       "record_type: " + s +
                           " records are not read (rules can match SYSCALL, PATH, SOCKADDR, CWD, "
                           "EXECVE, "
                           "SECCOMP, PROCTITLE)");
            }
            out.insert(t);
        }
        return out;
    }

    const std::vector<std::string>& dirs_;
    std::shared_ptr<RuleSet> set_ = std::make_shared<RuleSet>();
};

}  // namespace

const std::vector<std::string>& default_binary_dirs() {
    static const std::vector<std::string> kDirs{"/usr/local/sbin",
                                                "/usr/local/bin",
                                                "/usr/sbin",
                                                "/usr/bin",
                                                "/sbin",
                                                "/bin",
                                                "/usr/libexec/docker",
                                                "/usr/libexec/podman"};
    return kDirs;
}

std::shared_ptr<const RuleSet> load_rules_texts(
    const std::vector<std::pair<std::string, std::string>>& files,
    const std::vector<std::string>& binary_dirs) {
    Loader loader(binary_dirs);
    for (const auto& [name, text] : files) {
        loader.load(name, text);
    }
    return loader.finish();
}

std::shared_ptr<const RuleSet> load_rules_dir(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        throw ConfigError(dir, 0, 0, "rules directory does not exist");
    }
    std::vector<std::string> paths;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const auto ext = entry.path().extension();
        if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) {
            paths.push_back(entry.path().string());
        }
    }
    std::sort(paths.begin(), paths.end());
    std::vector<std::pair<std::string, std::string>> files;
    for (const auto& p : paths) {
        std::ifstream in(p, std::ios::binary);
        if (!in) {
            throw ConfigError(p, 0, 0, "cannot read rules file", "unreadable");
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        files.emplace_back(p, ss.str());
    }
    if (files.empty()) {
        throw ConfigError(dir, 0, 0, "no *.yaml rules files in the rules directory");
    }
    return load_rules_texts(files);
}

}  // namespace adock::rules
