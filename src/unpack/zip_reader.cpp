#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "unpack/detail.hpp"

namespace rampart::unpack::detail {
namespace {

struct ArchiveDeleter {
    void operator()(archive* a) const { archive_read_free(a); }
};

/// Feeds libarchive from a ByteSource; remembers the source's own error so the refusal names it
/// rather than libarchive's generic "read error", and counts the compressed bytes for the ratio.
struct ReadState {
    ByteSource& in;
    std::vector<std::byte> buffer = std::vector<std::byte>(64 * 1024);
    // The bytes most recently handed to libarchive, at least `window` of them, kept so that an
    // entry's local header can be looked at after libarchive parsed it (compression_method).
    // Counted in bytes, not reads: a source may hand out a few bytes per read.
    static constexpr std::size_t window = 256 * 1024;
    std::vector<std::byte> history;
    std::uint64_t history_start = 0;
    std::optional<Error> error;
    std::uint64_t compressed = 0;

    void remember(std::span<const std::byte> bytes) {
        history.insert(history.end(), bytes.begin(), bytes.end());
        if (history.size() > 2 * window) {
            auto drop = history.size() - window;
            history.erase(history.begin(), history.begin() + static_cast<std::ptrdiff_t>(drop));
            history_start += drop;
        }
    }
    std::optional<std::uint8_t> byte_at(std::uint64_t offset) const {
        if (offset < history_start || offset - history_start >= history.size()) return std::nullopt;
        return static_cast<std::uint8_t>(history[offset - history_start]);
    }
};

la_ssize_t read_callback(archive* a, void* data, const void** out) {
    auto* state = static_cast<ReadState*>(data);
    auto n = state->in.read(state->buffer);
    if (!n) {
        state->error = std::move(n.error());
        archive_set_error(a, EIO, "%s", state->error->reason.c_str());
        return -1;
    }
    state->compressed += *n;
    state->remember(std::span(state->buffer).first(*n));
    *out = state->buffer.data();
    return static_cast<la_ssize_t>(*n);
}

/// The compression method of the entry libarchive has just read the header of, found as the
/// most recent local header (APPNOTE 4.3.7: signature, then the method as a little-endian
/// 16-bit field at +8, the name length at +26 and the name at +30) that carries the entry's
/// name among the blocks kept. (libarchive's archive_read_header_position() is not the local
/// header's offset for the second and later entries of a streamed zip.)
std::optional<std::uint16_t> compression_method(const ReadState& state, std::string_view name) {
    auto at = [&state](std::uint64_t off) { return state.byte_at(off); };
    auto same = [](std::uint8_t a, char b) {
        // libarchive turns a Windows '\' separator into '/'.
        return a == static_cast<std::uint8_t>(b) || (a == '\\' && b == '/');
    };
    std::uint64_t end = state.compressed;
    std::uint64_t begin = state.history_start;
    for (std::uint64_t off = end; off-- > begin;) {
        if (at(off) != 'P' || at(off + 1) != 'K' || at(off + 2) != 3 || at(off + 3) != 4) continue;
        auto n0 = at(off + 26), n1 = at(off + 27);
        if (!n0 || !n1 || static_cast<std::size_t>(*n0 | (*n1 << 8)) != name.size()) continue;
        bool match = true;
        for (std::size_t k = 0; match && k < name.size(); ++k) {
            auto b = at(off + 30 + k);
            match = b && same(*b, name[k]);
        }
        if (!match) continue;
        auto lo = at(off + 8), hi = at(off + 9);
        if (!lo || !hi) return std::nullopt;
        return static_cast<std::uint16_t>(*lo | (*hi << 8));
    }
    return std::nullopt;
}

/// The data of the current entry, capped at max_expanded and max_ratio.
class EntrySource final : public ByteSource {
public:
    EntrySource(archive* a, const ReadState& state, const IngestLimits& limits)
        : a_(a), state_(state), limits_(limits) {}
    Result<std::size_t> read(std::span<std::byte> buffer) override {
        // Errors are final: after a cap, further reads must not resume inflating.
        if (error_) return std::unexpected(*error_);
        auto n = read_some(buffer);
        if (!n) error_ = n.error();
        return n;
    }

private:
    Result<std::size_t> read_some(std::span<std::byte> buffer) {
        auto n = archive_read_data(a_, buffer.data(), buffer.size());
        if (n < 0) {
            if (state_.error) return std::unexpected(*state_.error);
            const char* msg = archive_error_string(a_);
            return fail(Errc::malformed, fmt::format("the zip entry is damaged: {}",
                                                     printable(msg ? msg : "error")));
        }
        expanded_ += static_cast<std::uint64_t>(n);
        if (expanded_ > limits_.max_expanded)
            return fail(Errc::limit_exceeded,
                        fmt::format("decompressed data exceeds the limit of {} bytes (zip bomb?)",
                                    limits_.max_expanded));
        // The denominator is every compressed byte read so far, this entry's and the ones before
        // it, read-ahead included: the ratio is never overstated, so no real report trips it,
        // while a bomb (deflate reaches 1032:1) still does past the first MiB.
        if (expanded_ > (1u << 20) &&
            expanded_ / std::max<std::uint64_t>(state_.compressed, 1) > limits_.max_ratio)
            return fail(Errc::limit_exceeded,
                        fmt::format("zip entry expands more than {}:1 (zip bomb?)",
                                    limits_.max_ratio));
        return static_cast<std::size_t>(n);
    }

