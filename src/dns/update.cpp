// dns/update: RFC 2136 UPDATE of one TXT RRset, signed with TSIG (RFC 8945) by ldns and sent
// over TCP; and one question asked of one server directly. See update.hpp for the contract.
//
// ldns builds and signs the message and verifies the reply's MAC; the socket work (connect, the
// two-octet TCP length, every wait bounded by poll() against one deadline) is ours, so that a
// server that stops answering costs exactly the caller's timeout.
#include "dns/update.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "dns/ldns.hpp"
#include "dns/update_reply.hpp"
#include "dns/wire.hpp"

namespace rampart::dns {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint16_t opcode_update = 5;
constexpr std::uint16_t type_tsig = 250;
constexpr std::size_t max_message = 65535;
constexpr std::size_t max_character_string = 255;

// ---- ldns objects, owned ------------------------------------------------------------------

struct PktFree {
    void operator()(ldns_pkt* p) const noexcept { ldns_pkt_free(p); }
};
struct RrListFree {
    void operator()(ldns_rr_list* l) const noexcept { ldns_rr_list_deep_free(l); }
};
struct RdfFree {
    void operator()(ldns_rdf* r) const noexcept { ldns_rdf_deep_free(r); }
};
struct RrFree {
    void operator()(ldns_rr* r) const noexcept { ldns_rr_free(r); }
};
struct MallocFree {
    void operator()(std::uint8_t* p) const noexcept { std::free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;
using RrList = std::unique_ptr<ldns_rr_list, RrListFree>;
using Rdf = std::unique_ptr<ldns_rdf, RdfFree>;
using Rr = std::unique_ptr<ldns_rr, RrFree>;
using WireBuffer = std::unique_ptr<std::uint8_t, MallocFree>;

std::string_view ldns_algorithm(TsigAlgorithm algorithm) {
    return algorithm == TsigAlgorithm::hmac_sha512 ? "hmac-sha512." : "hmac-sha256.";
}

/// The wire form of a normalized name, built label by label (no text parsing, so no escapes).
Result<Rdf> dname(std::string_view normal) {
    std::vector<std::uint8_t> out;
    for (const auto label : labels(normal)) {
        if (label.empty() || label.size() > 63)
            return fail(Errc::malformed, fmt::format("{} has a bad label", printable(normal)));
        out.push_back(static_cast<std::uint8_t>(label.size()));
        out.insert(out.end(), label.begin(), label.end());
    }
    out.push_back(0);
    if (out.size() > wire::max_name_octets)
        return fail(Errc::malformed, fmt::format("{} is too long", printable(normal)));
    Rdf rdf(ldns_dname_new_frm_data(static_cast<std::uint16_t>(out.size()), out.data()));
    if (!rdf) return fail(Errc::malformed, fmt::format("{} is not a name", printable(normal)));
    return rdf;
}

/// Key names were checked when the key was read; a key made in code is checked here.
Result<std::string> key_name(const TsigKey& key) {
    auto name = normalize_name(key.name());
    const auto allowed = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    };
    if (!name || !std::all_of(name->begin(), name->end(), allowed))
        return fail(Errc::malformed,
                    "the TSIG key name must be a domain name of letters, "
                    "digits, '-', '_' and '.'");
    return name;
}

/// An RR with no rdata (prerequisite "RRset does not exist", update "delete an RRset").
Rr empty_rr(const ldns_rdf* owner, ldns_rr_class klass) {
    Rr rr(ldns_rr_new());
    if (!rr) return rr;
    ldns_rr_set_owner(rr.get(), ldns_rdf_clone(owner));
    ldns_rr_set_type(rr.get(), LDNS_RR_TYPE_TXT);
    ldns_rr_set_class(rr.get(), klass);
    ldns_rr_set_ttl(rr.get(), 0);
    return rr;
}

/// A TXT RR whose rdata is `value` cut into character-strings of at most 255 octets
/// (RFC 1035 §3.3.14; RFC 7208 §3.3 and RFC 6376 §3.6.2.2 read them joined).
Rr txt_rr(const ldns_rdf* owner, std::string_view value, std::uint32_t ttl) {
    Rr rr = empty_rr(owner, LDNS_RR_CLASS_IN);
    if (!rr) return rr;
    ldns_rr_set_ttl(rr.get(), ttl);
    std::size_t at = 0;
    do {
        const auto piece = value.substr(at, max_character_string);
        std::array<std::uint8_t, max_character_string + 1> buf{};
        buf[0] = static_cast<std::uint8_t>(piece.size());
        std::memcpy(buf.data() + 1, piece.data(), piece.size());
        ldns_rdf* rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, piece.size() + 1, buf.data());
        if (rdf == nullptr || !ldns_rr_push_rdf(rr.get(), rdf)) {
            ldns_rdf_deep_free(rdf);
            return nullptr;
        }
        at += piece.size();
    } while (at < value.size());
    return rr;
}

/// The values once each, in their first order: an RRset is a set (RFC 2181 §5).
std::vector<std::string_view> distinct(const std::vector<std::string>& values) {
    std::vector<std::string_view> out;
    std::set<std::string_view> seen;
    for (const auto& v : values)
        if (seen.insert(v).second) out.push_back(v);
    return out;
}

std::vector<std::byte> rdf_bytes(const ldns_rdf* rdf, std::size_t skip) {
    const auto* data = ldns_rdf_data(rdf);
    const std::size_t size = ldns_rdf_size(rdf);
    if (size <= skip) return {};
    const auto* first = reinterpret_cast<const std::byte*>(data) + skip;
    return {first, first + (size - skip)};
}

std::uint64_t read_uint48(const ldns_rdf* rdf) {
    const auto* d = ldns_rdf_data(rdf);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 6; ++i) v = v << 8 | d[i];
    return v;
}

