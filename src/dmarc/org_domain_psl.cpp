// Organizational Domain by the Public Suffix List (RFC 7489 §3.2), through libpsl.
//
// libpsl matches the whole list (ICANN and PRIVATE sections), as OpenDMARC does; RFC 7489 does
// not say which sections to use. The list is the system's copy (Debian package publicsuffix,
// where libpsl was built to look for it), or libpsl's built-in list when the system has none.
#include <libpsl.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "dmarc/internal.hpp"

namespace rampart::dmarc {
namespace {

struct PslFree {
    void operator()(psl_ctx_t* ctx) const noexcept { psl_free(ctx); }
};

struct PslList {
    std::unique_ptr<psl_ctx_t, PslFree> loaded;  // owned when read from a file
    const psl_ctx_t* ctx = nullptr;
    std::string source;
};

PslList load_list() {
    PslList list;
    // The distribution's file first, so the answer follows the system's publicsuffix package
    // (psl_latest() would silently prefer libpsl's built-in copy when that is newer).
    const char* dist = psl_dist_filename();
    if (dist != nullptr && *dist != '\0') list.loaded.reset(psl_load_file(dist));
    if (list.loaded) {
        list.ctx = list.loaded.get();
        list.source = dist;
        return list;
    }
    list.loaded.reset(psl_latest(nullptr));
    list.ctx = list.loaded ? list.loaded.get() : psl_builtin();
    list.source = "libpsl built-in";
    return list;
}

/// Loaded on first use; C++ guarantees that initialisation happens once, whatever the threads.
const PslList& psl_list() {
    static const PslList list = load_list();
    return list;
}

constexpr std::size_t max_name = 253;

bool is_ascii(std::string_view text) noexcept {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

/// Lower case for ASCII by hand; for UTF-8 U-labels through libpsl (which knows Unicode case).
std::optional<std::string> lower_case(std::string_view name) {
    if (is_ascii(name)) return ascii_lower(name);
    char* lower = nullptr;
    const std::string input(name);
    if (psl_str_to_utf8lower(input.c_str(), "utf-8", nullptr, &lower) != PSL_SUCCESS ||
        lower == nullptr) {
        return std::nullopt;
    }
    std::string out(lower);
    psl_free_string(lower);
    return out;
}

/// The name without one trailing dot, or nullopt when it cannot be a domain name at all.
std::optional<std::string_view> shape_checked(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty() || name.size() > max_name) return std::nullopt;
    if (name.front() == '.' || name.find("..") != std::string_view::npos) return std::nullopt;
    const bool has_control = std::any_of(name.begin(), name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x21 || u == 0x7f;
    });
    if (has_control) return std::nullopt;
    return name;
}

}  // namespace

std::optional<std::string> org_domain_by_psl(std::string_view name) {
    const auto shaped = shape_checked(name);
    if (!shaped) return std::nullopt;
    auto lower = lower_case(*shaped);
    if (!lower) return std::nullopt;
    const char* registrable = psl_registrable_domain(psl_list().ctx, lower->c_str());
    if (registrable == nullptr) return std::nullopt;
    return std::string(registrable);
}

std::string psl_source() { return psl_list().source; }

}  // namespace rampart::dmarc
