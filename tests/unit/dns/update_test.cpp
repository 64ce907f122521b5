// dns/update without a server: BIND key files (format, algorithms, the 0600 rule, secrets never
// in messages), the UPDATE message as RFC 2136 lays it out (read back with our own wire parser and
// with ldns), and the reply reader against replies signed here with ldns.
//
// RFC 2136 §2.4.2: "RRset exists (value dependent) ... TTL must be zero"; §2.4.3: "RRset does not
// exist ... CLASS NONE, RDLENGTH zero"; §2.5.2: "delete an RRset ... CLASS ANY, TTL zero,
// RDLENGTH zero"; RFC 8945 §5.1: the TSIG RR is the last record of the additional section.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "dns/ldns.hpp"
#include "dns/update.hpp"
#include "dns/update_reply.hpp"
#include "dns/wire.hpp"

namespace {

using namespace rampart;
using namespace rampart::dns;
namespace fs = std::filesystem;

// Test keys only: made up for these tests, never used anywhere else.
constexpr const char* secret256 = "c2VjcmV0LWtleS1mb3ItcmFtcGFydC10ZXN0cy0wMDE=";
constexpr const char* secret512 =
    "dGhpcyBpcyBhIHNpeHR5LWZvdXIgb2N0ZXQga2V5IGZvciBobWFjLXNoYTUxMiB0ZXN0cyBvZiByYW1wYXJ0IQ==";

std::string key_text(std::string_view algorithm, std::string_view secret) {
    return "# made by tsig-keygen\n"
           "key \"rampart-acme\" {\n"
           "\talgorithm " +
           std::string(algorithm) +
           ";  // the algorithm\n"
           "\t/* the secret,\n   base64 */ secret \"" +
           std::string(secret) +
           "\";\n"
           "};\n";
}

class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "rampart-update-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    [[nodiscard]] const fs::path& path() const { return path_; }
    fs::path write(const std::string& name, const std::string& text, fs::perms mode) const {
        const auto p = path_ / name;
        std::ofstream(p) << text;
        fs::permissions(p, mode);
        return p;
    }

private:
    fs::path path_;
};

TEST(TsigKeyFile, ReadsBindFormatWithComments) {
    auto key = parse_tsig_key(key_text("hmac-sha256", secret256), "k.key");
    ASSERT_TRUE(key) << key.error().reason;
    EXPECT_EQ(key->name(), "rampart-acme");
    EXPECT_EQ(key->algorithm(), TsigAlgorithm::hmac_sha256);
    EXPECT_EQ(key->secret_base64(), secret256);
    EXPECT_EQ(to_string(key->algorithm()), "hmac-sha256");
}

TEST(TsigKeyFile, ReadsHmacSha512AndUnquotedNames) {
    auto key = parse_tsig_key(
        std::string("key Rampart.Key. { algorithm HMAC-SHA512; secret \"") + secret512 + "\"; };",
        "k.key");
    ASSERT_TRUE(key) << key.error().reason;
    EXPECT_EQ(key->name(), "rampart.key");
    EXPECT_EQ(key->algorithm(), TsigAlgorithm::hmac_sha512);
}

TEST(TsigKeyFile, RefusesMd5AndSha1WithoutQuotingTheSecret) {
    for (const char* algorithm :
         {"hmac-md5", "hmac-md5.sig-alg.reg.int", "hmac-sha1", "hmac-sha384"}) {
        auto key = parse_tsig_key(key_text(algorithm, secret256), "k.key");
        ASSERT_FALSE(key) << algorithm;
        EXPECT_EQ(key.error().code, Errc::malformed);
        EXPECT_NE(key.error().reason.find(algorithm), std::string::npos) << key.error().reason;
        EXPECT_NE(key.error().reason.find("k.key"), std::string::npos);
        EXPECT_EQ(key.error().reason.find(secret256), std::string::npos);
    }
}

TEST(TsigKeyFile, RefusesBadBase64) {
    const std::string secret = "c2VjcmV0LWtleS1mb3ItcmFtcGFydC10ZXN0cy0wMDE*";
    auto key = parse_tsig_key(key_text("hmac-sha256", secret), "k.key");
    ASSERT_FALSE(key);
    EXPECT_EQ(key.error().code, Errc::malformed);
    EXPECT_NE(key.error().reason.find("not valid base64"), std::string::npos) << key.error().reason;
    EXPECT_EQ(key.error().reason.find(secret), std::string::npos);
}

