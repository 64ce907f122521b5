// Canonicalization (RFC 6376 §3.4) and the hash inputs built from it (§3.7): header fields one
// at a time, the signature field with b= emptied, the fields h= selects, and the body as a
// stream through BodyHasher.
#include "dkim/dkim.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <unordered_map>

#include "dkim/crypto.hpp"

namespace rampart::dkim {

namespace {

constexpr bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }

/// Relaxed header canonicalization (§3.4.2) of `name` and `value`, appended to `out`.
void append_relaxed(std::string& out, std::string_view name, std::string_view value) {
    for (const char c : name) {
        out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
    out.push_back(':');
    bool pending_space = false;
    bool started = false;  // WSP before the value's first octet goes (around the colon)
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        // Unfolding removes the CRLF; the WSP after it then joins the run.
        if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') {
            ++i;
            continue;
        }
        if (is_wsp(c)) {
            pending_space = started;
            continue;
        }
        if (pending_space) out.push_back(' ');
        pending_space = false;
        started = true;
        out.push_back(c);
    }
    // WSP at the end of the value is dropped: pending_space is never written.
    out.append("\r\n");
}

void append_canonical(std::string& out, std::string_view raw, std::size_t colon,
                      Canonicalization c) {
    if (c == Canonicalization::simple) {
        out.append(raw);
        out.append("\r\n");
        return;
    }
    std::string_view name = raw.substr(0, std::min(colon, raw.size()));
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    const std::string_view value = colon < raw.size() ? raw.substr(colon + 1) : std::string_view{};
    append_relaxed(out, name, value);
}

/// The field with the value of its b= tag removed: from just after "b=" up to the ";" that ends
/// the tag (or the end), folding and WSP included, as dkimpy and OpenDKIM do. Only the first
/// b= counts: a tag list has one (duplicates make it invalid anyway).
std::string without_b_value(const message::Field& field) {
    const std::string_view raw = field.raw;
    std::size_t at = std::min(field.colon + 1, raw.size());
    while (at < raw.size()) {
        std::size_t start = at;
        while (start < raw.size() &&
               (is_wsp(raw[start]) || raw[start] == '\r' || raw[start] == '\n')) {
            ++start;
        }
        const std::size_t end = std::min(raw.find(';', start), raw.size());
        std::size_t name_end = start;
        while (name_end < end && raw[name_end] != '=' && !is_wsp(raw[name_end]) &&
               raw[name_end] != '\r' && raw[name_end] != '\n') {
            ++name_end;
        }
        std::size_t eq = name_end;
        while (eq < end && raw[eq] != '=') ++eq;
        if (raw.substr(start, name_end - start) == "b" && eq < end) {
            std::string out(raw.substr(0, eq + 1));
            out.append(raw.substr(end));
            return out;
        }
        at = end + 1;
    }
    return std::string(raw);
}

}  // namespace

std::string canonicalize_header(const message::Field& field, Canonicalization c) {
    std::string out;
    out.reserve(field.raw.size() + 2);
    append_canonical(out, field.raw, field.colon, c);
    return out;
}

std::string canonicalize_signature_field(const message::Field& field, Canonicalization c) {
    const std::string raw = without_b_value(field);
    std::string out;
    out.reserve(raw.size() + 2);
    append_canonical(out, raw, field.colon, c);
    out.resize(out.size() - 2);  // §3.7: the signature field goes in without its CRLF
    return out;
}

