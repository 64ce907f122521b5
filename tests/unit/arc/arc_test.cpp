#include "arc/arc.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <map>
#include <memory>

#include <fmt/format.h>

namespace rampart::arc {
namespace {

std::string pem_of(EVP_PKEY* key) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

dkim::PrivateKey generate(dkim::KeyType type) {
    EVP_PKEY* raw = type == dkim::KeyType::rsa ? EVP_RSA_gen(2048) : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, &EVP_PKEY_free);
    auto parsed = dkim::PrivateKey::from_pem(pem_of(key.get()));
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().reason);
    return std::move(*parsed);
}

/// Keys published in memory, counting look-ups.
class Keys final : public dkim::KeyFetcher {
public:
    std::map<std::string, dkim::KeyRecord> records;
    int fetches = 0;

    void publish(std::string_view selector, std::string_view domain, const dkim::PrivateKey& key) {
        auto text = dkim::format_key_record(key.type(), key.public_key());
        ASSERT_TRUE(text);
        auto record = dkim::parse_key_record(*text);
        ASSERT_TRUE(record);
        records[dkim::dkim_key_name(selector, domain)] = *record;
    }
    dkim::KeyLookup fetch(std::string_view selector, std::string_view domain) override {
        ++fetches;
        dkim::KeyLookup lookup;
        auto found = records.find(dkim::dkim_key_name(selector, domain));
        if (found == records.end()) {
            lookup.reason = "NXDOMAIN";
            return lookup;
        }
        lookup.status = dkim::KeyLookup::Status::found;
        lookup.record = found->second;
        return lookup;
    }
};

constexpr std::string_view original =
    "From: Alice <alice@origin.example>\r\n"
    "To: list@lists.example\r\n"
    "Subject: Hello\r\n"
    "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
    "Message-ID: <1@origin.example>\r\n"
    "\r\n"
    "Hello list.\r\n";

message::Message parse(std::string_view text) {
    auto m = message::parse(text);
    EXPECT_TRUE(m) << (m ? "" : m.error().reason);
    return m ? *m : message::Message{};
}

std::string with_fields(const std::vector<std::string>& fields, const message::Message& m) {
    std::string text;
    for (const auto& f : fields) text += f + "\r\n";
    for (const auto& f : m.header.fields) text += f.raw + "\r\n";
    return text + "\r\n" + m.body;
}

class ArcChain : public ::testing::Test {
protected:
    Keys keys;
    dkim::PrivateKey rsa = generate(dkim::KeyType::rsa);
    dkim::PrivateKey ed = generate(dkim::KeyType::ed25519);

    void SetUp() override {
        keys.publish("arc1", "lists.example", rsa);
        keys.publish("arc2", "forwarder.example", rsa);
        keys.publish("ed", "edhop.example", ed);
    }

    SealOptions hop(std::string domain, std::string selector, std::string results) {
        return SealOptions{.domain = std::move(domain), .selector = std::move(selector),
                           .authserv_id = "mx.hop.example", .authentication_results = std::move(results),
                           .timestamp = Timestamp(std::chrono::seconds(1795000000))};
    }

    message::Message seal_with(const message::Message& m, const dkim::PrivateKey& key, const SealOptions& options,
                               ChainStatus expected_cv) {
        auto sealed = seal(m, key, options, keys);
        EXPECT_TRUE(sealed) << (sealed ? "" : sealed.error().reason);
        if (!sealed) return m;
        EXPECT_EQ(sealed->chain_validation, expected_cv);
        EXPECT_TRUE(sealed->fields[0].starts_with("ARC-Seal: "));
        EXPECT_TRUE(sealed->fields[1].starts_with("ARC-Message-Signature: "));
        EXPECT_TRUE(sealed->fields[2].starts_with("ARC-Authentication-Results: "));
        for (const auto& field : sealed->fields) {
            for (auto line_end = field.find("\r\n"); line_end != std::string::npos; line_end = field.find("\r\n", line_end + 2))
                EXPECT_TRUE(field[line_end + 2] == '\t') << "folded lines continue with a tab";
        }
        return parse(with_fields(sealed->fields, m));
    }
};

TEST_F(ArcChain, NoArcFieldsIsNone) {
    auto result = validate(parse(original), keys);
    EXPECT_EQ(result.status, ChainStatus::none);
    EXPECT_EQ(result.instances, 0);
    EXPECT_EQ(keys.fetches, 0);
}