TEST(TsigKeyFile, RefusesMissingSecretAndMissingAlgorithm) {
    auto no_secret = parse_tsig_key("key \"k\" { algorithm hmac-sha256; };", "k.key");
    ASSERT_FALSE(no_secret);
    EXPECT_NE(no_secret.error().reason.find("no secret"), std::string::npos);
    auto no_algorithm =
        parse_tsig_key(std::string("key \"k\" { secret \"") + secret256 + "\"; };", "k.key");
    ASSERT_FALSE(no_algorithm);
    EXPECT_NE(no_algorithm.error().reason.find("no algorithm"), std::string::npos);
}

TEST(TsigKeyFile, RefusesTwoKeys) {
    const auto two = key_text("hmac-sha256", secret256) + key_text("hmac-sha512", secret512);
    auto key = parse_tsig_key(two, "k.key");
    ASSERT_FALSE(key);
    EXPECT_NE(key.error().reason.find("more than one key"), std::string::npos)
        << key.error().reason;
}

TEST(TsigKeyFile, NoErrorMessageContainsTheSecret) {
    const std::string s = secret256;
    const std::vector<std::string> broken = {
        "key \"k\" { algorithm hmac-sha256; secret " + s + " };",         // no ';'
        "key \"k\" { algorithm hmac-sha256; secret \"" + s + "\" };",     // no ';'
        "key \"k\" { algorithm hmac-sha256; secret \"" + s + "\"; }",     // no final ';'
        "key \"k\" { algorithm hmac-sha256; secret \"" + s + "\"; }; x",  // trailing text
        "key \"k\" { algorithm hmac-sha256; secret " + s + "; mystery " + s + "; };",
        "key \"k\" { algorithm hmac-sha256; secret \"" + s + "\"; secret \"" + s + "\"; };",
        "key \"k\" { algorithm " + s + "; secret \"" + s.substr(0, 10) + "\"; };",
        "key \"k\" { algorithm hmac-sha256; secret \"" + s + "-\"; };",
        "key " + s + " { algorithm hmac-sha256; };",
        "key \"k\" { algorithm hmac-sha256; secret \"" + s,
    };
    for (const auto& text : broken) {
        auto key = parse_tsig_key(text, "k.key");
        ASSERT_FALSE(key) << text;
        EXPECT_EQ(key.error().code, Errc::malformed);
        EXPECT_FALSE(key.error().reason.empty());
        EXPECT_EQ(key.error().reason.find(s), std::string::npos) << key.error().reason;
        EXPECT_EQ(key.error().reason.find(s.substr(0, 12)), std::string::npos)
            << key.error().reason;
    }
}