std::string rcode_detail(std::uint16_t rcode, std::uint16_t tsig_error) {
    switch (rcode) {
        case 0: return "NOERROR";
        case 1: return "FORMERR: the server could not read the update";
        case 2: return "SERVFAIL: the server failed to process the update";
        case 3: return "NXDOMAIN: a name that should exist does not";
        case 4: return "NOTIMP: the server does not implement UPDATE";
        case 5: return "REFUSED: the server's policy refuses this update";
        case 6: return "YXDOMAIN: a name that should not exist does";
        case 7: return "YXRRSET: the name holds a TXT record where none was expected";
        case 8: return "NXRRSET: the record at the name is not the one expected";
        case 9:
            if (tsig_error == 16) return "NOTAUTH (TSIG BADSIG): the server refused the key";
            if (tsig_error == 17) return "NOTAUTH (TSIG BADKEY): the server does not know the key";
            if (tsig_error == 18)
                return "NOTAUTH (TSIG BADTIME): the clocks of this host and the server differ";
            if (tsig_error != 0)
                return fmt::format("NOTAUTH (TSIG {}): the server refused the signature",
                                   rcode_name(tsig_error));
            return "NOTAUTH: the server is not authoritative for the zone";
        case 10: return "NOTZONE: the name is outside the zone";
        default: return fmt::format("{}: the server refused the update", rcode_name(rcode));
    }
}

// ---- sockets ------------------------------------------------------------------------------

class Fd {
public:
    explicit Fd(int fd) noexcept : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    [[nodiscard]] int get() const noexcept { return fd_; }

private:
    int fd_;
};

struct Endpoint {
    sockaddr_storage address{};
    socklen_t length = 0;
    int family = AF_INET;
};

Endpoint endpoint_of(const Server& server) {
    Endpoint e;
    const auto bytes = server.address.bytes();
    if (server.address.family() == IpAddress::Family::v4) {
        auto* a = reinterpret_cast<sockaddr_in*>(&e.address);
        a->sin_family = AF_INET;
        a->sin_port = htons(server.port);
        std::memcpy(&a->sin_addr, bytes.data(), bytes.size());
        e.length = sizeof(sockaddr_in);
        e.family = AF_INET;
    } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&e.address);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(server.port);
        std::memcpy(&a->sin6_addr, bytes.data(), bytes.size());
        e.length = sizeof(sockaddr_in6);
        e.family = AF_INET6;
    }
    return e;
}

