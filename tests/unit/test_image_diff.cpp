// SPDX-License-Identifier: Apache-2.0
// Image-verified drift: the overlay found in a mount table by the record's device, and a file
// compared between the image's lower layers and the merged view. The "overlay" here is plain
// directories laid out as one (a merged view, two lower layers) with a mount table naming
// them at the device of the directory holding them: the comparison reads directories, it
// never asks the kernel to merge anything.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "integrity/digest.hpp"
#include "integrity/image_diff.hpp"
#include "integrity/image_diff_worker.hpp"
#include "test_catch.hpp"
#include "util/audit_dev.hpp"

using namespace adock;
using namespace adock::integrity;
namespace fs = std::filesystem;

namespace {

struct Tree {
    fs::path root;

    Tree() {
        root = fs::temp_directory_path() / ("adock-imgdiff-" + std::to_string(::getpid()));
        fs::remove_all(root);
        for (const char* d : {"L1", "L2", "merged", "upper"}) {
            fs::create_directories(root / d);
        }
        root = fs::canonical(root);
    }

    ~Tree() { fs::remove_all(root); }

    void write(const std::string& rel,
               const std::string& content,
               fs::perms mode = fs::perms(0755)) const {
        const fs::path p = root / rel;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << content;
        fs::permissions(p, mode);
    }

    [[nodiscard]] std::string dev() const {
        struct stat st {};

        REQUIRE(::stat((root / "merged").c_str(), &st) == 0);
        return util::audit_dev(st.st_dev);
    }

    /// A mountinfo line for the overlay at merged/ with lower layers L1 (top) and L2.
    [[nodiscard]] std::string mountinfo(const std::string& dev) const {
        const auto colon = dev.find(':');
        const unsigned major = std::stoul(dev.substr(0, colon), nullptr, 16);
        const unsigned minor = std::stoul(dev.substr(colon + 1), nullptr, 16);
        const std::string r = root.string();
        return "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
               "97 22 " +
               std::to_string(major) + ":" + std::to_string(minor) + " / " + r +
               "/merged rw,relatime - overlay overlay rw,lowerdir=" + r + "/L1:" + r +
               "/L2,upperdir=" + r + "/upper,workdir=" + r + "/work\n";
    }

    [[nodiscard]] std::string table() const {
        const std::string path = (root / "mountinfo").string();
        std::ofstream(path) << mountinfo(dev());
        return path;
    }
};

std::string sha_of(const std::string& content) {
    const fs::path p =
        fs::temp_directory_path() / ("adock-imgdiff-sha-" + std::to_string(::getpid()));
    std::ofstream(p, std::ios::binary) << content;
    std::string error;
    auto f = examine_path(p.string(), 1 << 20, error);
    fs::remove(p);
    REQUIRE(f);
    return f->sha256;
}

}  // namespace

