// SPDX-License-Identifier: Apache-2.0
// Image-verified drift (issue 15, seed 004 step 2 done for the analyst): a file a container
// changed or ran, compared with the file as the container's image has it. Containers of
// Docker (overlay2), podman (overlay) and containerd (overlayfs snapshotter) run on an
// overlay: its lower layers are the image, the merged view is the container's root now. The
// overlay is found in the host's own mount table by the device the audit record gives the
// file (the overlay's anonymous device), never by a path or name from the record or the
// container, and it is used only when its mount point and every layer lie beneath a runtime's
// storage directory the configuration names: a container that mounts an overlay of its own
// (CAP_SYS_ADMIN in its namespace) does not make the plugin read what it chooses. Runs on the
// integrity worker, off the engine thread; reads and hashes are bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alert/alert.hpp"
#include "util/bytes.hpp"

namespace adock::integrity {

/// One overlay filesystem of a mount table.
struct OverlayMount {
    std::string mount_point;         ///< in the host's mount namespace
    std::vector<std::string> lower;  ///< the image: top layer first
    std::string upper;               ///< the container's writable layer ("" when read-only)
};

/// The overlay of `mountinfo` (a /proc/PID/mountinfo text) whose device is `dev` as a PATH
/// record writes it ("00:61"), mounted as a whole (not a bind mount of part of one). Relative
/// layer paths (Docker's short form for long layer lists) are taken relative to the driver's
/// home, the mount point's grandparent (<home>/<layer>/merged).
[[nodiscard]] std::optional<OverlayMount> find_overlay(std::string_view mountinfo,
                                                       std::string_view dev);

/// mountinfo's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash) undone.
[[nodiscard]] std::string unescape_mountinfo(std::string_view field);

/// `path` lexically beneath one of `roots` (both absolute, normalised; no "..").
[[nodiscard]] bool beneath_one_of(const std::string& path, const std::vector<std::string>& roots);

struct ImageDiffLimits {
    std::uint64_t max_hash_bytes = 64ULL * 1024 * 1024;  ///< files above: size and mode, no sha256
    std::size_t max_layers = 128;
    std::size_t max_mountinfo_bytes = 4 * util::kMiB;
    std::size_t max_path_bytes = 4096;
};

/// Compares the file at `path` (absolute, as the container sees it) in the overlay with the
/// first of `devs` that is one (the file's own device; a name being deleted from the upper
/// layer has the upper filesystem's, so the directory's and the acting program's follow) with
/// the image's lower layers. `roots`: the runtimes' storage directories the overlay
/// must be under. `mountinfo_path`: the host's mount table (/proc/self/mountinfo).
///
/// verdict: `modified` (content differs from the image's), `attributes` (same content; mode
/// or owner differ), `unchanged`, `added` (not in the image, there now), `removed` (in the
/// image, gone now), `absent` (neither: created and removed again), `unknown` (`reason` says
/// why: not an overlay, overlay gone, not beneath a storage directory, too large to compare).
[[nodiscard]] ImageDiffRef diff_against_image(const std::string& mountinfo_path,
                                              const std::vector<std::string>& devs,
                                              const std::string& path,
                                              const std::vector<std::string>& roots,
                                              const ImageDiffLimits& limits = {});

}  // namespace adock::integrity