TEST_F(ArcChain, OneHopPassesAndKeepsWhatTheFirstHopFound) {
    auto sealed = seal_with(parse(original), rsa, hop("lists.example", "arc1", "spf=pass smtp.mailfrom=origin.example"),
                            ChainStatus::none);
    auto result = validate(sealed, keys);
    EXPECT_EQ(result.status, ChainStatus::pass) << result.reason;
    EXPECT_EQ(result.instances, 1);
    EXPECT_EQ(result.first_hop_results, "mx.hop.example; spf=pass smtp.mailfrom=origin.example");
    ASSERT_EQ(result.sets.size(), 1U);
    EXPECT_EQ(result.sets[0].domain, "lists.example");
    EXPECT_EQ(result.sets[0].chain_validation, "none");
    EXPECT_EQ(result.sets[0].seal, dkim::Outcome::pass);
}

TEST_F(ArcChain, TwoHopsPassAndOldestPassSeesAModifiedBody) {
    auto first = seal_with(parse(original), rsa, hop("lists.example", "arc1", "dkim=pass"), ChainStatus::none);
    auto second = seal_with(first, rsa, hop("forwarder.example", "arc2", "arc=pass"), ChainStatus::pass);
    auto clean = validate(second, keys);
    EXPECT_EQ(clean.status, ChainStatus::pass) << clean.reason;
    EXPECT_EQ(clean.instances, 2);
    EXPECT_EQ(clean.oldest_pass, 0) << "every AMS still verifies";

    // The list validates the chain on arrival, adds a footer, then seals what it sends on.
    const auto arrived = validate(first, keys);
    ASSERT_EQ(arrived.status, ChainStatus::pass) << arrived.reason;
    message::Message changed = first;
    changed.body = "[list footer added]\r\nHello list.\r\n";
    SealOptions after_footer = hop("forwarder.example", "arc2", "arc=pass");
    after_footer.arrived_chain = arrived.status;
    auto resealed = seal_with(changed, rsa, after_footer, ChainStatus::pass);
    auto result = validate(resealed, keys);
    EXPECT_EQ(result.status, ChainStatus::pass) << result.reason;
    EXPECT_EQ(result.oldest_pass, 2) << "AMS(1) no longer verifies";
    EXPECT_EQ(result.sets[0].message_signature, dkim::Outcome::fail);
}

TEST_F(ArcChain, SealingAChangedMessageWithoutItsArrivalStatusWritesCvFail) {
    auto first = seal_with(parse(original), rsa, hop("lists.example", "arc1", "dkim=pass"), ChainStatus::none);
    message::Message changed = first;
    changed.body = "[footer]\r\n";
    auto sealed = seal_with(changed, rsa, hop("forwarder.example", "arc2", "arc=pass"), ChainStatus::fail);
    EXPECT_EQ(validate(sealed, keys).status, ChainStatus::fail);
}

TEST_F(ArcChain, Ed25519SealsValidate) {
    auto sealed = seal_with(parse(original), ed, hop("edhop.example", "ed", "spf=pass"), ChainStatus::none);
    auto result = validate(sealed, keys);
    EXPECT_EQ(result.status, ChainStatus::pass) << result.reason;
    EXPECT_NE(sealed.header.fields[0].raw.find("a=ed25519-sha256"), std::string::npos);
}

TEST_F(ArcChain, ChangedSignedHeaderFailsTheNewestSignature) {
    auto sealed = seal_with(parse(original), rsa, hop("lists.example", "arc1", "spf=pass"), ChainStatus::none);
    std::string text = with_fields({}, sealed);
    text.replace(text.find("Subject: Hello"), 14, "Subject: Hellp");
    auto result = validate(parse(text), keys);
    EXPECT_EQ(result.status, ChainStatus::fail);
    EXPECT_NE(result.reason.find("ARC-Message-Signature"), std::string::npos) << result.reason;
}

TEST_F(ArcChain, ChangedResultsFailTheSeal) {
    auto sealed = seal_with(parse(original), rsa, hop("lists.example", "arc1", "spf=fail"), ChainStatus::none);
    std::string text = with_fields({}, sealed);
    text.replace(text.find("spf=fail"), 8, "spf=pass");
    auto result = validate(parse(text), keys);
    EXPECT_EQ(result.status, ChainStatus::fail);
    EXPECT_NE(result.reason.find("ARC-Seal i=1"), std::string::npos) << result.reason;
}