TEST_CASE("image diff: the overlay of a mount table by the record's device",
          "[integrity][image_diff]") {
    const std::string text =
        "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
        "97 22 0:97 / /var/lib/docker/overlay2/abc/merged rw,relatime - overlay overlay "
        "rw,lowerdir=/var/lib/docker/overlay2/l/A:/var/lib/docker/overlay2/l/B,upperdir=/var/lib/"
        "docker/overlay2/abc/diff,"
        "workdir=/var/lib/docker/overlay2/abc/work\n"
        // Docker's short form (relative to the driver's home) and a path with a space.
        "98 22 0:98 / /var/lib/docker/overlay2/d\\040e/merged rw shared:7 master:1 - overlay "
        "overlay "
        "rw,lowerdir=l/C:l/D,upperdir=d\\040e/diff,workdir=d\\040e/work\n"
        // A bind mount of part of an overlay is not the overlay's root.
        "99 22 0:97 /usr /mnt/usr rw - overlay overlay rw,lowerdir=/x,upperdir=/y,workdir=/z\n"
        // The newer kernels' lowerdir+= form.
        "100 22 0:100 / /run/c/rootfs rw - overlay overlay "
        "rw,lowerdir+=/s/2/fs,lowerdir+=/s/1/fs,upperdir=/s/3/fs\n";
    auto m = find_overlay(text, "00:61");
    REQUIRE(m);
    CHECK(m->mount_point == "/var/lib/docker/overlay2/abc/merged");
    CHECK(m->lower ==
          std::vector<std::string>{"/var/lib/docker/overlay2/l/A", "/var/lib/docker/overlay2/l/B"});
    CHECK(m->upper == "/var/lib/docker/overlay2/abc/diff");
    auto s = find_overlay(text, "00:62");
    REQUIRE(s);
    CHECK(s->mount_point == "/var/lib/docker/overlay2/d e/merged");
    CHECK(s->lower ==
          std::vector<std::string>{"/var/lib/docker/overlay2/l/C", "/var/lib/docker/overlay2/l/D"});
    CHECK(s->upper == "/var/lib/docker/overlay2/d e/diff");
    auto n = find_overlay(text, "00:64");
    REQUIRE(n);
    CHECK(n->lower == std::vector<std::string>{"/s/2/fs", "/s/1/fs"});
    CHECK_FALSE(find_overlay(text, "08:01"));  // ext4, not an overlay
    CHECK_FALSE(find_overlay(text, "00:63"));
    CHECK_FALSE(find_overlay(text, "zz"));
    CHECK(unescape_mountinfo("a\\040b\\134c\\011") == "a b\\c\t");

    CHECK(beneath_one_of("/var/lib/docker/overlay2/l/A", {"/var/lib/docker"}));
    CHECK_FALSE(beneath_one_of("/var/lib/docker", {"/var/lib/docker"}));
    CHECK_FALSE(beneath_one_of("/var/lib/dockerx/a", {"/var/lib/docker"}));
    CHECK_FALSE(beneath_one_of("/var/lib/docker/../../etc", {"/var/lib/docker"}));
    CHECK_FALSE(beneath_one_of("relative/x", {"/var/lib/docker"}));
    CHECK_FALSE(beneath_one_of("/etc/x", {"/"}));  // "/" is no storage directory
}

TEST_CASE(
    "image diff: modified, attributes, unchanged, added, removed, absent, through the container's "
    "symlinks",
    "[integrity][image_diff]") {
    Tree t;
    t.write("L2/usr/bin/tool", "tool v1\n");
    t.write("L2/usr/bin/same", "same\n");
    t.write("L2/usr/bin/chm", "chm\n");
    t.write("L2/usr/bin/rmd", "removed later\n");
    t.write("L1/usr/bin/tool", "tool v1.1\n");  // the top layer's version is the image's
    t.write("merged/usr/bin/tool", "tool v2 (written in the container)\n");
    t.write("merged/usr/bin/same", "same\n");
    t.write("merged/usr/bin/chm", "chm\n", fs::perms(0700));
    t.write("merged/tmp/x", "dropped\n");
    fs::create_directory_symlink("usr/bin", t.root / "merged/bin");  // Debian's merged /usr
    // absolute: in the container's root
    fs::create_symlink("/etc/shadow", t.root / "merged/usr/bin/evil");
    t.write("merged/etc/shadow", "the container's own\n", fs::perms(0600));
    const std::string table = t.table();
    const std::string dev = t.dev();
    const std::vector<std::string> roots{t.root.string()};

    auto tool = diff_against_image(table, {dev}, "/bin/tool", roots);
    CHECK(tool.verdict == "modified");
    CHECK(tool.path == "/usr/bin/tool");  // resolved as the container resolves /bin
    REQUIRE(tool.image);
    REQUIRE(tool.now);
    CHECK(tool.image->sha256 == sha_of("tool v1.1\n"));
    CHECK(tool.now->sha256 == sha_of("tool v2 (written in the container)\n"));
    CHECK_FALSE(tool.reason);

    auto same = diff_against_image(table, {dev}, "/usr/bin/same", roots);
    CHECK(same.verdict == "unchanged");

    auto chm = diff_against_image(table, {dev}, "/usr/bin/chm", roots);
    CHECK(chm.verdict == "attributes");
    REQUIRE(chm.image);
    REQUIRE(chm.now);
    CHECK(chm.image->mode == 0755);
    CHECK(chm.now->mode == 0700);

    auto added = diff_against_image(table, {dev}, "/tmp/x", roots);
    CHECK(added.verdict == "added");
    CHECK_FALSE(added.image);
    REQUIRE(added.now);
    CHECK(added.now->size == 8);

    auto removed = diff_against_image(table, {dev}, "/usr/bin/rmd", roots);
    CHECK(removed.verdict == "removed");
    CHECK(removed.image);
    CHECK_FALSE(removed.now);

    auto absent = diff_against_image(table, {dev}, "/usr/bin/tool3", roots);
    CHECK(absent.verdict == "absent");

    // A symlink to the host's /etc/shadow resolves in the container's root: nothing read of
    // the host's file.
    auto evil = diff_against_image(table, {dev}, "/usr/bin/evil", roots);
    CHECK(evil.path == "/etc/shadow");
    CHECK(evil.verdict == "added");
    REQUIRE(evil.now);
    CHECK(evil.now->sha256 == sha_of("the container's own\n"));
}