TEST(TsigKeyFile, RefusesAFileOthersCanRead) {
    TempDir dir;
    const auto open = dir.write("open.key", key_text("hmac-sha256", secret256),
                                fs::perms::owner_read | fs::perms::owner_write |
                                    fs::perms::group_read | fs::perms::others_read);
    auto key = read_tsig_key_file(open);
    ASSERT_FALSE(key);
    EXPECT_EQ(key.error().code, Errc::denied);
    EXPECT_NE(key.error().reason.find("chmod 600"), std::string::npos) << key.error().reason;
    EXPECT_NE(key.error().reason.find("0644"), std::string::npos) << key.error().reason;
    EXPECT_EQ(key.error().reason.find(secret256), std::string::npos);

    const auto closed = dir.write("closed.key", key_text("hmac-sha256", secret256),
                                  fs::perms::owner_read | fs::perms::owner_write);
    auto ok = read_tsig_key_file(closed);
    ASSERT_TRUE(ok) << ok.error().reason;
    EXPECT_EQ(ok->name(), "rampart-acme");

    auto missing = read_tsig_key_file(dir.path() / "missing.key");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST(TsigKeyFile, MalformedFileErrorNamesTheFileNotTheSecret) {
    TempDir dir;
    const auto p = dir.write("bad.key", key_text("hmac-md5", secret256),
                             fs::perms::owner_read | fs::perms::owner_write);
    auto key = read_tsig_key_file(p);
    ASSERT_FALSE(key);
    EXPECT_EQ(key.error().code, Errc::malformed);
    EXPECT_NE(key.error().reason.find("bad.key"), std::string::npos);
    EXPECT_EQ(key.error().reason.find(secret256), std::string::npos);
}

// ---- the UPDATE message ---------------------------------------------------------------------

TsigKey test_key() { return TsigKey("rampart-acme", TsigAlgorithm::hmac_sha256, secret256); }

TxtUpdate dmarc_update() {
    TxtUpdate u;
    u.zone = "acme.example";
    u.name = "_dmarc.acme.example";
    u.expected = {"v=DMARC1; p=none"};
    u.replacement = {"v=DMARC1; p=quarantine; pct=25"};
    u.ttl = 300;
    return u;
}

constexpr std::uint16_t type_txt = 16, type_tsig = 250;
constexpr std::uint16_t class_none = 254, class_any = 255;

struct PktFree {
    void operator()(ldns_pkt* p) const noexcept { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

Pkt ldns_read(const std::vector<std::byte>& bytes) {
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()) !=
        LDNS_STATUS_OK)
        return nullptr;
    return Pkt(raw);
}

TEST(BuildUpdate, LaysOutZonePrerequisiteUpdateAndTsig) {
    auto bytes = build_update(dmarc_update(), test_key(), 0x1234);
    ASSERT_TRUE(bytes) << bytes.error().reason;
    auto m = wire::parse_message(*bytes);
    ASSERT_TRUE(m) << m.error().reason;
    EXPECT_EQ(m->header.opcode, 5);
    EXPECT_EQ(m->header.id, 0x1234);
    EXPECT_FALSE(m->header.qr);
    EXPECT_FALSE(m->header.rd);  // part of Z in an UPDATE
    // Zone section: exactly one, the zone's SOA, class IN.
    ASSERT_EQ(m->questions.size(), 1u);
    EXPECT_EQ(m->questions[0].name, "acme.example");
    EXPECT_EQ(m->questions[0].type, 6);
    EXPECT_EQ(m->questions[0].klass, 1);
    // Prerequisite: the RRset believed live, class IN, TTL 0.
    ASSERT_EQ(m->answers.size(), 1u);
    EXPECT_EQ(m->answers[0].name, "_dmarc.acme.example");
    EXPECT_EQ(m->answers[0].type, type_txt);
    EXPECT_EQ(m->answers[0].klass, 1);
    EXPECT_EQ(m->answers[0].ttl, 0u);
    ASSERT_TRUE(m->answers[0].data);
    EXPECT_EQ(std::get<Txt>(*m->answers[0].data).joined(), "v=DMARC1; p=none");
    // Update: delete the RRset (class ANY, TTL 0), then add the new record with its TTL.
    ASSERT_EQ(m->authority.size(), 2u);
    EXPECT_EQ(m->authority[0].name, "_dmarc.acme.example");
    EXPECT_EQ(m->authority[0].type, type_txt);
    EXPECT_EQ(m->authority[0].klass, class_any);
    EXPECT_EQ(m->authority[0].ttl, 0u);
    EXPECT_EQ(m->authority[1].klass, 1);
    EXPECT_EQ(m->authority[1].ttl, 300u);
    ASSERT_TRUE(m->authority[1].data);
    EXPECT_EQ(std::get<Txt>(*m->authority[1].data).joined(), "v=DMARC1; p=quarantine; pct=25");
    // Additional: the TSIG, last, owned by the key name.
    ASSERT_FALSE(m->additional.empty());
    EXPECT_EQ(m->additional.back().type, type_tsig);
    EXPECT_EQ(m->additional.back().klass, class_any);
    EXPECT_EQ(m->additional.back().name, "rampart-acme");

    // ldns reads the same message: the delete RR has no rdata, the TSIG names hmac-sha256.
    auto pkt = ldns_read(*bytes);
    ASSERT_TRUE(pkt);
    EXPECT_EQ(ldns_rr_rd_count(ldns_rr_list_rr(ldns_pkt_authority(pkt.get()), 0)), 0u);
    ASSERT_NE(ldns_pkt_tsig(pkt.get()), nullptr);
    char* algorithm = ldns_rdf2str(ldns_rr_rdf(ldns_pkt_tsig(pkt.get()), 0));
    EXPECT_STREQ(algorithm, "hmac-sha256.");
    std::free(algorithm);
}

TEST(BuildUpdate, EmptyExpectedIsRrsetDoesNotExist) {
    auto u = dmarc_update();
    u.expected.clear();
    auto bytes = build_update(u, test_key(), 7);
    ASSERT_TRUE(bytes);
    auto m = wire::parse_message(*bytes);
    ASSERT_TRUE(m);
    ASSERT_EQ(m->answers.size(), 1u);
    EXPECT_EQ(m->answers[0].type, type_txt);
    EXPECT_EQ(m->answers[0].klass, class_none);
    EXPECT_EQ(m->answers[0].ttl, 0u);
    auto pkt = ldns_read(*bytes);
    ASSERT_TRUE(pkt);
    EXPECT_EQ(ldns_rr_rd_count(ldns_rr_list_rr(ldns_pkt_answer(pkt.get()), 0)), 0u);
}

TEST(BuildUpdate, EmptyReplacementOnlyDeletes) {
    auto u = dmarc_update();
    u.replacement.clear();
    auto bytes = build_update(u, test_key(), 7);
    ASSERT_TRUE(bytes);
    auto m = wire::parse_message(*bytes);
    ASSERT_TRUE(m);
    ASSERT_EQ(m->authority.size(), 1u);
    EXPECT_EQ(m->authority[0].klass, class_any);
}

TEST(BuildUpdate, SplitsTxtOver255OctetsAndKeepsSeveralRecords) {
    auto u = dmarc_update();
    const std::string long_value(600, 'k');
    u.expected = {long_value, "second", "second"};  // a set: the duplicate goes once
    u.replacement = {std::string(255, 'x'), "v=DMARC1; p=reject"};
    auto bytes = build_update(u, test_key(), 7);
    ASSERT_TRUE(bytes);
    auto m = wire::parse_message(*bytes);
    ASSERT_TRUE(m);
    ASSERT_EQ(m->answers.size(), 2u);
    const auto& txt = std::get<Txt>(*m->answers[0].data);
    ASSERT_EQ(txt.strings.size(), 3u);
    EXPECT_EQ(txt.strings[0].size(), 255u);
    EXPECT_EQ(txt.strings[1].size(), 255u);
    EXPECT_EQ(txt.strings[2].size(), 90u);
    EXPECT_EQ(txt.joined(), long_value);
    ASSERT_EQ(m->authority.size(), 3u);
    EXPECT_EQ(std::get<Txt>(*m->authority[1].data).strings.size(), 1u);
}

TEST(BuildUpdate, RefusesANameOutsideTheZone) {
    auto u = dmarc_update();
    u.name = "_dmarc.other.example";
    auto bytes = build_update(u, test_key(), 7);
    ASSERT_FALSE(bytes);
    EXPECT_EQ(bytes.error().code, Errc::malformed);
}

TEST(RcodeName, NamesUpdateAndTsigCodes) {
    EXPECT_EQ(rcode_name(0), "NOERROR");
    EXPECT_EQ(rcode_name(5), "REFUSED");
    EXPECT_EQ(rcode_name(7), "YXRRSET");
    EXPECT_EQ(rcode_name(8), "NXRRSET");
    EXPECT_EQ(rcode_name(9), "NOTAUTH");
    EXPECT_EQ(rcode_name(10), "NOTZONE");
    EXPECT_EQ(rcode_name(16), "BADSIG");
    EXPECT_EQ(rcode_name(17), "BADKEY");
    EXPECT_EQ(rcode_name(18), "BADTIME");
    EXPECT_EQ(rcode_name(13), "13");
    EXPECT_EQ(rcode_name(4000), "4000");
}

// ---- reading replies ------------------------------------------------------------------------

/// A server's reply to `request`, signed here with ldns over the request MAC as a server does.
std::vector<std::byte> signed_reply(const detail::SignedUpdate& request, std::uint16_t rcode,
                                    const TsigKey& key, bool sign = true) {
    Pkt pkt(ldns_pkt_new());
    ldns_pkt_set_id(pkt.get(), request.id);
    ldns_pkt_set_qr(pkt.get(), true);
    ldns_pkt_set_opcode(pkt.get(), LDNS_PACKET_UPDATE);
    ldns_pkt_set_rcode(pkt.get(), static_cast<std::uint8_t>(rcode));
    ldns_rr* zone_rr = nullptr;
    EXPECT_EQ(ldns_rr_new_question_frm_str(&zone_rr, "acme.example. IN SOA", nullptr, nullptr),
              LDNS_STATUS_OK);
    ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_QUESTION, zone_rr);
    if (sign) {
        std::vector<std::uint8_t> mac(
            reinterpret_cast<const std::uint8_t*>(request.mac.data()),
            reinterpret_cast<const std::uint8_t*>(request.mac.data()) + request.mac.size());
        ldns_rdf* mac_rdf = ldns_native2rdf_int16_data(mac.size(), mac.data());
        const auto name = key.name() + ".";
        const auto algorithm = std::string(to_string(key.algorithm())) + ".";
        EXPECT_EQ(ldns_pkt_tsig_sign(pkt.get(), name.c_str(), key.secret_base64().c_str(), 300,
                                     algorithm.c_str(), mac_rdf),
                  LDNS_STATUS_OK);
        ldns_rdf_deep_free(mac_rdf);
    }
    std::uint8_t* wire = nullptr;
    std::size_t size = 0;
    EXPECT_EQ(ldns_pkt2wire(&wire, pkt.get(), &size), LDNS_STATUS_OK);
    std::vector<std::byte> out(reinterpret_cast<std::byte*>(wire),
                               reinterpret_cast<std::byte*>(wire) + size);
    std::free(wire);
    return out;
}