TEST_F(ArcChain, IncompleteSetsAndBadInstancesFail) {
    auto sealed = seal_with(parse(original), rsa, hop("lists.example", "arc1", "spf=pass"), ChainStatus::none);
    message::Message without_seal = sealed;
    without_seal.header.fields.erase(without_seal.header.fields.begin());
    auto missing = validate(without_seal, keys);
    EXPECT_EQ(missing.status, ChainStatus::fail);
    EXPECT_NE(missing.reason.find("incomplete"), std::string::npos) << missing.reason;

    message::Message duplicated = sealed;
    duplicated.header.fields.push_back(sealed.header.fields[2]);
    auto twice = validate(duplicated, keys);
    EXPECT_EQ(twice.status, ChainStatus::fail);
    EXPECT_NE(twice.reason.find("two"), std::string::npos) << twice.reason;

    auto bad_aar = validate(parse(with_fields({"ARC-Authentication-Results: mx.example; i=1; spf=pass"}, parse(original))), keys);
    EXPECT_EQ(bad_aar.status, ChainStatus::fail);
}

TEST_F(ArcChain, ABrokenChainIsSealedWithCvFailAndStaysFailed) {
    auto sealed = seal_with(parse(original), rsa, hop("lists.example", "arc1", "spf=pass"), ChainStatus::none);
    std::string text = with_fields({}, sealed);
    text.replace(text.find("spf=pass"), 8, "spf=none");  // breaks AS(1)
    auto broken = parse(text);
    auto resealed = seal_with(broken, rsa, hop("forwarder.example", "arc2", "arc=fail"), ChainStatus::fail);
    auto result = validate(resealed, keys);
    EXPECT_EQ(result.status, ChainStatus::fail);
    EXPECT_NE(result.reason.find("cv=fail"), std::string::npos) << result.reason;
}

TEST_F(ArcChain, AMessageSignatureCoveringASealIsRefused) {
    auto first = seal_with(parse(original), rsa, hop("lists.example", "arc1", "spf=pass"), ChainStatus::none);
    SealOptions options = hop("forwarder.example", "arc2", "arc=pass");
    options.headers = {"from", "subject", "arc-seal"};
    auto second = seal_with(first, rsa, options, ChainStatus::pass);
    auto result = validate(second, keys);
    EXPECT_EQ(result.status, ChainStatus::fail);
    EXPECT_NE(result.reason.find("ARC-Seal"), std::string::npos) << result.reason;
}

TEST_F(ArcChain, UnpublishedKeyFailsWithTheReason) {
    auto sealed = seal_with(parse(original), rsa, hop("unknown.example", "nokey", "spf=pass"), ChainStatus::none);
    auto result = validate(sealed, keys);
    EXPECT_EQ(result.status, ChainStatus::fail);
    EXPECT_NE(result.reason.find("no key"), std::string::npos) << result.reason;
}

TEST_F(ArcChain, KeysAreFetchedOncePerSelectorAndDomain) {
    auto first = seal_with(parse(original), rsa, hop("lists.example", "arc1", "spf=pass"), ChainStatus::none);
    auto second = seal_with(first, rsa, hop("lists.example", "arc1", "arc=pass"), ChainStatus::pass);
    keys.fetches = 0;
    auto result = validate(second, keys);
    EXPECT_EQ(result.status, ChainStatus::pass) << result.reason;
    EXPECT_EQ(keys.fetches, 1);
}

TEST_F(ArcChain, FiftySetsAreTheLimit) {
    message::Message m = parse(original);
    for (int i = 1; i <= 50; ++i) {
        m = seal_with(m, ed, hop("edhop.example", "ed", fmt::format("hop={}", i)),
                      i == 1 ? ChainStatus::none : ChainStatus::pass);
    }
    auto result = validate(m, keys);
    EXPECT_EQ(result.status, ChainStatus::pass) << result.reason;
    EXPECT_EQ(result.instances, 50);
    auto refused = seal(m, ed, hop("edhop.example", "ed", "hop=51"), keys);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::limit_exceeded);
}

}  // namespace
}  // namespace rampart::arc
