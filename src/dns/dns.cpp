#include "dns/dns.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace rampart::dns {

std::string_view to_string(RrType type) noexcept {
    switch (type) {
        case RrType::a: return "A";
        case RrType::ns: return "NS";
        case RrType::cname: return "CNAME";
        case RrType::soa: return "SOA";
        case RrType::ptr: return "PTR";
        case RrType::mx: return "MX";
        case RrType::txt: return "TXT";
        case RrType::aaaa: return "AAAA";
    }
    return "?";
}

std::string_view to_string(Status status) noexcept {
    switch (status) {
        case Status::ok: return "ok";
        case Status::nodata: return "nodata";
        case Status::nxdomain: return "nxdomain";
        case Status::servfail: return "servfail";
        case Status::timeout: return "timeout";
        case Status::error: return "error";
    }
    return "?";
}

std::string Txt::joined() const {
    std::string out;
    for (const auto& s : strings) out += s;
    return out;
}

std::vector<IpAddress> Answer::addresses() const {
    std::vector<IpAddress> out;
    for (const auto& r : records)
        if (const auto* ip = std::get_if<IpAddress>(&r.data)) out.push_back(*ip);
    return out;
}

std::vector<std::string> Answer::names() const {
    std::vector<std::string> out;
    for (const auto& r : records)
        if (const auto* n = std::get_if<std::string>(&r.data)) out.push_back(*n);
    return out;
}

std::vector<Mx> Answer::mx() const {
    std::vector<Mx> out;
    for (const auto& r : records)
        if (const auto* m = std::get_if<Mx>(&r.data)) out.push_back(*m);
    std::stable_sort(out.begin(), out.end(),
                     [](const Mx& a, const Mx& b) { return a.preference < b.preference; });
    return out;
}

std::vector<Txt> Answer::txt() const {
    std::vector<Txt> out;
    for (const auto& r : records)
        if (const auto* t = std::get_if<Txt>(&r.data)) out.push_back(*t);
    return out;
}

std::optional<Soa> Answer::soa() const {
    for (const auto& r : records)
        if (const auto* s = std::get_if<Soa>(&r.data)) return *s;
    return std::nullopt;
}

std::vector<Answer> Resolver::query_all(std::span<const Question> questions) {
    std::vector<Answer> out;
    out.reserve(questions.size());
    for (const auto& q : questions) out.push_back(query(q.name, q.type));
    return out;
}

Result<std::string> normalize_name(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty()) return fail(Errc::malformed, "the domain name is empty");
    if (name.size() > 253)
        return fail(Errc::malformed,
                    fmt::format("the domain name is {} octets long; at most 253 are allowed",
                                name.size()));
    std::string out;
    out.reserve(name.size());
    std::size_t label = 0;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (c == '.') {
            if (label == 0) return fail(Errc::malformed, "the domain name has an empty label");
            label = 0;
            out.push_back('.');
            continue;
        }
        if (c >= 0x80)
            return fail(Errc::malformed,
                        "the domain name has non-ASCII characters; write it as an A-label "
                        "(xn--...)");
        if (c <= 0x20 || c == 0x7f)
            return fail(Errc::malformed, "the domain name has a space or control character");
        if (++label > 63)
            return fail(Errc::malformed, "a label of the domain name is longer than 63 octets");
        out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    }
    if (label == 0) return fail(Errc::malformed, "the domain name has an empty label");
    return out;
}

std::vector<std::string_view> labels(std::string_view name) {
    std::vector<std::string_view> out;
    while (!name.empty()) {
        const auto dot = name.find('.');
        out.push_back(name.substr(0, dot));
        if (dot == std::string_view::npos) break;
        name.remove_prefix(dot + 1);
    }
    return out;
}

bool is_subdomain(std::string_view name, std::string_view ancestor) noexcept {
    if (ancestor.empty()) return true;
    if (name.size() < ancestor.size()) return false;
    if (!iequals(name.substr(name.size() - ancestor.size()), ancestor)) return false;
    return name.size() == ancestor.size() || name[name.size() - ancestor.size() - 1] == '.';
}

std::string reverse_name(const IpAddress& address) {
    const auto b = address.bytes();
    std::string out;
    if (address.family() == IpAddress::Family::v4) {
        return fmt::format("{}.{}.{}.{}.in-addr.arpa", b[3], b[2], b[1], b[0]);
    }
    static constexpr char digits[] = "0123456789abcdef";
    for (std::size_t i = b.size(); i-- > 0;) {
        out.push_back(digits[b[i] & 0xf]);
        out.push_back('.');
        out.push_back(digits[b[i] >> 4]);
        out.push_back('.');
    }
    out += "ip6.arpa";
    return out;
}

std::string Server::to_string() const {
    if (address.family() == IpAddress::Family::v6)
        return fmt::format("[{}]:{}", address.to_string(), port);
    return fmt::format("{}:{}", address.to_string(), port);
}

Result<Server> parse_server(std::string_view text) {
    text = trim(text);
    std::string_view host = text;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos)
            return fail(Errc::malformed, fmt::format("'{}': missing ']'", printable(text)));
        host = text.substr(1, close - 1);
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':')
                return fail(Errc::malformed,
                            fmt::format("'{}': expected ':PORT' after ']'", printable(text)));
            port_text = rest.substr(1);
        }
    } else if (std::count(text.begin(), text.end(), ':') == 1) {
        const auto colon = text.find(':');
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
    }
    auto address = IpAddress::parse(host);
    if (!address)
        return fail(Errc::malformed,
                    fmt::format("'{}' is not HOST[:PORT] with HOST an IP address (e.g. "
                                "127.0.0.1:5353 or [::1]:53)",
                                printable(text)));
    Server server{*address, 53};
    if (!port_text.empty() || text.ends_with(':')) {
        unsigned value = 0;
        const auto* end = port_text.data() + port_text.size();
        const auto [ptr, ec] = std::from_chars(port_text.data(), end, value);
        if (port_text.empty() || ec != std::errc{} || ptr != end || value == 0 || value > 65535)
            return fail(Errc::malformed,
                        fmt::format("'{}': the port must be a number from 1 to 65535",
                                    printable(text)));
        server.port = static_cast<std::uint16_t>(value);
    }
    return server;
}

}  // namespace rampart::dns
