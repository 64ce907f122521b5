#include "authres/authres.hpp"

#include <fmt/format.h>

#include "authres/syntax.hpp"

namespace rampart::authres {
namespace {

/// A bounds-checked read cursor over one header value (in the manner of Knot's wire_ctx): every
/// look at the next octet checks what remains, and every error names its offset.
class Parser {
public:
    Parser(std::string_view text, const Limits& limits) : text_(text), limits_(limits) {}

    [[nodiscard]] bool at_end() const noexcept { return pos_ >= text_.size(); }
    [[nodiscard]] char peek() const noexcept { return at_end() ? '\0' : text_[pos_]; }
    [[nodiscard]] std::size_t pos() const noexcept { return pos_; }

    std::unexpected<Error> error(std::string reason) const {
        return error_at(pos_, std::move(reason));
    }
    std::unexpected<Error> error_at(std::size_t offset, std::string reason) const {
        Location where;
        where.offset = offset;
        return fail(Errc::malformed, std::move(reason), std::move(where));
    }
    std::unexpected<Error> limit(std::string reason) const {
        Location where;
        where.offset = pos_;
        return fail(Errc::limit_exceeded, std::move(reason), std::move(where));
    }

    /// CFWS (RFC 5322 §3.2.2): whitespace, folding and comments, nested. The text of the first
    /// comment goes to `first_comment` when it is given. Returns whether anything was skipped.
    Result<bool> skip_cfws(std::string* first_comment = nullptr) {
        const std::size_t start = pos_;
        bool comment_taken = false;
        while (!at_end()) {
            const char c = peek();
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                ++pos_;
            } else if (c == '(') {
                std::string text;
                auto ok = comment(text);
                if (!ok) return std::unexpected(std::move(ok.error()));
                if (first_comment != nullptr && !comment_taken) *first_comment = std::move(text);
                comment_taken = true;
            } else {
                break;
            }
        }
        return pos_ != start;
    }

    /// A keyword (RFC 8601 §2.2 `Keyword`: letters, digits, hyphens), lower-cased.
    Result<std::string> keyword(std::string_view what) {
        const std::size_t start = pos_;
        while (!at_end() && syntax::is_keyword_char(peek())) ++pos_;
        if (pos_ == start) return error(fmt::format("expected {}", what));
        return ascii_lower(text_.substr(start, pos_ - start));
    }

    /// 1*DIGIT as a version number; more than nine digits is not a version anyone writes.
    Result<std::uint32_t> digits(std::string_view what) {
        const std::size_t start = pos_;
        std::uint32_t n = 0;
        while (!at_end() && syntax::is_digit(peek())) {
            if (pos_ - start == 9) return error(fmt::format("{} has too many digits", what));
            n = n * 10 + static_cast<std::uint32_t>(peek() - '0');
            ++pos_;
        }
        if (pos_ == start) return error(fmt::format("expected {} (digits)", what));
        return n;
    }

    bool accept(char c) {
        if (peek() != c || at_end()) return false;
        ++pos_;
        return true;
    }

    /// RFC 2045 `value`: a token or a quoted-string.
    Result<std::string> strict_value(std::string_view what) {
        if (peek() == '"') return quoted_string();
        const std::size_t start = pos_;
        while (!at_end() && syntax::is_token_char(peek())) ++pos_;
        if (pos_ == start) return error(fmt::format("expected {}", what));
        return std::string(text_.substr(start, pos_ - start));
    }

    /// A reason or property value: a quoted-string, a quoted local-part followed by "@domain"
    /// (kept as written), or an unquoted run up to whitespace, a comment or ";". The run is
    /// wider than RFC 2045's token because real signers write base64 header.b and IPv6
    /// smtp.remote-ip values unquoted.
    Result<std::string> loose_value(std::string_view what) {
        const std::size_t start = pos_;
        if (peek() == '"') {
            auto quoted = quoted_string();
            if (!quoted) return quoted;
            if (peek() != '@') return quoted;
            const std::size_t at = pos_;
            if (!bare_run()) return error_at(at, "expected a domain after \"@\"");
            // As written, but unfolded: the CR and LF of folding inside the quotes go, as
            // quoted_string() drops them (else format, which writes controls as spaces, would
            // not read back the same; found by fuzz_authres).
            std::string written(text_.substr(start, pos_ - start));
            std::erase_if(written, [](char c) { return c == '\r' || c == '\n'; });
            return written;
        }
        if (!bare_run()) return error(fmt::format("expected {}", what));
        return std::string(text_.substr(start, pos_ - start));
    }

    Result<std::size_t> check_size() const {
        if (text_.size() > limits_.max_bytes)
            return limit(fmt::format("the header value has {} octets, more than the limit of {}",
                                     text_.size(), limits_.max_bytes));
        return text_.size();
    }

