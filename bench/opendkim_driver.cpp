// See opendkim_driver.hpp. libopendkim's C API (Debian 2.11.0~beta2, /usr/include/opendkim/dkim.h).
#include "opendkim_driver.hpp"

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>

#include <cstdlib>
#include <cstring>
#include <vector>

// dkim.h is C99 and spells the boolean type _Bool, which C++ does not have: the C ABI of
// _Bool and bool is the same on every Debian architecture.
#define _Bool bool
#include <dkim.h>
#undef _Bool

namespace rampart::peer {
namespace {

DKIM_LIB* lib_of(void* lib) { return static_cast<DKIM_LIB*>(lib); }

auto* bytes(std::string_view text) {
    return reinterpret_cast<unsigned char*>(const_cast<char*>(text.data()));
}

struct HandleDeleter {
    void operator()(DKIM* dkim) const noexcept { dkim_free(dkim); }
};
using Handle = std::unique_ptr<DKIM, HandleDeleter>;

// libopendkim's key look-up hook: no closure argument, so the Opendkim object travels as the
// handle's user context (set in verify()).
DKIM_CBSTAT lookup_key(DKIM* dkim, DKIM_SIGINFO* sig, u_char* buf, size_t buflen) {
    const auto* self = static_cast<const Opendkim*>(dkim_get_user_context(dkim));
    const auto* selector = reinterpret_cast<const char*>(dkim_sig_getselector(sig));
    const auto* domain = reinterpret_cast<const char*>(dkim_sig_getdomain(sig));
    if (self == nullptr || selector == nullptr || domain == nullptr) return DKIM_CBSTAT_ERROR;
    const auto record = self->lookup()(selector, domain);
    if (!record) return DKIM_CBSTAT_NOTFOUND;
    if (record->size() + 1 > buflen) return DKIM_CBSTAT_ERROR;
    std::memcpy(buf, record->data(), record->size());
    buf[record->size()] = '\0';
    return DKIM_CBSTAT_CONTINUE;
}

// libopendkim folds the field it writes with bare LF; a message on the wire has CRLF.
std::string with_crlf(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 16);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
        out += text[i];
    }
    return out;
}

std::string status_text(DKIM_STAT status) {
    const char* text = dkim_getresultstr(status);
    return text != nullptr ? text : "status " + std::to_string(status);
}

// Feeds the whole message: dkim_chunk() splits header and body itself.
DKIM_STAT feed(DKIM* dkim, std::string_view message) {
    DKIM_STAT status = dkim_chunk(dkim, bytes(message), message.size());
    if (status != DKIM_STAT_OK) return status;
    return dkim_chunk(dkim, nullptr, 0);
}

}  // namespace

std::unique_ptr<Opendkim> Opendkim::open(KeyLookup lookup, std::string& error) {
    DKIM_LIB* lib = dkim_init(nullptr, nullptr);
    if (lib == nullptr) {
        error = "dkim_init failed";
        return nullptr;
    }
    dkim_set_key_lookup(lib, lookup_key);
    return std::unique_ptr<Opendkim>(new Opendkim(lib, std::move(lookup)));
}

Opendkim::~Opendkim() { dkim_close(lib_of(lib_)); }

std::optional<std::string> Opendkim::sign(std::string_view message,
                                          const OpendkimSignRequest& request,
                                          std::string& error) const {
    DKIM_STAT status = DKIM_STAT_OK;
    // libopendkim keeps a pointer to the key until dkim_free: it lives in `request`.
    Handle dkim(
        dkim_sign(lib_of(lib_), bytes("rampart-interop"), nullptr, bytes(request.private_key),
                  bytes(request.selector), bytes(request.domain),
                  request.relaxed_header ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE,
                  request.relaxed_body ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE,
                  request.ed25519 ? DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256, -1, &status));
    if (dkim == nullptr || status != DKIM_STAT_OK) {
        error = "dkim_sign: " + status_text(status);
        return std::nullopt;
    }
    status = feed(dkim.get(), message);
    if (status == DKIM_STAT_OK) status = dkim_eom(dkim.get(), nullptr);
    if (status != DKIM_STAT_OK) {
        const char* why = dkim_geterror(dkim.get());
        error = "signing: " + status_text(status) + (why != nullptr ? std::string(": ") + why : "");
        return std::nullopt;
    }
    static constexpr std::string_view name = "DKIM-Signature: ";
    unsigned char* value = nullptr;
    size_t length = 0;
    status = dkim_getsighdr_d(dkim.get(), name.size(), &value, &length);
    if (status != DKIM_STAT_OK || value == nullptr) {
        error = "dkim_getsighdr_d: " + status_text(status);
        return std::nullopt;
    }
    return with_crlf(std::string(name) + std::string(reinterpret_cast<const char*>(value), length));
}

OpendkimVerdict Opendkim::verify(std::string_view message) const {
    OpendkimVerdict verdict;
    DKIM_STAT status = DKIM_STAT_OK;
    Handle dkim(dkim_verify(lib_of(lib_), bytes("rampart-interop"), nullptr, &status));
    if (dkim == nullptr) {
        verdict.detail = "dkim_verify: " + status_text(status);
        return verdict;
    }
    dkim_set_user_context(dkim.get(), const_cast<Opendkim*>(this));
    status = feed(dkim.get(), message);
    if (status == DKIM_STAT_OK) status = dkim_eom(dkim.get(), nullptr);
    DKIM_SIGINFO** sigs = nullptr;
    int count = 0;
    if (dkim_getsiglist(dkim.get(), &sigs, &count) == DKIM_STAT_OK) verdict.signatures = count;
    DKIM_SIGINFO* sig = dkim_getsignature(dkim.get());
    verdict.pass = status == DKIM_STAT_OK && sig != nullptr && DKIM_SIG_CHECK(sig);
    verdict.detail = status_text(status);
    if (sig != nullptr) {
        const char* why = dkim_sig_geterrorstr(dkim_sig_geterror(sig));
        if (why != nullptr) verdict.detail += std::string(": ") + why;
        if (dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH) verdict.detail += " (body hash mismatch)";
    }
    return verdict;
}

std::optional<std::string> query_txt_at(std::uint16_t port, const std::string& name) {
    struct __res_state state {};
    if (res_ninit(&state) != 0) return std::nullopt;
    state.nscount = 1;
    state.nsaddr_list[0].sin_family = AF_INET;
    state.nsaddr_list[0].sin_port = htons(port);
    state.nsaddr_list[0].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    state.options &= ~static_cast<unsigned long>(RES_DNSRCH | RES_DEFNAMES);
    std::vector<unsigned char> answer(8192);
    const int length = res_nquery(&state, name.c_str(), ns_c_in, ns_t_txt, answer.data(),
                                  static_cast<int>(answer.size()));
    res_nclose(&state);
    if (length < 0) return std::nullopt;
    ns_msg msg{};
    if (ns_initparse(answer.data(), length, &msg) != 0) return std::nullopt;
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
        ns_rr rr{};
        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_txt) continue;
        // RDATA: <length><string> repeated (RFC 1035 §3.3.14); the strings are joined.
        std::string text;
        const unsigned char* p = ns_rr_rdata(rr);
        const unsigned char* end = p + ns_rr_rdlen(rr);
        while (p < end) {
            const std::size_t n = *p++;
            if (n > static_cast<std::size_t>(end - p)) return std::nullopt;
            text.append(reinterpret_cast<const char*>(p), n);
            p += n;
        }
        return text;
    }
    return std::nullopt;
}

}  // namespace rampart::peer
