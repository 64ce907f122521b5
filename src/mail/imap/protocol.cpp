// IMAP responses (RFC 9051 §7, grammar in §9): lines ending in CRLF, where a line that ends in
// "{N}" is followed by exactly N bytes of literal and then the rest of the response. Literals are
// the only place message bytes ever appear, and they are consumed by count, so nothing inside a
// message can be mistaken for protocol.
#include "mail/imap/protocol.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace rampart::mail::imap::detail {
namespace {

std::unexpected<Error> protocol_error(std::string reason) {
    return fail(Errc::malformed, std::move(reason));
}

bool starts_with_word(std::string_view text, std::string_view word) {
    return text.size() >= word.size() && iequals(text.substr(0, word.size()), word) &&
           (text.size() == word.size() || text[word.size()] == ' ');
}

/// Server text in our messages: escaped and short.
std::string shown(std::string_view text) {
    constexpr std::size_t max = 200;
    auto s = printable(text.substr(0, max));
    if (text.size() > max) s += "...";
    return s;
}

}  // namespace

Result<Token> Tokenizer::next() {
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
    Token t;
    if (pos_ >= text_.size()) return t;
    char c = text_[pos_];
    if (c == '(') {
        ++pos_;
        t.kind = Token::Kind::open;
        return t;
    }
    if (c == ')') {
        ++pos_;
        t.kind = Token::Kind::close;
        return t;
    }
    if (c == '\0') {
        ++pos_;
        t.kind = Token::Kind::literal;
        t.literal = literals_++;
        return t;
    }
    if (c == '"') {
        t.kind = Token::Kind::string;
        for (++pos_; pos_ < text_.size(); ++pos_) {
            char d = text_[pos_];
            if (d == '"') {
                ++pos_;
                return t;
            }
            if (d == '\\') {
                if (++pos_ >= text_.size()) break;
                d = text_[pos_];
            }
            t.text += d;
        }
        return protocol_error("unterminated quoted string in a server response");
    }
    t.kind = Token::Kind::atom;
    int depth = 0;  // inside a [section], spaces and parentheses belong to the atom
    while (pos_ < text_.size()) {
        char d = text_[pos_];
        if (depth == 0 && (d == ' ' || d == '(' || d == ')' || d == '"' || d == '\0')) break;
        if (d == '[') ++depth;
        if (d == ']' && depth > 0) --depth;
        t.text += d;
        ++pos_;
    }
    if (iequals(t.text, "NIL")) t.kind = Token::Kind::nil;
    return t;
}

namespace {

template <class T>
std::optional<T> number(std::string_view text) {
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

/// Skips one value that may be a nested list.
Result<void> skip_value(Tokenizer& tok, const Token& first) {
    if (first.kind != Token::Kind::open) {
        if (first.kind == Token::Kind::close || first.kind == Token::Kind::end)
            return protocol_error("a FETCH attribute has no value");
        return {};
    }
    int depth = 1;
    while (depth > 0) {
        auto t = tok.next();
        if (!t) return std::unexpected(std::move(t.error()));
        if (t->kind == Token::Kind::end) return protocol_error("unbalanced parentheses in FETCH");
        if (t->kind == Token::Kind::open) ++depth;
        if (t->kind == Token::Kind::close) --depth;
    }
    return {};
}

}  // namespace

Result<std::optional<FetchData>> parse_fetch(const Response& response) {
    if (response.kind != Response::Kind::untagged) return std::optional<FetchData>();
    Tokenizer tok(response.text);
    auto seq = tok.next();
    if (!seq) return std::unexpected(std::move(seq.error()));
    if (seq->kind != Token::Kind::atom) return std::optional<FetchData>();
    auto seqno = number<std::uint32_t>(seq->text);
    if (!seqno) return std::optional<FetchData>();
    auto word = tok.next();
    if (!word) return std::unexpected(std::move(word.error()));
    if (word->kind != Token::Kind::atom || !iequals(word->text, "FETCH"))
        return std::optional<FetchData>();
    FetchData data;
    data.sequence = *seqno;
    auto open = tok.next();
    if (!open) return std::unexpected(std::move(open.error()));
    if (open->kind != Token::Kind::open) return protocol_error("FETCH without an attribute list");
    for (;;) {
        auto key = tok.next();
        if (!key) return std::unexpected(std::move(key.error()));
        if (key->kind == Token::Kind::close) break;
        if (key->kind != Token::Kind::atom) return protocol_error("bad FETCH attribute name");
        auto value = tok.next();
        if (!value) return std::unexpected(std::move(value.error()));
        auto name = ascii_lower(key->text);
        if (name == "uid") {
            auto n = value->kind == Token::Kind::atom ? number<std::uint32_t>(value->text)
                                                      : std::nullopt;
            if (!n || *n == 0) return protocol_error("bad UID in FETCH");
            data.uid = *n;
        } else if (name == "rfc822.size") {
            auto n = value->kind == Token::Kind::atom ? number<std::uint64_t>(value->text)
                                                      : std::nullopt;
            if (!n) return protocol_error("bad RFC822.SIZE in FETCH");
            data.size = *n;
        } else if (name == "flags") {
            if (value->kind != Token::Kind::open) return protocol_error("bad FLAGS in FETCH");
            for (;;) {
                auto f = tok.next();
                if (!f) return std::unexpected(std::move(f.error()));
                if (f->kind == Token::Kind::close) break;
                if (f->kind != Token::Kind::atom) return protocol_error("bad flag in FETCH");
                data.flags.push_back(std::move(f->text));
            }
        } else if (name == "body[]" || name.starts_with("body[]<")) {
            if (value->kind == Token::Kind::literal) {
                if (value->literal >= response.literals.size())
                    return protocol_error("FETCH refers to a missing literal");
                data.body_literal = value->literal;
            } else if (value->kind == Token::Kind::string) {
                data.body_string = std::move(value->text);
            } else if (value->kind == Token::Kind::nil) {
                data.body_nil = true;
            } else {
                return protocol_error("bad BODY[] in FETCH");
            }
        } else if (auto r = skip_value(tok, *value); !r) {
            return std::unexpected(std::move(r.error()));
        }
    }
    return std::optional<FetchData>(std::move(data));
}

Completion parse_status(std::string_view text) {
    Completion c;
    if (starts_with_word(text, "OK")) {
        c.status = Status::ok;
        text.remove_prefix(2);
    } else if (starts_with_word(text, "NO")) {
        c.status = Status::no;
        text.remove_prefix(2);
    } else {
        c.status = Status::bad;
        if (starts_with_word(text, "BAD")) text.remove_prefix(3);
    }
    while (text.starts_with(' ')) text.remove_prefix(1);
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close != std::string_view::npos) {
            c.code = std::string(text.substr(1, close - 1));
            text.remove_prefix(close + 1);
            while (text.starts_with(' ')) text.remove_prefix(1);
        }
    }
    c.text = std::string(text);
    return c;
}