TEST_CASE("image diff: whiteouts and covering files of upper image layers hide the lower ones",
          "[integrity][image_diff][hostile]") {
    Tree t;
    t.write("L2/usr/bin/old", "old\n");
    t.write("L2/opt/app/bin", "lower app\n");
    t.write("L1/opt/app", "a file where L2 has a directory\n");
    t.write("merged/usr/bin/old", "recreated\n");
    t.write("merged/opt/app/bin", "recreated\n");
    fs::create_directories(t.root / "L1/usr/bin");
    const bool whiteouts =
        ::mknod((t.root / "L1/usr/bin/old").c_str(), S_IFCHR | 0600, makedev(0, 0)) == 0;
    const std::string table = t.table();
    const std::vector<std::string> roots{t.root.string()};
    auto app = diff_against_image(table, {t.dev()}, "/opt/app/bin", roots);
    CHECK(app.verdict == "added");  // L1's file covers L2's directory: not the image's
    if (whiteouts) {
        auto old = diff_against_image(table, {t.dev()}, "/usr/bin/old", roots);
        CHECK(old.verdict == "added");
        CHECK_FALSE(old.image);
    } else {
        WARN("no CAP_MKNOD: the whiteout case is not exercised");
    }
}

TEST_CASE("image diff: unknown, never a guess, when the overlay is not one the runtimes keep",
          "[integrity][image_diff][hostile]") {
    Tree t;
    t.write("L2/usr/bin/tool", "v1\n");
    t.write("merged/usr/bin/tool", "v2\n");
    const std::string table = t.table();
    const std::string dev = t.dev();
    // Positive control: with the right root it is compared.
    CHECK(diff_against_image(table, {dev}, "/usr/bin/tool", {t.root.string()}).verdict ==
          "modified");

    // An overlay a container mounted itself (its layers named by it) lies outside the storage.
    auto outside = diff_against_image(table, {dev}, "/usr/bin/tool", {"/var/lib/docker"});
    CHECK(outside.verdict == "unknown");
    REQUIRE(outside.reason);
    CHECK(outside.reason->find("storage directory") != std::string::npos);
    CHECK_FALSE(outside.image);
    CHECK_FALSE(outside.now);

    // Another device: no such overlay (the container stopped).
    auto gone = diff_against_image(table, {"00:01"}, "/usr/bin/tool", {t.root.string()});
    CHECK(gone.verdict == "unknown");
    // The first candidate device that is an overlay is taken (a deleted name's is the upper
    // filesystem's, the directory's is the overlay's).
    CHECK(diff_against_image(table, {"00:01", dev}, "/usr/bin/tool", {t.root.string()}).verdict ==
          "modified");

    // A layer leading out of the storage through a symlink.
    fs::remove_all(t.root / "L1");
    fs::create_directory_symlink("/etc", t.root / "L1");
    auto escape = diff_against_image(table, {dev}, "/usr/bin/tool", {t.root.string()});
    CHECK(escape.verdict == "unknown");
    fs::remove(t.root / "L1");
    fs::create_directories(t.root / "L1");

    // Not absolute, or over the byte budget.
    CHECK(diff_against_image(table, {dev}, "usr/bin/tool", {t.root.string()}).verdict == "unknown");
    ImageDiffLimits small;
    small.max_path_bytes = 8;
    CHECK(diff_against_image(table, {dev}, "/usr/bin/tool", {t.root.string()}, small).verdict ==
          "unknown");
    // Over the hashing budget: sizes and modes, no verdict on content.
    ImageDiffLimits tiny;
    tiny.max_hash_bytes = 2;
    auto big = diff_against_image(table, {dev}, "/usr/bin/tool", {t.root.string()}, tiny);
    CHECK(big.verdict == "unknown");
    INFO(big.reason.value_or(""));
    REQUIRE(big.now);
    CHECK(big.now->sha256.empty());
}