    archive* a_;
    const ReadState& state_;
    const IngestLimits& limits_;
    std::uint64_t expanded_ = 0;
    std::optional<Error> error_;
};

/// Entry names are only shown, never used as paths; still, a name that tries to climb out of a
/// directory or is absolute marks a hostile archive, so that entry is refused.
std::optional<std::string> unsafe_name_reason(std::string_view name) {
    if (name.starts_with('/') || name.starts_with('\\')) return "has an absolute path";
    // "C:/x.xml", "c:x.xml": a Windows drive (libarchive has already turned backslashes into
    // slashes by the time we see the name).
    if (name.size() >= 2 && name[1] == ':' &&
        ((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z')))
        return "has an absolute path";
    std::size_t start = 0;
    while (start <= name.size()) {
        auto end = name.find_first_of("/\\", start);
        if (end == std::string_view::npos) end = name.size();
        if (name.substr(start, end - start) == "..") return "contains a '..' component";
        start = end + 1;
    }
    return std::nullopt;
}

}  // namespace

void unzip(ByteSource& in, const Location& where, Context& ctx, std::uint32_t depth) {
    std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
    RAMPART_ASSERT(a != nullptr);
    archive_read_support_format_zip(a.get());
    ReadState state{in};
    auto damaged = [&](std::string_view what) {
        if (state.error) {
            Error e = *state.error;
            if (e.where.source.empty()) e.where = where;
            return ctx.visitor.on_rejected(e);
        }
        const char* msg = archive_error_string(a.get());
        ctx.visitor.on_rejected(Error{Errc::malformed,
                                      fmt::format("{}: {}", what, printable(msg ? msg : "error")),
                                      where});
    };
    if (archive_read_open(a.get(), &state, nullptr, &read_callback, nullptr) != ARCHIVE_OK)
        return damaged("not a readable zip archive");
    std::uint32_t entries = 0;
    for (;;) {
        archive_entry* entry = nullptr;
        int rc = archive_read_next_header(a.get(), &entry);
        if (rc == ARCHIVE_EOF) {
            // Silence would look like success to the caller: say that nothing was inside.
            if (entries == 0)
                ctx.visitor.on_rejected(
                    Error{Errc::malformed, "the zip archive holds no files", where});
            break;
        }
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return damaged("the zip archive is damaged");
        if (archive_entry_filetype(entry) == AE_IFDIR) continue;
        if (++entries > ctx.limits.max_zip_entries) {
            ctx.visitor.on_rejected(Error{
                Errc::limit_exceeded,
                fmt::format("the zip archive has more than {} entries; the rest are ignored",
                            ctx.limits.max_zip_entries),
                where});
            return;
        }
        const char* raw = archive_entry_pathname(entry);
        std::string name = raw ? raw : "";
        // mail-dmarc's test_dmarc.xml.zip has an entry whose name is empty.
        Location at = where.nested(name.empty() ? fmt::format("entry {} (no name)", entries)
                                                : printable(name));
        if (auto why = unsafe_name_reason(name)) {
            ctx.visitor.on_rejected(
                Error{Errc::malformed, fmt::format("zip entry name {}", *why), at});
            continue;
        }
        // Receivers compress with deflate (or store). libarchive would also decode LZMA, bzip2,
        // xz and zstd entries, and LZMA takes its dictionary size from the entry itself: a
        // 400-byte entry made liblzma ask for 4 GiB (found by fuzz_unpack). Only the two
        // methods reports use are read.
        auto method = compression_method(state, raw ? std::string_view(raw) : std::string_view());
        if (method != std::uint16_t{0} && method != std::uint16_t{8}) {
            ctx.visitor.on_rejected(Error{
                Errc::unsupported,
                method ? fmt::format("the zip entry uses compression method {}; only stored "
                                     "and deflate entries are read",
                                     *method)
                       : std::string("the zip entry's local header cannot be checked"),
                at});
            continue;
        }
        if (archive_entry_is_encrypted(entry)) {
            ctx.visitor.on_rejected(Error{Errc::unsupported, "the zip entry is encrypted", at});
            continue;
        }
        EntrySource entry_source(a.get(), state, ctx.limits);
        dispatch(entry_source, at, ctx, depth);
    }
}

}  // namespace rampart::unpack::detail