    const Limits& limits() const noexcept { return limits_; }

private:
    bool bare_run() {
        const std::size_t start = pos_;
        while (!at_end() && syntax::is_loose_value_char(peek())) ++pos_;
        return pos_ != start;
    }

    /// quoted-string (RFC 5322 §3.2.4): folding removed, quoted-pairs resolved.
    Result<std::string> quoted_string() {
        const std::size_t open = pos_;
        ++pos_;  // the opening quote
        std::string out;
        while (!at_end()) {
            const char c = peek();
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (c == '\\') {
                ++pos_;
                if (at_end() || syntax::is_control(peek()))
                    return error("a backslash in a quoted string must quote a visible character");
                out += peek();
                ++pos_;
            } else if (c == '\r' || c == '\n') {
                ++pos_;  // folding: the CRLF goes, the WSP after it stays
            } else if (syntax::is_control(c)) {
                return error("control character in a quoted string");
            } else {
                out += c;
                ++pos_;
            }
        }
        return error_at(open, "unterminated quoted string");
    }

    /// comment (RFC 5322 §3.2.2): nested comments kept in the text with their parentheses,
    /// quoted-pairs resolved, folding removed. Iterative, so depth costs no stack.
    Result<void> comment(std::string& text) {
        const std::size_t open = pos_;
        std::size_t depth = 0;
        while (!at_end()) {
            const char c = peek();
            ++pos_;
            if (c == '(') {
                if (++depth > limits_.max_comment_depth)
                    return limit(fmt::format("comments nested more than {} deep",
                                             limits_.max_comment_depth));
                if (depth > 1) text += c;
            } else if (c == ')') {
                if (--depth == 0) return {};
                text += c;
            } else if (c == '\\') {
                if (at_end() || syntax::is_control(peek()))
                    return error("a backslash in a comment must quote a visible character");
                text += peek();
                ++pos_;
            } else if (c == '\r' || c == '\n') {
                continue;
            } else if (syntax::is_control(c)) {
                return error_at(pos_ - 1, "control character in a comment");
            } else {
                text += c;
            }
        }
        return error_at(open, "unterminated comment");
    }