Result<std::size_t> Protocol::fill(std::chrono::milliseconds wait) {
    if (pos_ == buffer_.size()) {
        buffer_.clear();
        pos_ = 0;
    } else if (pos_ > 64 * 1024) {
        buffer_.erase(0, pos_);
        pos_ = 0;
    }
    std::array<char, 16 * 1024> chunk{};
    auto n = transport_.receive(chunk, wait);
    if (!n) {
        broken_ = true;
        return n;
    }
    buffer_.append(chunk.data(), *n);
    return n;
}

Result<bool> Protocol::wait_for_data(std::chrono::milliseconds wait) {
    if (broken_) return fail(Errc::transient, "the connection was lost earlier");
    if (pos_ < buffer_.size()) return true;
    auto n = fill(wait);
    if (!n) return std::unexpected(std::move(n.error()));
    return *n > 0;
}

Result<std::string> Protocol::read_line() {
    std::size_t scanned = pos_;
    for (;;) {
        auto nl = buffer_.find('\n', scanned);
        if (nl != std::string::npos) {
            std::string line = buffer_.substr(pos_, nl - pos_);
            pos_ = nl + 1;
            // CRLF per the RFC; a bare LF is taken too.
            if (line.ends_with('\r')) line.pop_back();
            if (line.find('\0') != std::string::npos) {
                broken_ = true;
                return protocol_error("the server sent a NUL in a response line");
            }
            return line;
        }
        if (buffer_.size() - pos_ > max_line) {
            broken_ = true;
            return protocol_error("the server sent a response line longer than 1 MiB");
        }
        scanned = buffer_.size();
        auto before = pos_;
        auto n = fill(io_timeout_);
        if (!n) return std::unexpected(std::move(n.error()));
        if (*n == 0) {
            broken_ = true;
            return fail(
                Errc::transient,
                fmt::format("the server sent nothing for {} s",
                            std::chrono::duration_cast<std::chrono::seconds>(io_timeout_).count()));
        }
        // fill() may have moved the unread bytes to the front.
        scanned = scanned - before + pos_;
    }
}

Result<void> Protocol::read_literal(std::uint64_t size, std::uint64_t room, Response& out) {
    bool keep = size <= room;
    std::string literal;
    if (keep) literal.resize(static_cast<std::size_t>(size));
    std::uint64_t got = 0;
    auto take = [&](const char* data, std::size_t n) {
        if (keep) std::copy(data, data + n, literal.data() + got);
        got += n;
    };
    auto from_buffer =
        static_cast<std::size_t>(std::min<std::uint64_t>(size, buffer_.size() - pos_));
    take(buffer_.data() + pos_, from_buffer);
    pos_ += from_buffer;
    std::array<char, 64 * 1024> chunk{};
    while (got < size) {
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(size - got, chunk.size()));
        auto n = transport_.receive(std::span(chunk).first(want), io_timeout_);
        if (!n) {
            broken_ = true;
            return std::unexpected(std::move(n.error()));
        }
        if (*n == 0) {
            broken_ = true;
            return fail(Errc::transient, "the server stopped sending in the middle of a message");
        }
        take(chunk.data(), *n);
    }
    if (keep) {
        out.literals.push_back(std::move(literal));
    } else {
        out.dropped_literal = size;
        out.literals.emplace_back();  // keeps the indices of later literals right
    }
    return {};
}