std::string canonicalize_selected(const message::Header& header, std::span<const std::string> names,
                                  Canonicalization c) {
    // For each name, where the upward search for its next unused instance resumes.
    std::unordered_map<std::string, std::size_t> next_above;
    std::vector<const message::Field*> chosen;
    chosen.reserve(names.size());
    std::size_t total = 0;
    for (const auto& name : names) {
        auto [entry, inserted] = next_above.try_emplace(ascii_lower(name), header.fields.size());
        std::size_t& above = entry->second;
        while (above > 0 && !header.fields[above - 1].is(name)) --above;
        if (above == 0) continue;  // over-signed: no instance left, nothing is hashed
        --above;
        chosen.push_back(&header.fields[above]);
        total += header.fields[above].raw.size() + 2;
    }
    std::string out;
    out.reserve(total);
    for (const auto* field : chosen) append_canonical(out, field->raw, field->colon, c);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Body (§3.4.3, §3.4.4)

namespace {

constexpr std::size_t flush_at = 64 * 1024;

/// One canonicalization of the body as a stream. Simple output is the chunk itself, hashed where
/// it lies; relaxed output is gathered in a reused buffer and handed to the sink in large
/// pieces. No allocation per line; the only state carried between chunks is a count of
/// line ends not yet written (they may turn out to be trailing empty lines), whether WSP is
/// pending (relaxed), and a CR at the very end of a chunk whose LF may be in the next one.
class BodyCanonicalizer {
public:
    using Sink = void (*)(void* context, std::string_view canonical);

    BodyCanonicalizer(Canonicalization c, Sink sink, void* context)
        : relaxed_(c == Canonicalization::relaxed), sink_(sink), context_(context) {
        buffer_.reserve(flush_at + 256);
    }

    void update(std::string_view chunk) {
        std::size_t i = 0;
        if (cr_pending_ && !chunk.empty()) {
            cr_pending_ = false;
            if (chunk.front() == '\n') {
                end_line();
                i = 1;
            } else {
                content("\r");
            }
        }
        if (relaxed_) {
            relaxed(chunk, i);
        } else {
            simple(chunk, i);
        }
        flush();
    }

    void finish() {
        if (cr_pending_) content("\r");
        cr_pending_ = false;
        // Trailing empty lines go; the last line gets its CRLF (added when it had none). A
        // simple body that is empty becomes one CRLF, a relaxed one stays empty.
        if (!relaxed_ || any_content_) buffer_.append("\r\n");
        flush();
    }

private:
    void end_line() {
        pending_wsp_ = false;  // relaxed: WSP at a line end goes
        ++pending_lines_;
    }

    void write_pending_lines() {
        static constexpr std::string_view crlfs =
            "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";
        while (pending_lines_ > 0) {
            const auto n = std::min<std::uint64_t>(pending_lines_, crlfs.size() / 2);
            buffer_.append(crlfs.substr(0, n * 2));
            pending_lines_ -= n;
            if (buffer_.size() >= flush_at) flush();
        }
    }

    /// Octets that belong to a line: the empty lines before them were not trailing after all.
    void content(std::string_view octets) {
        write_pending_lines();
        if (pending_wsp_) buffer_.push_back(' ');
        pending_wsp_ = false;
        any_content_ = true;
        buffer_.append(octets);
        if (buffer_.size() >= flush_at) flush();
    }

    /// Simple changes nothing but the trailing empty lines, so all of a chunk goes to the sink
    /// as it is, except the line ends at its very end: they wait until content follows them.
    void simple(std::string_view chunk, std::size_t i) {
        std::string_view part = chunk.substr(i);
        if (!part.empty() && part.back() == '\r') {
            cr_pending_ = true;
            part.remove_suffix(1);
        }
        std::uint64_t line_ends = 0;
        while (part.size() >= 2 && part.ends_with("\r\n")) {
            part.remove_suffix(2);
            ++line_ends;
        }
        if (!part.empty()) {
            write_pending_lines();
            any_content_ = true;
            flush();
            sink_(context_, part);  // no copy: the chunk is hashed where it lies
        }
        pending_lines_ += line_ends;
    }

    /// At a CR: a line end when LF follows, undecided at the chunk's end, else an octet.
    std::size_t take_cr(std::string_view chunk, std::size_t cr) {
        if (cr + 1 == chunk.size()) {
            cr_pending_ = true;
            return chunk.size();
        }
        if (chunk[cr + 1] == '\n') {
            end_line();
            return cr + 2;
        }
        content("\r");
        return cr + 1;
    }

    void relaxed(std::string_view chunk, std::size_t i) {
        while (i < chunk.size()) {
            const char c = chunk[i];
            if (is_wsp(c)) {
                pending_wsp_ = true;
                ++i;
                continue;
            }
            if (c == '\r') {
                i = take_cr(chunk, i);
                continue;
            }
            const std::size_t end = verbatim_end(chunk, i);
            content(chunk.substr(i, end - i));
            i = end;
        }
    }

    /// Where the run starting at `at` stops being its own canonical form: relaxed leaves single
    /// spaces between words and line ends followed by more text unchanged, and those are most
    /// of a body, so they are copied in long runs instead of octet by octet.
    static std::size_t verbatim_end(std::string_view chunk, std::size_t at) noexcept {
        const std::size_t size = chunk.size();
        for (;;) {
            at = skip_words(chunk, at);
            if (at >= size) return size;
            const char c = chunk[at];
            if (is_plain(c)) {
                ++at;
            } else if (c == ' ' && at + 1 < size && is_plain(chunk[at + 1])) {
                at += 2;
            } else if (c == '\r' && at + 2 < size && chunk[at + 1] == '\n' &&
                       is_plain(chunk[at + 2])) {
                at += 3;
            } else {
                return at;
            }
        }
    }

    /// Eight octets at a time (SWAR): skips while there is no TAB, no CR and no SP followed by
    /// WSP or CR; stops at the first such octet or near the end for the octet-wise loop. One
    /// branch per eight octets instead of a mispredicted one per word keeps relaxed close to
    /// the speed of the hash.
    static std::size_t skip_words(std::string_view chunk, std::size_t at) noexcept {
        constexpr std::uint64_t ones = 0x0101010101010101ull;
        constexpr std::uint64_t low7 = 0x7f7f7f7f7f7f7f7full;
        // High bit set in each octet of `word` that equals `c`, exactly (no false positives).
        const auto equal = [](std::uint64_t word, char c) noexcept {
            const std::uint64_t v = word ^ (ones * static_cast<unsigned char>(c));
            return ~(((v & low7) + low7) | v | low7);
        };
        while (at + 9 <= chunk.size()) {
            std::uint64_t word = 0;
            std::uint64_t next = 0;  // the same octets shifted by one: each octet's successor
            std::memcpy(&word, chunk.data() + at, 8);
            std::memcpy(&next, chunk.data() + at + 1, 8);
            const std::uint64_t next_special =
                equal(next, ' ') | equal(next, '\t') | equal(next, '\r');
            const std::uint64_t stop =
                equal(word, '\t') | equal(word, '\r') | (equal(word, ' ') & next_special);
            if (stop != 0) return at + static_cast<std::size_t>(std::countr_zero(stop)) / 8;
            at += 8;
        }
        return at;
    }

    /// Neither WSP nor CR: an octet relaxed body canonicalization keeps as it is.
    static bool is_plain(char c) noexcept { return c != ' ' && c != '\t' && c != '\r'; }

    void flush() {
        if (buffer_.empty()) return;
        sink_(context_, buffer_);
        buffer_.clear();
    }

    bool relaxed_;
    Sink sink_;
    void* context_;
    std::string buffer_;
    std::uint64_t pending_lines_ = 0;
    bool pending_wsp_ = false;
    bool cr_pending_ = false;
    bool any_content_ = false;
};

}  // namespace

struct BodyHasher::Impl {
    /// One (canonicalization, hash, l=) computation; identical requests share one.
    struct Computation {
        Canonicalization canon = Canonicalization::simple;
        HashAlgorithm hash_algorithm = HashAlgorithm::sha256;
        std::optional<std::uint64_t> limit;
        crypto::Hash hash{HashAlgorithm::sha256};
        Digest digest;
    };
    /// The computations fed by one canonicalization, and its length so far.
    struct Stream {
        std::vector<std::size_t> computations;
        std::uint64_t length = 0;
        Impl* owner = nullptr;
    };

    std::vector<Computation> computations;
    std::vector<std::size_t> request_to_computation;
    std::array<Stream, 2> streams;
    std::vector<BodyCanonicalizer> canonicalizers;  // only for canonicalizations requested
    bool started = false;
    bool finished = false;

    static void sink(void* context, std::string_view canonical) {
        auto* stream = static_cast<Stream*>(context);
        Impl& self = *stream->owner;
        for (const std::size_t index : stream->computations) {
            Computation& computation = self.computations[index];
            std::string_view part = canonical;
            if (computation.limit) {
                const std::uint64_t left =
                    *computation.limit > stream->length ? *computation.limit - stream->length : 0;
                if (left < part.size()) part = part.substr(0, static_cast<std::size_t>(left));
            }
            computation.hash.update(part);
        }
        stream->length += canonical.size();
    }

    void start() {
        if (started) return;
        started = true;
        for (std::size_t c = 0; c < streams.size(); ++c) {
            streams[c].owner = this;
            if (streams[c].computations.empty()) continue;
            canonicalizers.emplace_back(static_cast<Canonicalization>(c), &Impl::sink, &streams[c]);
        }
    }
};

BodyHasher::BodyHasher() : impl_(std::make_unique<Impl>()) {}
BodyHasher::~BodyHasher() = default;
BodyHasher::BodyHasher(BodyHasher&&) noexcept = default;
BodyHasher& BodyHasher::operator=(BodyHasher&&) noexcept = default;

std::size_t BodyHasher::request(Canonicalization c, HashAlgorithm hash,
                                std::optional<std::uint64_t> length) {
    // A request after the body started would miss octets: the programmer's mistake.
    RAMPART_ASSERT(!impl_->started);
    auto& computations = impl_->computations;
    std::size_t found = computations.size();
    for (std::size_t i = 0; i < computations.size(); ++i) {
        if (computations[i].canon == c && computations[i].hash_algorithm == hash &&
            computations[i].limit == length) {
            found = i;
            break;
        }
    }
    if (found == computations.size()) {
        computations.push_back({.canon = c,
                                .hash_algorithm = hash,
                                .limit = length,
                                .hash = crypto::Hash(hash),
                                .digest = {}});
        impl_->streams[static_cast<std::size_t>(c)].computations.push_back(found);
    }
    impl_->request_to_computation.push_back(found);
    return impl_->request_to_computation.size() - 1;
}

void BodyHasher::update(std::string_view chunk) {
    impl_->start();
    if (impl_->finished) return;
    for (auto& canonicalizer : impl_->canonicalizers) canonicalizer.update(chunk);
}

void BodyHasher::finish() {
    impl_->start();
    if (impl_->finished) return;
    impl_->finished = true;
    for (auto& canonicalizer : impl_->canonicalizers) canonicalizer.finish();
    for (auto& computation : impl_->computations) {
        computation.digest.hash = computation.hash.finish();
        computation.digest.canonical_length =
            impl_->streams[static_cast<std::size_t>(computation.canon)].length;
    }
}

const BodyHasher::Digest& BodyHasher::digest(std::size_t index) const {
    RAMPART_ASSERT(impl_->finished && index < impl_->request_to_computation.size());
    return impl_->computations[impl_->request_to_computation[index]].digest;
}

}  // namespace rampart::dkim