/// Milliseconds left before `deadline`, at least 0, for poll().
int left_ms(Clock::time_point deadline) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::clamp<std::int64_t>(left, 0, 3'600'000));
}

enum class Wait : std::uint8_t { ready, timeout, error };

Wait wait_for(int fd, short events, Clock::time_point deadline) {
    while (true) {
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, left_ms(deadline));
        if (n > 0) return Wait::ready;
        if (n == 0) return Wait::timeout;
        if (errno != EINTR) return Wait::error;
    }
}

std::unexpected<Error> timed_out(const Server& server, std::chrono::milliseconds timeout,
                                 std::string_view doing) {
    return fail(Errc::transient, fmt::format("{} timed out: no reply from {} within {} ms", doing,
                                             server.to_string(), timeout.count()));
}

/// One message over TCP (RFC 1035 §4.2.2, RFC 7766 §8: two-octet length, then the message),
/// and the one message that comes back. Errc::transient on time-out, Errc::io otherwise.
Result<std::vector<std::byte>> tcp_exchange(const Server& server,
                                            std::span<const std::byte> message,
                                            Clock::time_point deadline,
                                            std::chrono::milliseconds timeout,
                                            std::string_view doing) {
    if (message.size() > max_message)
        return fail(Errc::limit_exceeded, "the message is longer than 65,535 octets");
    const auto e = endpoint_of(server);
    Fd fd(::socket(e.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd.get() < 0)
        return fail(Errc::io, fmt::format("cannot open a TCP socket: {}", std::strerror(errno)));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&e.address), e.length) != 0) {
        if (errno != EINPROGRESS)
            return fail(Errc::io, fmt::format("cannot connect to {}: {}", server.to_string(),
                                              std::strerror(errno)));
        const auto w = wait_for(fd.get(), POLLOUT, deadline);
        if (w == Wait::timeout) return timed_out(server, timeout, doing);
        int error = 0;
        socklen_t length = sizeof error;
        if (w == Wait::error ||
            ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0)
            return fail(Errc::io, fmt::format("cannot connect to {}: {}", server.to_string(),
                                              std::strerror(error != 0 ? error : errno)));
    }
    std::vector<std::byte> out;
    out.reserve(message.size() + 2);
    out.push_back(static_cast<std::byte>(message.size() >> 8));
    out.push_back(static_cast<std::byte>(message.size() & 0xFF));
    out.insert(out.end(), message.begin(), message.end());
    std::size_t sent = 0;
    while (sent < out.size()) {
        const auto n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            const auto w = wait_for(fd.get(), POLLOUT, deadline);
            if (w == Wait::timeout) return timed_out(server, timeout, doing);
            if (w == Wait::ready) continue;
        }
        return fail(Errc::io,
                    fmt::format("cannot send to {}: {}", server.to_string(), std::strerror(errno)));
    }
    // Reads exactly `want` octets into `into`.
    const auto read_exact = [&](std::byte* into, std::size_t want) -> Result<void> {
        std::size_t got = 0;
        while (got < want) {
            const auto n = ::recv(fd.get(), into + got, want - got, 0);
            if (n > 0) {
                got += static_cast<std::size_t>(n);
                continue;
            }
            if (n == 0)
                return fail(Errc::io, fmt::format("{} closed the connection before its reply "
                                                  "was complete",
                                                  server.to_string()));
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                const auto w = wait_for(fd.get(), POLLIN, deadline);
                if (w == Wait::timeout) return timed_out(server, timeout, doing);
                if (w == Wait::ready) continue;
            }
            return fail(Errc::io, fmt::format("cannot read from {}: {}", server.to_string(),
                                              std::strerror(errno)));
        }
        return {};
    };
    std::array<std::byte, 2> prefix{};
    if (auto ok = read_exact(prefix.data(), 2); !ok) return std::unexpected(ok.error());
    const std::size_t length =
        std::to_integer<std::size_t>(prefix[0]) << 8 | std::to_integer<std::size_t>(prefix[1]);
    std::vector<std::byte> reply(length);
    if (auto ok = read_exact(reply.data(), length); !ok) return std::unexpected(ok.error());
    return reply;
}

