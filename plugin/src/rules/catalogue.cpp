// SPDX-License-Identifier: Apache-2.0
#include "rules/catalogue.hpp"

#include <sys/stat.h>

#include "rules/loader.hpp"

namespace adock::rules {

std::shared_ptr<const RuleSet> load_catalogue(const std::string& dir, bool dir_is_default) {
    struct stat st {};

    if (dir_is_default && ::stat(dir.c_str(), &st) != 0) {
        return load_rules_texts(builtin_catalogue());
    }
    return load_rules_dir(dir);
}

std::string describe_origin(const RuleSet& set) {
    const bool builtin = !set.files.empty() && set.files.front().starts_with("built-in:");
    const std::string n =
        std::to_string(set.files.size()) + " file" + (set.files.size() == 1 ? "" : "s");
    if (builtin) {
        return "the built-in catalogue (" + n + ", no rules directory installed)";
    }
    std::string dir = set.files.empty() ? std::string() : set.files.front();
    if (const auto slash = dir.rfind('/'); slash != std::string::npos) {
        dir.resize(slash);
    }
    return dir + " (" + n + ")";
}

}  // namespace adock::rules
