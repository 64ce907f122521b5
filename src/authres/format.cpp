#include "authres/authres.hpp"

#include <fmt/format.h>

#include "authres/syntax.hpp"

namespace rampart::authres {
namespace {

/// Control characters cannot be carried by a header value (a CR or LF would end the field and
/// start another one under the sender's control), so they are written as spaces.
char safe(char c) noexcept { return syntax::is_control(c) ? ' ' : c; }

bool is_token(std::string_view text) noexcept {
    if (text.empty()) return false;
    for (char c : text) {
        if (!syntax::is_token_char(c)) return false;
    }
    return true;
}

bool is_dot_atom(std::string_view text) noexcept {
    if (text.empty() || text.front() == '.' || text.back() == '.') return false;
    char previous = '\0';
    for (char c : text) {
        if (c == '.' && previous == '.') return false;
        if (c != '.' && !syntax::is_atext(c)) return false;
        previous = c;
    }
    return true;
}

bool is_domain_name(std::string_view text) noexcept {
    if (text.empty() || text.front() == '.' || text.front() == '-') return false;
    char previous = '\0';
    for (char c : text) {
        if (c == '.' && previous == '.') return false;
        if (c != '.' && !syntax::is_keyword_char(c)) return false;
        previous = c;
    }
    return true;
}

/// RFC 8601 pvalue's second form: [ [ local-part ] "@" ] domain-name, written without quotes.
bool is_plain_address(std::string_view text) noexcept {
    const auto at = text.rfind('@');
    if (at == std::string_view::npos) return false;
    const auto local = text.substr(0, at);
    return (local.empty() || is_dot_atom(local)) && is_domain_name(text.substr(at + 1));
}

std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += safe(c);
    }
    out += '"';
    return out;
}

std::string property_value(std::string_view value) {
    if (is_token(value) || is_plain_address(value)) return std::string(value);
    return quoted(value);
}

std::string comment(std::string_view text) {
    std::string out = " (";
    for (char c : text) {
        if (c == '(' || c == ')' || c == '\\') out += '\\';
        out += safe(c);
    }
    out += ')';
    return out;
}

std::string resinfo(const MethodResult& r) {
    std::string out = r.method;
    if (r.method_version) out += fmt::format("/{}", *r.method_version);
    out += '=';
    out += r.result;
    if (!r.comment.empty()) out += comment(r.comment);
    if (r.reason) out += " reason=" + quote_value(*r.reason);
    for (const auto& p : r.properties) {
        out += ' ';
        if (!p.ptype.empty()) out += p.ptype + '.';
        out += p.property + '=' + property_value(p.value);
    }
    return out;
}

}  // namespace

std::string quote_value(std::string_view value) {
    return is_token(value) ? std::string(value) : quoted(value);
}

std::string format(const AuthenticationResults& results, Layout layout) {
    const std::string_view separator = layout == Layout::folded ? ";\r\n\t" : "; ";
    std::string out = quote_value(results.authserv_id);
    if (results.version) out += fmt::format(" {}", *results.version);
    if (results.results.empty()) return out + "; none";
    for (const auto& r : results.results) {
        out += separator;
        out += resinfo(r);
    }
    return out;
}

std::string format_arc(const ArcAuthenticationResults& results, Layout layout) {
    return fmt::format("i={}; {}", results.instance, format(results.results, layout));
}

}  // namespace rampart::authres
