// Fuzz target: spf::parse_record, spf::expand and spf::check_host / spf::inspect on a record
// from the input (RFC 7208).
//
// The bytes are parsed as a record; every domain-spec and modifier value of a record that parses
// is expanded with a fixed context, and the whole input is expanded as a domain-spec and as
// explanation text. Then the bytes become the TXT record of "fuzz.example" in a tiny in-memory
// zone (with includes, MX, PTR, a loop and a timeout to reach) and check_host() and inspect()
// run on it: their work must stay within the RFC 7208 §4.6.4 limits whatever the record says.
// An input starting with fuzz::token_mode is also run with bytes from 0x80 up mapped onto SPF
// terms, after "v=spf1 ", so the fuzzer reaches evaluation quickly even without seeds.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/core.hpp"
#include "dns/zone.hpp"
#include "fuzz_common.hpp"
#include "spf/spf.hpp"

namespace {

using namespace std::string_view_literals;
namespace spf = rampart::spf;
namespace dns = rampart::dns;

// clang-format off
constexpr std::array tokens{
    " "sv, " -all"sv, " ~all"sv, " ?all"sv, " +all"sv, " a"sv, " a:"sv, " mx"sv, " mx:"sv,
    " ptr"sv, " ptr:"sv, " ip4:"sv, " ip6:"sv, " exists:"sv, " include:"sv, " redirect="sv,
    " exp="sv, "/24"sv, "//64"sv, "/0"sv, "192.0.2.1"sv, "2001:db8::1"sv, "::ffff:1.2.3.4"sv,
    "inc.fuzz.example"sv, "loop.fuzz.example"sv, "slow.fuzz.example"sv, "mx.fuzz.example"sv,
    "fuzz.example"sv, "example"sv, "%{d}"sv, "%{i}"sv, "%{ir}"sv, "%{l}"sv, "%{o}"sv, "%{s}"sv,
    "%{h}"sv, "%{p}"sv, "%{v}"sv, "%{c}"sv, "%{r}"sv, "%{t}"sv, "%{d2}"sv, "%{l1r-}"sv,
    "%{D}"sv, "%{S}"sv, "%%"sv, "%_"sv, "%-"sv, "."sv, "v=spf1"sv, "foo=bar"sv,
};
// clang-format on

struct World {
    dns::Zone zone;
    World() {
        zone.add_txt("inc.fuzz.example", "v=spf1 a:host.fuzz.example ip4:198.51.100.0/24 ~all");
        zone.add_txt("loop.fuzz.example", "v=spf1 include:loop.fuzz.example");
        zone.add_txt("exp.fuzz.example", "%{s} from %{c} at %{t} is not %{d}");
        zone.add_a("host.fuzz.example", "192.0.2.1").add_a("host.fuzz.example", "2001:db8::1");
        zone.add_mx("mx.fuzz.example", 10, "host.fuzz.example");
        zone.add_mx("fuzz.example", 10, "host.fuzz.example");
        zone.add_name("1.2.0.192.in-addr.arpa", dns::RrType::ptr, "host.fuzz.example");
        zone.add_a("fuzz.example", "192.0.2.1");
        zone.fail("slow.fuzz.example", dns::Status::timeout);
    }
};

spf::MacroContext fixed_context() {
    spf::MacroContext c;
    c.ip = *rampart::IpAddress::parse("192.0.2.1");
    c.sender = "user@fuzz.example";
    c.local_part = "user";
    c.sender_domain = "fuzz.example";
    c.domain = "fuzz.example";
    c.helo = "mail.fuzz.example";
    c.now = rampart::Timestamp{std::chrono::seconds{1700000000}};
    c.validated_name = [] { return std::string("host.fuzz.example"); };
    return c;
}

void check_expansion(std::string_view text, spf::MacroUse use) {
    static const auto context = fixed_context();
    auto r = spf::expand(text, context, use);
    if (!r) {
        rampart::fuzz::check_error(r.error());
        return;
    }
    // §7.3: a name over 253 octets loses labels from the left; only a name with no label left
    // to drop (no dot before its last octet) may stay longer.
    if (use == spf::MacroUse::domain_spec && r->size() > 254 && r->find('.') < r->size() - 1)
        __builtin_trap();
}

void run_record(std::string_view text) {
    auto record = spf::parse_record(text);
    if (!record) {
        rampart::fuzz::check_error(record.error());
    } else {
        for (const auto& m : record->mechanisms)
            if (!m.domain_spec.empty()) check_expansion(m.domain_spec, spf::MacroUse::domain_spec);
        for (const auto* mod : {&record->redirect, &record->exp})
            if (*mod) check_expansion((*mod)->value, spf::MacroUse::domain_spec);
        for (const auto& mod : record->unknown_modifiers)
            check_expansion(mod.value, spf::MacroUse::explanation);
    }

    static const World world;
    dns::Zone zone = world.zone;
    zone.add_txt("fuzz.example", text);
    zone.add_txt("redirect.fuzz.example", text);
    dns::ZoneResolver resolver(zone);
    for (const auto* client : {"192.0.2.1", "2001:db8::2"}) {
        auto request = spf::mail_from(*rampart::IpAddress::parse(client), "user@fuzz.example",
                                      "mail.fuzz.example");
        const auto e = spf::check_host(resolver, request);
        const spf::Limits limits;
        if (e.reason.empty()) __builtin_trap();
        if (e.lookups > limits.dns_mechanisms + 1 || e.void_lookups > limits.void_lookups + 1)
            __builtin_trap();
    }
    // §4.6.4 bounds the queries of one evaluation: 10 terms with 10 MX or PTR names each, plus
    // the record, %{p} and exp look-ups. Anything far beyond is unbounded work.
    if (resolver.queries() > 2 * 400) __builtin_trap();

    const auto tree = spf::inspect(resolver, "fuzz.example");
    if (tree.nodes > spf::Limits{}.max_nodes) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A real TXT RRset is at most 64 KiB; past a few KiB nothing new is reached.
    if (size > 16 * 1024) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    check_expansion(text, spf::MacroUse::domain_spec);
    check_expansion(text, spf::MacroUse::explanation);
    run_record(text);
    if (size > 0 && data[0] == rampart::fuzz::token_mode)
        run_record(rampart::fuzz::map_tokens("v=spf1 ", {data + 1, size - 1}, tokens));
    return 0;
}
