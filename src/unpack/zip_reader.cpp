#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <vector>

#include <fmt/format.h>

#include "unpack/detail.hpp"

namespace rampart::unpack::detail {
namespace {

struct ArchiveDeleter {
    void operator()(archive* a) const { archive_read_free(a); }
};

/// Feeds libarchive from a ByteSource; remembers the source's own error so the refusal names it
/// rather than libarchive's generic "read error".
struct ReadState {
    ByteSource& in;
    std::vector<std::byte> buffer = std::vector<std::byte>(64 * 1024);
    std::optional<Error> error;
};

la_ssize_t read_callback(archive* a, void* data, const void** out) {
    auto* state = static_cast<ReadState*>(data);
    auto n = state->in.read(state->buffer);
    if (!n) {
        state->error = std::move(n.error());
        archive_set_error(a, EIO, "%s", state->error->reason.c_str());
        return -1;
    }
    *out = state->buffer.data();
    return static_cast<la_ssize_t>(*n);
}

/// The data of the current entry, capped at max_expanded.
class EntrySource final : public ByteSource {
public:
    EntrySource(archive* a, const IngestLimits& limits) : a_(a), limits_(limits) {}
    Result<std::size_t> read(std::span<std::byte> buffer) override {
        auto n = archive_read_data(a_, buffer.data(), buffer.size());
        if (n < 0)
            return fail(Errc::malformed,
                        fmt::format("the zip entry is damaged: {}", printable(archive_error_string(a_) ? archive_error_string(a_) : "error")));
        expanded_ += static_cast<std::uint64_t>(n);
        if (expanded_ > limits_.max_expanded)
            return fail(Errc::limit_exceeded,
                        fmt::format("decompressed data exceeds the limit of {} bytes (zip bomb?)",
                                    limits_.max_expanded));
        return static_cast<std::size_t>(n);
    }

private:
    archive* a_;
    const IngestLimits& limits_;
    std::uint64_t expanded_ = 0;
};

/// Entry names are only shown, never used as paths; still, a name that tries to climb out of a
/// directory or is absolute marks a hostile archive, so that entry is refused.
std::optional<std::string> unsafe_name_reason(std::string_view name) {
    if (name.starts_with('/') || name.starts_with('\\')) return "has an absolute path";
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
        if (rc == ARCHIVE_EOF) break;
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
        if (archive_entry_is_encrypted(entry)) {
            ctx.visitor.on_rejected(Error{Errc::unsupported, "the zip entry is encrypted", at});
            continue;
        }
        EntrySource entry_source(a.get(), ctx.limits);
        dispatch(entry_source, at, ctx, depth);
    }
}

}  // namespace rampart::unpack::detail