std::uint16_t random_id() {
    std::uint16_t id = 0;
    if (::getrandom(&id, sizeof id, 0) != static_cast<ssize_t>(sizeof id)) {
        // getrandom cannot fail for two octets once the pool is ready; the clock is the fallback.
        id = static_cast<std::uint16_t>(Clock::now().time_since_epoch().count());
    }
    return id;
}

}  // namespace

std::string rcode_name(std::uint16_t rcode) {
    static constexpr std::array<std::string_view, 24> names = {
        "NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",   "REFUSED",
        "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE",  "DSOTYPENI",
        "",         "",        "",         "",         "BADSIG",   "BADKEY",
        "BADTIME",  "BADMODE", "BADNAME",  "BADALG",   "BADTRUNC", "BADCOOKIE"};
    if (rcode < names.size() && !names[rcode].empty()) return std::string(names[rcode]);
    return std::to_string(rcode);
}

namespace detail {

Result<SignedUpdate> sign_update(const TxtUpdate& update, const TsigKey& key, std::uint16_t id) {
    auto zone = normalize_name(update.zone);
    if (!zone) return fail(Errc::malformed, fmt::format("the zone: {}", zone.error().reason));
    auto name = normalize_name(update.name);
    if (!name) return fail(Errc::malformed, fmt::format("the name: {}", name.error().reason));
    if (!is_subdomain(*name, *zone))
        return fail(Errc::malformed, fmt::format("{} is not inside the zone {}", printable(*name),
                                                 printable(*zone)));
    auto kname = key_name(key);
    if (!kname) return std::unexpected(kname.error());
    if (key.secret_base64().empty()) return fail(Errc::malformed, "the TSIG key has no secret");
    for (const auto* values : {&update.expected, &update.replacement})
        for (const auto& v : *values)
            if (v.size() > 60000)
                return fail(Errc::limit_exceeded,
                            "a TXT value is longer than one DNS message can carry");

    auto zone_rdf = dname(*zone);
    if (!zone_rdf) return std::unexpected(zone_rdf.error());
    auto owner = dname(*name);
    if (!owner) return std::unexpected(owner.error());
    const auto no_memory = [] { return fail(Errc::io, "out of memory building the UPDATE"); };

    // RFC 2136 §2.4.2 / §2.4.3: the exact RRset believed live, or "no TXT RRset here".
    RrList prerequisites(ldns_rr_list_new());
    RrList updates(ldns_rr_list_new());
    if (!prerequisites || !updates) return no_memory();
    const auto push = [](ldns_rr_list* list, Rr rr) {
        if (!rr || !ldns_rr_list_push_rr(list, rr.get())) return false;
        (void)rr.release();
        return true;
    };
    if (update.expected.empty()) {
        if (!push(prerequisites.get(), empty_rr(owner->get(), LDNS_RR_CLASS_NONE)))
            return no_memory();
    } else {
        for (const auto value : distinct(update.expected))
            if (!push(prerequisites.get(), txt_rr(owner->get(), value, 0))) return no_memory();
    }
    // RFC 2136 §2.5.2 then §2.5.1: delete the RRset, add the new records, in one message.
    if (!push(updates.get(), empty_rr(owner->get(), LDNS_RR_CLASS_ANY))) return no_memory();
    for (const auto value : distinct(update.replacement))
        if (!push(updates.get(), txt_rr(owner->get(), value, update.ttl))) return no_memory();

    // ldns_update_pkt_new owns the zone rdf from here and copies the lists.
    Pkt pkt(ldns_update_pkt_new(zone_rdf->release(), LDNS_RR_CLASS_IN, prerequisites.get(),
                                updates.get(), nullptr));
    if (!pkt) return no_memory();
    ldns_pkt_set_id(pkt.get(), id);
    // ldns starts from a query with RD set; in an UPDATE header that bit is part of Z, which
    // RFC 2136 §2.2 wants zero.
    ldns_pkt_set_rd(pkt.get(), false);

    const std::string key_text = *kname + ".";
    const std::string algorithm(ldns_algorithm(key.algorithm()));
    if (const auto status =
            ldns_pkt_tsig_sign(pkt.get(), key_text.c_str(), key.secret_base64().c_str(),
                               detail::tsig_fudge, algorithm.c_str(), nullptr);
        status != LDNS_STATUS_OK)
        // ldns's message names the status only ("Invalid base64 data"), never the key.
        return fail(Errc::malformed,
                    fmt::format("cannot sign the UPDATE with the key {}: {}", printable(*kname),
                                ldns_get_errorstr_by_id(status)));
    const ldns_rr* tsig = ldns_pkt_tsig(pkt.get());
    if (tsig == nullptr || ldns_rr_rd_count(tsig) < 4) return no_memory();

    std::uint8_t* raw = nullptr;
    std::size_t size = 0;
    if (ldns_pkt2wire(&raw, pkt.get(), &size) != LDNS_STATUS_OK || raw == nullptr) {
        std::free(raw);
        return no_memory();
    }
    const WireBuffer buffer(raw);
    if (size > max_message)
        return fail(
            Errc::limit_exceeded,
            fmt::format("the UPDATE would be {} octets, more than a DNS message can hold", size));
    SignedUpdate out;
    const auto* first = reinterpret_cast<const std::byte*>(buffer.get());
    out.wire.assign(first, first + size);
    out.id = id;
    out.zone = std::move(*zone);
    out.mac = rdf_bytes(ldns_rr_rdf(tsig, 3), 2);  // MAC Size, then the MAC
    return out;
}

Result<UpdateReply> read_update_reply(std::span<const std::byte> reply, const SignedUpdate& request,
                                      const TsigKey& key, Timestamp now) {
    const auto malformed = [](std::string why) {
        return fail(Errc::malformed, fmt::format("the UPDATE reply {}", why));
    };
    if (reply.size() > max_update_reply)
        return malformed(
            fmt::format("is {} octets, far more than a reply to an UPDATE", reply.size()));
    auto message = wire::parse_message(reply);
    if (!message) return malformed(fmt::format("is malformed: {}", message.error().reason));
    const auto& h = message->header;
    if (!h.qr) return malformed("is not a response");
    if (h.id != request.id)
        return malformed(fmt::format("has ID {}, the request had {}", h.id, request.id));
    if (h.opcode != opcode_update)
        return malformed(fmt::format("has opcode {}, not UPDATE (5)", h.opcode));
    if (message->cut_short || h.tc) return malformed("is truncated");
    if (!message->questions.empty()) {
        const auto& q = message->questions.front();
        if (message->questions.size() != 1 || q.name != request.zone ||
            q.type != static_cast<std::uint16_t>(RrType::soa) || q.klass != wire::class_in)
            return malformed("is for another zone");
    }

    UpdateReply out;
    out.rcode = h.rcode;
    std::size_t tsig_count = 0;
    for (const auto& rr : message->additional) tsig_count += rr.type == type_tsig ? 1 : 0;
    // RFC 8945 §5.1: the TSIG is the last record, and there is one.
    if (tsig_count > 1) return malformed("has more than one TSIG record");
    if (tsig_count == 1 && message->additional.back().type != type_tsig)
        return malformed("has a TSIG record that is not the last one");

    std::string unverified = "the reply is not signed";
    if (tsig_count == 1) {
        ldns_pkt* raw = nullptr;
        const auto* data = reinterpret_cast<const std::uint8_t*>(reply.data());
        if (ldns_wire2pkt(&raw, data, reply.size()) != LDNS_STATUS_OK || raw == nullptr) {
            ldns_pkt_free(raw);
            return malformed("cannot be read by ldns");
        }
        Pkt pkt(raw);
        ldns_rr* tsig = ldns_pkt_tsig(pkt.get());
        if (tsig == nullptr || ldns_rr_rd_count(tsig) != 7 ||
            ldns_rdf_get_type(ldns_rr_rdf(tsig, 0)) != LDNS_RDF_TYPE_DNAME ||
            ldns_rdf_size(ldns_rr_rdf(tsig, 1)) != 6 || ldns_rdf_size(ldns_rr_rdf(tsig, 2)) != 2 ||
            ldns_rdf_size(ldns_rr_rdf(tsig, 3)) < 2 || ldns_rdf_size(ldns_rr_rdf(tsig, 5)) != 2)
            return malformed("has a TSIG record ldns cannot read");
        out.tsig_error = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5));
        const std::size_t mac_size = ldns_rdf_size(ldns_rr_rdf(tsig, 3)) - 2;

