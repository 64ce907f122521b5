// Fuzz target for dns::wire::parse_message: DNS answers as they arrive from the network
// (RFC 1035 §4), the bytes AresResolver hands to the parser.
//
// Every input is parsed; a refusal must carry a reason (fuzz_common.hpp, check_error). A parsed
// message must keep the promises of wire.hpp, which the resolver relies on: no more records than
// the header announced, names no longer than 255 wire octets can spell (4 text octets per wire
// octet at worst, \DDD), TXT strings of at most 255 octets, rdata only for class IN. Each parsed
// question is also turned back into a query and parsed again: a name the parser produced must be
// one the builder either accepts and round-trips, or refuses with a reason.
// No token mode: the format is binary, and the seeds (answers captured from Knot DNS plus crafted
// compression tricks) give the fuzzer every structure to mutate.

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "core/core.hpp"
#include "dns/wire.hpp"
#include "fuzz_common.hpp"

namespace {

namespace wire = rampart::dns::wire;

constexpr std::size_t max_name_text = 4 * wire::max_name_octets;

void check_name(const std::string& name) {
    if (name.size() > max_name_text) __builtin_trap();
}

void check_record(const wire::ResourceRecord& rr) {
    check_name(rr.name);
    if (!rr.data) return;
    if (rr.klass != wire::class_in) __builtin_trap();
    const auto record = rr.to_record();
    if (!record) __builtin_trap();
    if (const auto* txt = std::get_if<rampart::dns::Txt>(&rr.data.value())) {
        for (const auto& s : txt->strings)
            if (s.size() > 255) __builtin_trap();
    } else if (const auto* target = std::get_if<std::string>(&rr.data.value())) {
        check_name(*target);
    } else if (const auto* mx = std::get_if<rampart::dns::Mx>(&rr.data.value())) {
        check_name(mx->exchange);
    } else if (const auto* ip = std::get_if<rampart::IpAddress>(&rr.data.value())) {
        if (ip->to_string().empty()) __builtin_trap();
    }
}

void round_trip(const wire::Question& q) {
    auto query = wire::build_query(q.name, q.type, 7);
    if (!query) {
        rampart::fuzz::check_error(query.error());
        return;
    }
    auto again = wire::parse_message(*query);
    if (!again || again->questions.size() != 1 || again->questions[0].type != q.type) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto message = wire::parse_message(rampart::fuzz::bytes_of(data, size));
    if (!message) {
        rampart::fuzz::check_error(message.error());
        return 0;
    }
    const auto& h = message->header;
    if (message->questions.size() > h.qdcount || message->answers.size() > h.ancount ||
        message->authority.size() > h.nscount || message->additional.size() > h.arcount)
        __builtin_trap();
    if (message->cut_short && !h.tc) __builtin_trap();
    for (const auto& q : message->questions) {
        check_name(q.name);
        round_trip(q);
    }
    for (const auto* section : {&message->answers, &message->authority, &message->additional})
        for (const auto& rr : *section) check_record(rr);
    return 0;
}
