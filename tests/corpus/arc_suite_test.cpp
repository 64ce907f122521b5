// The ValiMail ARC test suite (arc/arc_test_suite: 171 validation tests, 17 signing tests,
// written against draft-ietf-dmarc-arc-protocol-18, published as RFC 8617 with the same
// algorithms) and Stalwart mail-auth's two sealed messages (arc/mail-auth).
//
// Driver rules, as the suite's README and the Mail::DKIM driver read them:
//   - a message is the YAML literal with its trailing line ends removed, then CRLF line ends;
//   - txt-records are the keys, their lines one character-string each;
//   - the YAML repeats four test names inside one scenario (yaml-cpp keeps both entries, a
//     Python dict only the last): 175 entries, 171 distinct names; every entry is run;
//   - expected cv "None" / "Pass" / "Fail"; three tests carry an empty cv: they are the chains
//     whose seal says cv=fail ("cv_fail_i1_as_cv_fail" and the two i=2 variants), which RFC 8617
//     §5.2 step 2 makes "fail" — that is what is expected of them here;
//   - signing: AS, AMS and AAR are compared tag by tag after the whitespace the suite's layout
//     leaves free is removed. RSA signatures are deterministic, so the AMS b= must match
//     exactly; the AS b= covers the AMS *with its folding*, which the suite does not fix, so the
//     AS is compared without b= and must validate instead.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "arc/arc.hpp"
#include "dkim/dkim.hpp"
#include "message/message.hpp"
#include "support.hpp"

namespace {

namespace arc = rampart::arc;
namespace dkim = rampart::dkim;
namespace message = rampart::message;

/// Keys from a scenario's txt-records.
class MapKeys final : public dkim::KeyFetcher {
public:
    std::map<std::string, std::string> records;  // "<s>._domainkey.<d>" → TXT text