Timestamp now() {
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

TEST(ReadUpdateReply, VerifiesASignedNoerror) {
    auto request = detail::sign_update(dmarc_update(), test_key(), 0x4242);
    ASSERT_TRUE(request) << request.error().reason;
    EXPECT_EQ(request->mac.size(), 32u);  // HMAC-SHA256
    const auto bytes = signed_reply(*request, 0, test_key());
    auto reply = detail::read_update_reply(bytes, *request, test_key(), now());
    ASSERT_TRUE(reply) << reply.error().reason;
    EXPECT_EQ(reply->rcode, 0);
    EXPECT_TRUE(reply->signed_reply_verified);
    EXPECT_TRUE(reply->applied());
    EXPECT_EQ(reply->detail, "NOERROR");
}

TEST(ReadUpdateReply, RefusesATamperedMacAnotherKeyAndAStaleTime) {
    auto request = detail::sign_update(dmarc_update(), test_key(), 0x4242);
    ASSERT_TRUE(request);
    auto bytes = signed_reply(*request, 0, test_key());
    auto tampered = bytes;
    tampered[tampered.size() - 10] ^= std::byte{1};  // inside the MAC
    auto reply = detail::read_update_reply(tampered, *request, test_key(), now());
    ASSERT_TRUE(reply) << reply.error().reason;
    EXPECT_FALSE(reply->signed_reply_verified);
    EXPECT_FALSE(reply->applied());

    const TsigKey other("rampart-acme", TsigAlgorithm::hmac_sha256,
                        "b3RoZXItc2VjcmV0LWZvci1yYW1wYXJ0LXRlc3RzLTAwMg==");
    reply =
        detail::read_update_reply(signed_reply(*request, 0, other), *request, test_key(), now());
    ASSERT_TRUE(reply);
    EXPECT_FALSE(reply->signed_reply_verified);

    reply = detail::read_update_reply(bytes, *request, test_key(), now() + std::chrono::hours(1));
    ASSERT_TRUE(reply);
    EXPECT_FALSE(reply->signed_reply_verified);
    EXPECT_NE(reply->detail.find("clock"), std::string::npos) << reply->detail;

    reply = detail::read_update_reply(signed_reply(*request, 0, test_key(), false), *request,
                                      test_key(), now());
    ASSERT_TRUE(reply);
    EXPECT_FALSE(reply->signed_reply_verified);
    EXPECT_NE(reply->detail.find("not signed"), std::string::npos) << reply->detail;
}

TEST(ReadUpdateReply, ReportsTheRcodeAndRefusesAnotherId) {
    auto request = detail::sign_update(dmarc_update(), test_key(), 0x4242);
    ASSERT_TRUE(request);
    auto reply = detail::read_update_reply(signed_reply(*request, 8, test_key()), *request,
                                           test_key(), now());
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->rcode, 8);
    EXPECT_TRUE(reply->conflict());
    EXPECT_FALSE(reply->applied());
    EXPECT_NE(reply->detail.find("NXRRSET"), std::string::npos);

    auto other = *request;
    other.id = 0x4243;
    auto wrong =
        detail::read_update_reply(signed_reply(*request, 0, test_key()), other, test_key(), now());
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, Errc::malformed);
}

}  // namespace