Result<Response> Protocol::read(std::uint64_t literal_cap) {
    if (broken_) return fail(Errc::transient, "the connection was lost earlier");
    auto first = read_line();
    if (!first) return std::unexpected(std::move(first.error()));
    Response r;
    std::string_view line = *first;
    if (line.starts_with("* ")) {
        r.kind = Response::Kind::untagged;
        r.text = line.substr(2);
    } else if (line.starts_with('+')) {
        r.kind = Response::Kind::continuation;
        line.remove_prefix(1);
        if (line.starts_with(' ')) line.remove_prefix(1);
        r.text = line;
    } else {
        auto space = line.find(' ');
        if (space == std::string_view::npos || space == 0) {
            broken_ = true;
            return protocol_error(fmt::format("unexpected server response: {}", shown(line)));
        }
        r.kind = Response::Kind::tagged;
        r.tag = line.substr(0, space);
        r.text = line.substr(space + 1);
    }
    std::uint64_t literal_bytes = 0;
    for (int literals = 0;; ++literals) {
        // A literal is announced by "{N}" (or "{N+}", RFC 7888) at the very end of a line.
        if (!r.text.ends_with('}')) break;
        auto open = r.text.rfind('{');
        if (open == std::string::npos) break;
        std::string_view digits(r.text.data() + open + 1, r.text.size() - open - 2);
        if (digits.ends_with('+')) digits.remove_suffix(1);
        auto size = number<std::uint64_t>(digits);
        if (!size) break;
        if (literals >= 64) {
            broken_ = true;
            return protocol_error("the server sent more than 64 literals in one response");
        }
        r.text.resize(open);
        r.text += '\0';
        std::uint64_t room = literal_cap > literal_bytes ? literal_cap - literal_bytes : 0;
        if (auto lit = read_literal(*size, room, r); !lit)
            return std::unexpected(std::move(lit.error()));
        if (r.dropped_literal == 0) literal_bytes += *size;
        auto more = read_line();
        if (!more) return std::unexpected(std::move(more.error()));
        if (r.text.size() + more->size() > max_line) {
            broken_ = true;
            return protocol_error("the server sent a response longer than 1 MiB");
        }
        r.text += *more;
    }
    return r;
}

Result<void> Protocol::send_raw(std::string_view bytes) {
    if (broken_) return fail(Errc::transient, "the connection was lost earlier");
    auto r = transport_.send(bytes, io_timeout_);
    if (!r) broken_ = true;
    return r;
}

Result<std::string> Protocol::start(std::string_view command) {
    std::string tag = fmt::format("R{}", ++tags_);
    if (auto r = send_raw(fmt::format("{} {}\r\n", tag, command)); !r)
        return std::unexpected(std::move(r.error()));
    return tag;
}

Result<Completion> Protocol::finish(const std::string& tag,
                                    const std::function<Result<void>(Response&)>& on_untagged,
                                    std::uint64_t literal_cap) {
    for (;;) {
        auto r = read(literal_cap);
        if (!r) return std::unexpected(std::move(r.error()));
        switch (r->kind) {
            case Response::Kind::untagged:
                if (starts_with_word(r->text, "BYE")) {
                    broken_ = true;
                    return fail(Errc::transient,
                                fmt::format("the server ended the session: {}", shown(r->text)));
                }
                if (auto h = on_untagged(*r); !h) {
                    broken_ = true;
                    return std::unexpected(std::move(h.error()));
                }
                break;
            case Response::Kind::continuation:
                broken_ = true;
                return protocol_error("the server asked for a continuation nobody announced");
            case Response::Kind::tagged:
                if (r->tag != tag) {
                    broken_ = true;
                    return protocol_error(fmt::format(
                        "the server answered tag {} while {} was pending", shown(r->tag), tag));
                }
                return parse_status(r->text);
        }
    }
}

Result<Completion> Protocol::command(std::string_view command,
                                     const std::function<Result<void>(Response&)>& on_untagged,
                                     std::uint64_t literal_cap) {
    auto tag = start(command);
    if (!tag) return std::unexpected(std::move(tag.error()));
    return finish(*tag, on_untagged, literal_cap);
}

Result<std::string> quote_folder(std::string_view folder) {
    if (folder.empty()) return fail(Errc::malformed, "the folder name is empty");
    std::string out = "\"";
    for (char c : folder) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x80)
            return fail(Errc::unsupported,
                        fmt::format("folder names outside ASCII are not supported yet ({})",
                                    printable(folder)));
        if (u < 0x20 || u == 0x7f)
            return fail(Errc::malformed, "the folder name contains a control character");
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

std::string uid_set(std::span<const std::uint32_t> uids) {
    std::string out;
    for (std::size_t i = 0; i < uids.size();) {
        std::size_t j = i;
        while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
        if (!out.empty()) out += ',';
        out += j == i ? fmt::format("{}", uids[i]) : fmt::format("{}:{}", uids[i], uids[j]);
        i = j + 1;
    }
    return out;
}

}  // namespace rampart::mail::imap::detail