    std::string_view text_;
    const Limits& limits_;
    std::size_t pos_ = 0;
};

template <class T>
std::unexpected<Error> pass_on(Result<T>& r) {
    return std::unexpected(std::move(r.error()));
}

/// "ptype.property=value" or the bare "name=value" (after `name` was read and CFWS skipped).
Result<Property> property_after(Parser& p, std::string name) {
    Property prop;
    if (p.accept('.')) {
        if (auto s = p.skip_cfws(); !s) return pass_on(s);
        auto property = p.keyword("a property name after \".\"");
        if (!property) return pass_on(property);
        prop.ptype = std::move(name);
        prop.property = std::move(*property);
        if (auto s = p.skip_cfws(); !s) return pass_on(s);
    } else {
        prop.property = std::move(name);  // Microsoft 365's action=none
    }
    if (!p.accept('='))
        return p.error(fmt::format("expected \"=\" after {}{}{}", prop.ptype,
                                   prop.ptype.empty() ? "" : ".", prop.property));
    if (auto s = p.skip_cfws(); !s) return pass_on(s);
    auto value = p.loose_value("a value");
    if (!value) return pass_on(value);
    prop.value = std::move(*value);
    return prop;
}

/// methodspec: method [ "/" version ] "=" result, then the comment after the result.
Result<bool> methodspec(Parser& p, std::string method, MethodResult& out) {
    out.method = std::move(method);
    if (auto s = p.skip_cfws(); !s) return pass_on(s);
    if (p.accept('/')) {
        if (auto s = p.skip_cfws(); !s) return pass_on(s);
        auto version = p.digits("a method version");
        if (!version) return pass_on(version);
        out.method_version = *version;
        if (auto s = p.skip_cfws(); !s) return pass_on(s);
    }
    if (!p.accept('='))
        return p.error(fmt::format("expected \"=\" after the method {}", out.method));
    if (auto s = p.skip_cfws(); !s) return pass_on(s);
    auto result = p.keyword(fmt::format("a result for {}", out.method));
    if (!result) return pass_on(result);
    out.result = std::move(*result);
    return p.skip_cfws(&out.comment);
}

/// The rest of one resinfo after its method keyword: the result, the reason, the properties.
Result<MethodResult> resinfo(Parser& p, std::string method) {
    MethodResult out;
    auto separated = methodspec(p, std::move(method), out);
    if (!separated) return pass_on(separated);
    while (!p.at_end() && p.peek() != ';') {
        if (!*separated)
            return p.error("expected a space, \";\" or the end after a result or value");
        const std::size_t name_at = p.pos();
        auto name = p.keyword("reason= or a property (ptype.property=value)");
        if (!name) return pass_on(name);
        if (auto s = p.skip_cfws(); !s) return pass_on(s);
        if (*name == "reason" && p.peek() == '=') {
            if (out.reason) return p.error_at(name_at, "reason= given twice");
            p.accept('=');
            if (auto s = p.skip_cfws(); !s) return pass_on(s);
            auto reason = p.loose_value("the reason");
            if (!reason) return pass_on(reason);
            out.reason = std::move(*reason);
        } else {
            if (out.properties.size() == p.limits().max_properties)
                return p.limit(fmt::format("more than {} properties in one result",
                                           p.limits().max_properties));
            auto prop = property_after(p, std::move(*name));
            if (!prop) return pass_on(prop);
            out.properties.push_back(std::move(*prop));
        }
        separated = p.skip_cfws();
        if (!separated) return pass_on(separated);
    }
    return out;
}

/// After the authserv-id (and version): `; none`, or one or more `; resinfo`.
Result<std::vector<MethodResult>> result_list(Parser& p) {
    std::vector<MethodResult> results;
    if (p.at_end()) return p.error("expected \";\" and the results after the authserv-id");
    while (!p.at_end()) {
        if (!p.accept(';')) return p.error("expected \";\" before the next result");
        if (auto s = p.skip_cfws(); !s) return pass_on(s);
        if (p.at_end()) break;  // a trailing ";": common, harmless
        auto method = p.keyword("a method (spf, dkim, dmarc, ...) or \"none\"");
        if (!method) return pass_on(method);
        if (*method == "none" && results.empty()) {
            if (auto s = p.skip_cfws(); !s) return pass_on(s);
            if (p.at_end() || p.peek() == ';') {
                // no-result: nothing may follow but a stray ";"
                while (p.accept(';')) {
                    if (auto s = p.skip_cfws(); !s) return pass_on(s);
                }
                if (!p.at_end()) return p.error("nothing may follow \"none\"");
                return results;
            }
        }
        if (results.size() == p.limits().max_results)
            return p.limit(fmt::format("more than {} results", p.limits().max_results));
        auto one = resinfo(p, std::move(*method));
        if (!one) return pass_on(one);
        results.push_back(std::move(*one));
    }
    return results;
}

Result<AuthenticationResults> payload(Parser& p) {
    AuthenticationResults out;
    if (auto s = p.skip_cfws(); !s) return pass_on(s);
    auto id = p.strict_value("the authserv-id");
    if (!id) return pass_on(id);
    out.authserv_id = std::move(*id);
    auto spaced = p.skip_cfws();
    if (!spaced) return pass_on(spaced);
    if (*spaced && syntax::is_digit(p.peek())) {
        auto version = p.digits("the version");
        if (!version) return pass_on(version);
        out.version = *version;
        if (auto s = p.skip_cfws(); !s) return pass_on(s);
    }
    auto results = result_list(p);
    if (!results) return pass_on(results);
    out.results = std::move(*results);
    return out;
}

}  // namespace

Result<AuthenticationResults> parse(std::string_view value, const Limits& limits) {
    Parser p(value, limits);
    if (auto size = p.check_size(); !size) return pass_on(size);
    return payload(p);
}

Result<ArcAuthenticationResults> parse_arc(std::string_view value, const Limits& limits) {
    Parser p(value, limits);
    if (auto size = p.check_size(); !size) return pass_on(size);
    if (auto s = p.skip_cfws(); !s) return pass_on(s);
    if (!p.accept('i') && !p.accept('I'))
        return p.error("an ARC-Authentication-Results value starts with \"i=\"");
    if (auto s = p.skip_cfws(); !s) return pass_on(s);
    if (!p.accept('=')) return p.error("expected \"=\" after \"i\"");
    if (auto s = p.skip_cfws(); !s) return pass_on(s);
    const std::size_t number_at = p.pos();
    auto instance = p.digits("the instance number");
    if (!instance) return pass_on(instance);
    if (*instance < 1 || *instance > 50)
        return p.error_at(number_at,
                          fmt::format("instance {} is outside 1..50 (RFC 8617 §4.2.1)", *instance));
    if (auto s = p.skip_cfws(); !s) return pass_on(s);
    if (!p.accept(';')) return p.error("expected \";\" after the instance number");
    auto results = payload(p);
    if (!results) return pass_on(results);
    return ArcAuthenticationResults{static_cast<int>(*instance), std::move(*results)};
}

}  // namespace rampart::authres