        auto kname = key_name(key);
        if (!kname) return std::unexpected(kname.error());
        auto key_rdf = dname(*kname);
        if (!key_rdf) return std::unexpected(key_rdf.error());
        const Rdf algorithm_rdf(
            ldns_dname_new_frm_str(std::string(ldns_algorithm(key.algorithm())).c_str()));
        if (!algorithm_rdf) return fail(Errc::io, "out of memory reading the UPDATE reply");

        if (ldns_dname_compare(ldns_rr_owner(tsig), key_rdf->get()) != 0) {
            unverified = "the reply is signed with another key";
        } else if (ldns_dname_compare(ldns_rr_rdf(tsig, 0), algorithm_rdf.get()) != 0) {
            // Checked before ldns verifies: ldns takes the algorithm from the reply.
            unverified = "the reply is signed with another algorithm";
        } else if (mac_size == 0) {
            unverified = "the reply carries no MAC";
        } else {
            std::vector<std::uint8_t> mac(
                reinterpret_cast<const std::uint8_t*>(request.mac.data()),
                reinterpret_cast<const std::uint8_t*>(request.mac.data()) + request.mac.size());
            const Rdf request_mac(ldns_native2rdf_int16_data(mac.size(), mac.data()));
            if (!request_mac) return fail(Errc::io, "out of memory reading the UPDATE reply");
            const std::string key_text = *kname + ".";
            const bool mac_ok =
                ldns_pkt_tsig_verify(pkt.get(), data, reply.size(), key_text.c_str(),
                                     key.secret_base64().c_str(), request_mac.get());
            // ldns 1.8.3 detaches the TSIG while it computes and, on an internal failure, returns
            // without putting it back: give it back to the packet so that it is freed.
            if (ldns_pkt_tsig(pkt.get()) == nullptr) ldns_pkt_set_tsig(pkt.get(), tsig);
            // RFC 8945 §5.4.3: |now - Time Signed| within the fudge (ours at most).
            const auto signed_at = static_cast<std::int64_t>(read_uint48(ldns_rr_rdf(tsig, 1)));
            const std::int64_t fudge =
                std::min<std::int64_t>(ldns_rdf2native_int16(ldns_rr_rdf(tsig, 2)), tsig_fudge);
            const std::int64_t skew = now.time_since_epoch().count() - signed_at;
            if (!mac_ok) {
                unverified = "the reply's MAC does not verify";
            } else if (skew > fudge || skew < -fudge) {
                unverified = fmt::format(
                    "the reply was signed {} s away from this host's clock "
                    "(fudge {} s)",
                    skew, fudge);
            } else {
                out.signed_reply_verified = true;
            }
        }
    }
    out.detail = rcode_detail(out.rcode, out.tsig_error);
    if (out.rcode == 0 && !out.signed_reply_verified)
        out.detail = fmt::format("NOERROR, but {}: the reply is not believed", unverified);
    return out;
}

}  // namespace detail