    dkim::KeyLookup fetch(std::string_view selector, std::string_view domain) override {
        dkim::KeyLookup lookup;
        const std::string name = rampart::ascii_lower(dkim::dkim_key_name(selector, domain));
        auto found = records.find(name);
        if (found == records.end()) {
            lookup.reason = fmt::format("{} has no TXT record", name);
            return lookup;
        }
        lookup.record_text = found->second;
        auto parsed = dkim::parse_key_record(found->second);
        if (!parsed) {
            lookup.reason = parsed.error().reason;
            return lookup;
        }
        lookup.status = dkim::KeyLookup::Status::found;
        lookup.record = std::move(*parsed);
        return lookup;
    }
};

std::string strip_trailing_line_ends(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
}

MapKeys keys_of(const YAML::Node& scenario) {
    MapKeys keys;
    const YAML::Node records = scenario["txt-records"];
    if (!records) return keys;
    for (const auto& entry : records) {
        std::string text = entry.second.as<std::string>();
        std::erase(text, '\n');  // one character-string per line, joined without separator
        keys.records[rampart::ascii_lower(entry.first.as<std::string>())] = text;
    }
    return keys;
}

std::string expected_cv(const YAML::Node& test) {
    std::string cv = rampart::ascii_lower(std::string(rampart::trim(test["cv"].as<std::string>(""))));
    return cv.empty() ? "fail" : cv;
}

dkim::VerifyOptions suite_time() {
    dkim::VerifyOptions options;
    options.now = rampart::Timestamp(std::chrono::seconds(12345 + 60));  // the suite signs at t=12345
    return options;
}

std::filesystem::path suite_dir(const std::filesystem::path& corpus) { return corpus / "arc" / "arc_test_suite"; }

TEST(ArcSuite, ValidationSuite) {
    RAMPART_REQUIRE_CORPUS(corpus);
    const auto docs = YAML::LoadAllFromFile((suite_dir(corpus) / "arc-draft-validation-tests.yml").string());
    int passed = 0;
    int total = 0;
    for (const auto& scenario : docs) {
        MapKeys keys = keys_of(scenario);
        for (const auto& entry : scenario["tests"]) {
            const std::string name = entry.first.as<std::string>();
            const YAML::Node test = entry.second;
            ++total;
            const std::string text = strip_trailing_line_ends(test["message"].as<std::string>(""));
            const std::string want = expected_cv(test);
            std::string got;
            std::string reason;
            if (auto parsed = message::parse(text)) {
                auto result = arc::validate(*parsed, keys, arc::ValidateOptions{.dkim = suite_time()});
                got = std::string(arc::to_string(result.status));
                reason = result.reason;
            } else {
                got = "fail";
                reason = parsed.error().reason;
            }
            EXPECT_EQ(got, want) << name << ": " << test["description"].as<std::string>("") << " — " << reason;
            if (got == want) ++passed;
        }
    }
    std::cout << fmt::format("arc validation suite: {}/{}\n", passed, total);
    EXPECT_EQ(total, 175);
}

/// "a=x; b=y" with every whitespace run gone and the tags sorted (the suite's comparison).
std::vector<std::string> tags_of(std::string value, bool drop_b) {
    std::erase_if(value, [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
    std::vector<std::string> tags;
    std::size_t from = 0;
    while (from <= value.size()) {
        std::size_t semi = value.find(';', from);
        if (semi == std::string::npos) semi = value.size();
        std::string tag = value.substr(from, semi - from);
        if (!tag.empty() && !(drop_b && tag.starts_with("b="))) tags.push_back(tag);
        from = semi + 1;
    }
    std::sort(tags.begin(), tags.end());
    return tags;
}

std::string value_of(std::string_view field) { return std::string(field.substr(field.find(':') + 1)); }

/// The suite's AR consolidation: results of every Authentication-Results field of this
/// authserv-id, in order.
std::string consolidated_results(const message::Header& header, std::string_view authserv_id) {
    std::string out;
    for (const auto* field : header.all("Authentication-Results")) {
        std::string value(rampart::trim(message::unfold(field->value())));
        const auto semi = value.find(';');
        if (semi == std::string::npos || rampart::trim(value.substr(0, semi)) != authserv_id) continue;
        std::string rest(rampart::trim(value.substr(semi + 1)));
        if (!rest.empty()) out += (out.empty() ? "" : "; ") + rest;
    }
    return out;
}

TEST(ArcSuite, SigningSuite) {
    RAMPART_REQUIRE_CORPUS(corpus);
    const auto docs = YAML::LoadAllFromFile((suite_dir(corpus) / "arc-draft-sign-tests.yml").string());
    int passed = 0;
    int total = 0;
    for (const auto& scenario : docs) {
        MapKeys keys = keys_of(scenario);
        auto key = dkim::PrivateKey::from_pem(scenario["privatekey"].as<std::string>());
        ASSERT_TRUE(key) << key.error().reason;
        for (const auto& entry : scenario["tests"]) {
            const std::string name = entry.first.as<std::string>();
            const YAML::Node test = entry.second;
            ++total;
            auto parsed = message::parse(strip_trailing_line_ends(test["message"].as<std::string>("")));
            ASSERT_TRUE(parsed) << name;
            const std::string authserv_id = test["srv-id"].as<std::string>();
            arc::SealOptions options{
                .domain = scenario["domain"].as<std::string>(),
                .selector = scenario["sel"].as<std::string>(),
                .authserv_id = authserv_id,
                .authentication_results = consolidated_results(parsed->header, authserv_id),
                .timestamp = rampart::Timestamp(std::chrono::seconds(test["t"].as<long>())),
            };
            const std::string headers = test["sig-headers"].as<std::string>();
            for (std::size_t from = 0; from <= headers.size();) {
                std::size_t colon = headers.find(':', from);
                if (colon == std::string::npos) colon = headers.size();
                options.headers.push_back(headers.substr(from, colon - from));
                from = colon + 1;
            }
            auto sealed = arc::seal(*parsed, *key, options, keys, arc::ValidateOptions{.dkim = suite_time()});
            ASSERT_TRUE(sealed) << name << ": " << sealed.error().reason;
            if (rampart::trim(test["AS"].as<std::string>("")).empty()) {
                // "if a chain is failing, don't add another set"
                EXPECT_TRUE(sealed->fields.empty()) << name;
                if (sealed->fields.empty()) ++passed;
                continue;
            }
            ASSERT_EQ(sealed->fields.size(), 3U);
            bool ok = true;
            auto compare = [&](std::string_view what, const std::string& ours, const std::string& theirs, bool drop_b) {
                if (tags_of(value_of(ours), drop_b) != tags_of(theirs, drop_b)) {
                    ADD_FAILURE() << name << " " << what << "\n ours:   " << value_of(ours) << "\n theirs: " << theirs;
                    ok = false;
                }
            };
            compare("AS", sealed->fields[0], test["AS"].as<std::string>(), true);
            compare("AMS", sealed->fields[1], test["AMS"].as<std::string>(), false);
            compare("AAR", sealed->fields[2], test["AAR"].as<std::string>(), false);

            // The sealed message validates.
            std::string resealed;
            for (const auto& field : sealed->fields) resealed += field + "\r\n";
            for (const auto& field : parsed->header.fields) resealed += field.raw + "\r\n";
            resealed += "\r\n" + parsed->body;
            auto again = message::parse(resealed);
            ASSERT_TRUE(again);
            auto validation = arc::validate(*again, keys, arc::ValidateOptions{.dkim = suite_time()});
            const auto expected_status = sealed->chain_validation == arc::ChainStatus::fail ? arc::ChainStatus::fail
                                                                                           : arc::ChainStatus::pass;
            if (validation.status != expected_status) {
                ADD_FAILURE() << name << ": our sealed message validates as " << arc::to_string(validation.status)
                              << " (" << validation.reason << ")";
                ok = false;
            }
            if (ok) ++passed;
        }
    }
    std::cout << fmt::format("arc signing suite: {}/{}\n", passed, total);
    EXPECT_EQ(total, 17);
}

/// mail-auth's format: "<name> <TXT>" lines, a blank line, then the message (LF line ends).
struct DnsAndMessage {
    MapKeys keys;
    std::string message;
};

DnsAndMessage read_mail_auth(const std::filesystem::path& path) {
    DnsAndMessage out;
    const std::string text = rampart::test::read_file(path);
    const auto blank = text.find("\n\n");
    std::string_view records(text.data(), blank == std::string::npos ? 0 : blank);
    while (!records.empty()) {
        const auto eol = records.find('\n');
        std::string_view line = records.substr(0, eol);
        const auto space = line.find(' ');
        if (space != std::string_view::npos)
            out.keys.records[rampart::ascii_lower(line.substr(0, space))] = std::string(line.substr(space + 1));
        records = eol == std::string_view::npos ? std::string_view{} : records.substr(eol + 1);
    }
    out.message = blank == std::string::npos ? text : text.substr(blank + 2);
    return out;
}

TEST(ArcSuite, MailAuthSealedMessagesPass) {
    RAMPART_REQUIRE_CORPUS(corpus);
    for (const char* file : {"001.txt", "002.txt"}) {
        auto input = read_mail_auth(corpus / "arc" / "mail-auth" / file);
        auto parsed = message::parse(input.message);
        ASSERT_TRUE(parsed) << file;
        auto result = arc::validate(*parsed, input.keys);
        EXPECT_EQ(result.status, arc::ChainStatus::pass) << file << ": " << result.reason;
        EXPECT_GE(result.instances, 1) << file;
        EXPECT_FALSE(result.first_hop_results.empty()) << file;
    }
}

}  // namespace