TEST_CASE("image diff: the alert's image_diff object", "[integrity][image_diff][alert]") {
    Alert a;
    a.rule_id = "container_drift_exec";
    CHECK(to_json(a).find("image_diff") == std::string::npos);  // only where compared
    ImageDiffRef d;
    d.path = "/tmp/true";
    d.now = FileState{std::string(64, 'a'), 1234, 0755, 0, 0};
    d.verdict = "added";
    a.image_diff = d;
    const std::string json = to_json(a);
    CHECK(json.find(R"("image_diff":{"path":"/tmp/true","image":null,"now":{"sha256":")" +
                    std::string(64, 'a') +
                    R"(","size":1234,"mode":"0755","uid":0,"gid":0},"verdict":"added"})") !=
          std::string::npos);
    a.image_diff->now->sha256.clear();  // not hashed: over the budget
    a.image_diff->verdict = "unknown";
    a.image_diff->reason = "too large";
    CHECK(to_json(a).find(R"("now":{"sha256":null,"size":1234)") != std::string::npos);
    CHECK(to_json(a).find(R"("verdict":"unknown","reason":"too large"})") != std::string::npos);
}

TEST_CASE(
    "image diff worker: alerts compared on its own thread and handed back, none lost at a stop",
    "[integrity][image_diff]") {
    Tree t;
    t.write("L2/usr/bin/tool", "v1\n");
    t.write("merged/usr/bin/tool", "v2\n");
    const std::string table = t.table();
    const std::string dev = t.dev();
    {
        ImageDiffWorker w({t.root.string()}, ImageDiffLimits{}, table);
        Alert a;
        a.rule_id = "container_binary_modified";
        a.summary = "chmod of /usr/bin/tool";
        REQUIRE(w.submit(a, {"00:01", dev}, "/usr/bin/tool"));
        w.drain(5000);
        REQUIRE(w.has_ready());
        auto got = w.take();
        REQUIRE(got.size() == 1);
        REQUIRE(got[0].image_diff);
        CHECK(got[0].image_diff->verdict == "modified");
        CHECK(got[0].summary.starts_with(
            "chmod of /usr/bin/tool; against its image: modified (sha256 "));
        CHECK_FALSE(w.has_ready());
        CHECK(w.stats().compared == 1);
        // No device or no storage root: not queued (the caller sends the alert as it is).
        CHECK_FALSE(w.submit(a, {}, "/usr/bin/tool"));
        // A stop: what is queued comes back uncompared, every one.
        w.cut();
        for (int i = 0; i < 20; ++i) {
            REQUIRE(w.submit(a, {dev}, "/usr/bin/tool"));
        }
        w.drain(5000);
        auto rest = w.take();
        REQUIRE(rest.size() == 20);
        CHECK(rest.back().image_diff->verdict == "unknown");
        CHECK(rest.back().image_diff->reason ==
              std::optional<std::string>("not compared: the plugin was stopping"));
    }
    ImageDiffWorker none({}, ImageDiffLimits{}, table);
    CHECK_FALSE(none.submit(Alert{}, {dev}, "/usr/bin/tool"));  // no storage roots on this host
}