Result<std::vector<std::byte>> build_update(const TxtUpdate& update, const TsigKey& key,
                                            std::uint16_t id) {
    auto signed_update = detail::sign_update(update, key, id);
    if (!signed_update) return std::unexpected(std::move(signed_update.error()));
    return std::move(signed_update->wire);
}

Result<UpdateReply> send_update(const TxtUpdate& update, const TsigKey& key,
                                const UpdateOptions& options) {
    auto request = detail::sign_update(update, key, random_id());
    if (!request) return std::unexpected(std::move(request.error()));
    const auto deadline = Clock::now() + options.timeout;
    auto bytes =
        tcp_exchange(options.server, request->wire, deadline, options.timeout, "the UPDATE");
    if (!bytes) return std::unexpected(std::move(bytes.error()));
    const auto now =
        std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    auto reply = detail::read_update_reply(*bytes, *request, key, now);
    if (!reply) return reply;
    if (reply->rcode == 0 && !reply->signed_reply_verified)
        return fail(Errc::denied,
                    fmt::format("{} answered the UPDATE of {} with {}", options.server.to_string(),
                                printable(update.name), reply->detail));
    return reply;
}

DirectAnswer ask_server(const Server& server, std::string_view name, RrType type,
                        std::chrono::milliseconds timeout) {
    DirectAnswer out;
    const auto error = [&](std::string detail) {
        out.answer = Answer{};
        out.answer.status = Status::error;
        out.answer.detail = std::move(detail);
        return out;
    };
    auto normal = normalize_name(name);
    if (!normal) return error(normal.error().reason);
    const std::uint16_t id = random_id();
    auto query = wire::build_query(*normal, static_cast<std::uint16_t>(type), id);
    if (!query) return error(query.error().reason);
    (*query)[2] &= std::byte{0xFE};  // RD=0: the server answers from its own data only
    const auto deadline = Clock::now() + timeout;
    const auto what =
        fmt::format("{} {} at {}", printable(*normal), to_string(type), server.to_string());
    const auto timed_out_answer = [&] {
        out.answer = Answer{};
        out.answer.status = Status::timeout;
        out.answer.detail = fmt::format("no answer for {} within {} ms", what, timeout.count());
        return out;
    };
    const auto accept = [&](std::span<const std::byte> bytes) -> std::optional<wire::Message> {
        auto m = wire::parse_message(bytes);
        if (!m || m->header.id != id || !wire::answers_question(*m, *normal, type))
            return std::nullopt;
        return std::move(*m);
    };

    // UDP first (RFC 1035 §4.2.1). Datagrams that are not the answer (another ID, another
    // question, junk) are dropped and the wait goes on, as RFC 5452 §9.1 wants.
    std::optional<wire::Message> message;
    {
        const auto e = endpoint_of(server);
        Fd fd(::socket(e.family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (fd.get() < 0)
            return error(fmt::format("cannot open a UDP socket: {}", std::strerror(errno)));
        if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&e.address), e.length) != 0)
            return error(
                fmt::format("cannot reach {}: {}", server.to_string(), std::strerror(errno)));
        if (::send(fd.get(), query->data(), query->size(), 0) !=
            static_cast<ssize_t>(query->size()))
            return error(
                fmt::format("cannot send to {}: {}", server.to_string(), std::strerror(errno)));
        std::vector<std::byte> buffer(max_message);
        std::string last_malformed;
        while (!message) {
            const auto w = wait_for(fd.get(), POLLIN, deadline);
            if (w == Wait::timeout) return timed_out_answer();
            if (w == Wait::error)
                return error(fmt::format("poll failed: {}", std::strerror(errno)));
            const auto n = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
                if (errno == ECONNREFUSED)
                    return error(fmt::format("{} refused the query for {} (nothing listens there?)",
                                             server.to_string(), printable(*normal)));
                return error(fmt::format("cannot read from {}: {}", server.to_string(),
                                         std::strerror(errno)));
            }
            message = accept(std::span(buffer.data(), static_cast<std::size_t>(n)));
        }
    }
    bool over_tcp = false;
    if (message->header.tc) {
        // RFC 7766 §5: the truncated answer is asked again over TCP, within the same time.
        over_tcp = true;
        auto bytes = tcp_exchange(server, *query, deadline, timeout, "the query");
        if (!bytes) {
            if (bytes.error().code == Errc::transient) return timed_out_answer();
            return error(bytes.error().reason);
        }
        auto parsed = wire::parse_message(*bytes);
        if (!parsed)
            return error(
                fmt::format("the answer for {} is malformed: {}", what, parsed.error().reason));
        if (parsed->header.id != id || !wire::answers_question(*parsed, *normal, type))
            return error(fmt::format("the TCP answer for {} is for another question", what));
        message = std::move(*parsed);
    }
    out.answer = wire::to_answer(*message, *normal, type);
    out.answer.truncated = over_tcp;
    out.aa = message->header.aa;
    return out;
}

}  // namespace rampart::dns
