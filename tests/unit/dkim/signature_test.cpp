// RFC 6376 §3.2 (tag lists) and §3.5 (DKIM-Signature tags), RFC 8617 §4.1.2–4.1.3 (ARC
// variants): "Tags with duplicate names MUST NOT occur within a single tag-list; if a tag name
// does occur more than once, the entire tag-list is invalid."
#include <gtest/gtest.h>

#include <string>

#include <fmt/format.h>

#include "dkim/dkim.hpp"

namespace rampart::dkim {
namespace {

// A valid DKIM signature value with every tag; tests change one thing at a time.
constexpr std::string_view bh = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=";
std::string dkim_value(std::string_view extra = "", std::string_view h = "From:To:Subject") {
    return fmt::format(
        " v=1; a=rsa-sha256; c=relaxed/simple; d=Example.COM; s=sel;\r\n\t"
        "h={}; bh={};{}\r\n\tb=dGVz\r\n\t dA==",
        h, bh, extra);
}

TEST(TagList, FwsAroundEqualsAndSemicolonsTrailingSemicolon) {
    auto tags = parse_tag_list(" a = 1 ;\r\n\tbb=two words ; c=;");
    ASSERT_TRUE(tags) << tags.error().reason;
    ASSERT_EQ(tags->size(), 3u);
    EXPECT_EQ((*tags)[0].name, "a");
    EXPECT_EQ((*tags)[0].value, "1");
    EXPECT_EQ((*tags)[1].value, "two words");
    EXPECT_EQ((*tags)[2].value, "");
    EXPECT_EQ((*tags)[1].name_offset, 11u);
}

TEST(TagList, InnerFoldingKeptAsWritten) {
    auto tags = parse_tag_list("b=abc\r\n\tdef");
    ASSERT_TRUE(tags);
    EXPECT_EQ((*tags)[0].value, "abc\r\n\tdef");
    EXPECT_EQ((*tags)[0].value_offset, 2u);
    EXPECT_EQ((*tags)[0].value_end, 11u);
}

TEST(TagList, DuplicateTagInvalidatesTheWholeList) {
    auto tags = parse_tag_list("a=1; b=2; a=3");
    ASSERT_FALSE(tags);
    EXPECT_EQ(tags.error().code, Errc::malformed);
    EXPECT_NE(tags.error().reason.find("twice"), std::string::npos);
    EXPECT_EQ(tags.error().where.offset, 10u);
}

TEST(TagList, TagNamesAreCaseSensitiveSoAAndADiffer) {
    auto tags = parse_tag_list("a=1; A=2");
    ASSERT_TRUE(tags);
    EXPECT_EQ(tags->size(), 2u);
}

TEST(TagList, BadNamesMissingEqualsBadOctetsEmptyTags) {
    EXPECT_FALSE(parse_tag_list("1a=x"));
    EXPECT_FALSE(parse_tag_list("a-b=x"));
    EXPECT_FALSE(parse_tag_list("=x"));
    EXPECT_FALSE(parse_tag_list("a"));
    EXPECT_FALSE(parse_tag_list("a b=c"));
    EXPECT_FALSE(parse_tag_list("a=1;;b=2"));
    EXPECT_FALSE(parse_tag_list("a=caf\xc3\xa9"));
    EXPECT_FALSE(parse_tag_list(std::string("a=x\0y", 5)));
    EXPECT_TRUE(parse_tag_list("a_1=x"));
    EXPECT_TRUE(parse_tag_list(""));
}

TEST(Signature, ParsesEveryTag) {
    auto sig =
        parse_signature(dkim_value(" i=joe@sub.example.com; l=42; t=100; x=200; q=dns/txt; "
                                   "z=From:x; unknown=kept;"));
    ASSERT_TRUE(sig) << sig.error().reason;
    EXPECT_EQ(sig->algorithm, Algorithm::rsa_sha256);
    EXPECT_EQ(sig->header_canon, Canonicalization::relaxed);
    EXPECT_EQ(sig->body_canon, Canonicalization::simple);
    EXPECT_EQ(sig->domain, "example.com");
    EXPECT_EQ(sig->selector, "sel");
    EXPECT_EQ(sig->signed_headers, (std::vector<std::string>{"From", "To", "Subject"}));
    EXPECT_EQ(sig->identity, "joe@sub.example.com");
    EXPECT_EQ(sig->body_length, 42u);
    EXPECT_EQ(sig->timestamp->time_since_epoch().count(), 100);
    EXPECT_EQ(sig->expiration->time_since_epoch().count(), 200);
    EXPECT_EQ(sig->signature_text, "dGVzdA==");
    EXPECT_EQ(sig->signature, (std::vector<std::uint8_t>{'t', 'e', 's', 't'}));
    EXPECT_EQ(sig->body_hash.size(), 32u);
    EXPECT_EQ(sig->copied_headers, "From:x");
    EXPECT_EQ(sig->tags.back().name, "b");
}

TEST(Signature, DefaultsCanonicalizationAndIdentity) {
    auto sig = parse_signature(" v=1; a=ed25519-sha256; d=example.org; s=s; h=from; bh=" +
                               std::string(bh) + "; b=dGVzdA==");
    ASSERT_TRUE(sig) << sig.error().reason;
    EXPECT_EQ(sig->header_canon, Canonicalization::simple);
    EXPECT_EQ(sig->body_canon, Canonicalization::simple);
    EXPECT_EQ(sig->identity, "@example.org");
    EXPECT_EQ(sig->algorithm, Algorithm::ed25519_sha256);
    auto relaxed = parse_signature(dkim_value(" c=relaxed;"));
    EXPECT_FALSE(relaxed);  // c= twice
    auto only_header = parse_signature(" v=1; a=rsa-sha256; c=relaxed; d=e.org; s=s; h=From; bh=" +
                                       std::string(bh) + "; b=dGVzdA==");
    ASSERT_TRUE(only_header);
    EXPECT_EQ(only_header->header_canon, Canonicalization::relaxed);
    EXPECT_EQ(only_header->body_canon, Canonicalization::simple);
}

TEST(Signature, EveryRequiredTagIsRequired) {
    const std::string full =
        " v=1; a=rsa-sha256; d=e.org; s=s; h=From; bh=" + std::string(bh) + "; b=dGVzdA==";
    const std::vector<std::string> tags = {"v=1; ",     "a=rsa-sha256; ",
                                           "d=e.org; ", "s=s; ",
                                           "h=From; ",  "bh=" + std::string(bh) + "; ",
                                           "b=dGVzdA=="};
    for (const auto& tag : tags) {
        std::string text = full;
        text.erase(text.find(tag), tag.size());
        auto sig = parse_signature(text);
        ASSERT_FALSE(sig) << "without " << tag;
        EXPECT_NE(sig.error().reason.find("required"), std::string::npos) << sig.error().reason;
    }
}

TEST(Signature, InvalidValuesAreMalformed) {
    const std::string b = "; bh=" + std::string(bh) + "; b=dGVzdA==";
    const std::vector<std::string> bad = {
        " v=1.0; a=rsa-sha256; d=e.org; s=s; h=From" + b,                 // v= must be "1"
        " v=1; a=rsa-sha256; d=e.org; s=s; h=To" + b,                     // h= lacks From
        " v=1; a=rsa-sha256; d=e.org; s=s; h=From::To" + b,               // empty name in h=
        " v=1; a=rsa-sha256; c=fancy; d=e.org; s=s; h=From" + b,          // c=
        " v=1; a=rsa-sha256; c=simple/odd; d=e.org; s=s; h=From" + b,     // c= body
        " v=1; a=rsa-sha256; d=e.org; i=joe@other.org; s=s; h=From" + b,  // i= outside d=
        " v=1; a=rsa-sha256; d=e.org; i=joe@xe.org; s=s; h=From" + b,     // not a subdomain
        " v=1; a=rsa-sha256; d=e.org; i=joe; s=s; h=From" + b,            // i= without @
        " v=1; a=rsa-sha256; d=e.org; l=12a; s=s; h=From" + b,            // l=
        " v=1; a=rsa-sha256; d=e.org; t=-1; s=s; h=From" + b,             // t=
        " v=1; a=rsa-sha256; d=e.org; t=1234567890123; s=s; h=From" + b,  // t= over 12 digits
        " v=1; a=rsa-sha256; d=e.org; t=200; x=100; s=s; h=From" + b,     // x= before t=
        " v=1; a=rsa-sha256; d=e.org; q=http/well-known; s=s; h=From" + b,
        " v=1; a=rsa-sha256; d=e.org; s=s; h=From; bh=not base64!; b=dGVzdA==",
        " v=1; a=rsa-sha256; d=e.org; s=s; h=From; bh=" + std::string(bh) + "; b=dGVzd",
        " v=1; a=rsa-sha256; d=e.org; s=s; h=From; bh=" + std::string(bh) + "; b=",
        " v=1; a=rsa-sha256; d=e.org; s=s; h=From; bh=" + std::string(bh) +
            "; b=" + std::string(8000, 'A'),
        " v=1; a=rsa-sha256; d=; s=s; h=From" + b,
    };
    for (const auto& text : bad) {
        auto sig = parse_signature(text);
        ASSERT_FALSE(sig) << text;
        EXPECT_EQ(sig.error().code, Errc::malformed);
        EXPECT_FALSE(sig.error().reason.empty());
        EXPECT_LE(sig.error().where.offset, text.size());
    }
}

TEST(Signature, IdentityInSubdomainAndUnknownAlgorithmAreFine) {
    auto sig = parse_signature(dkim_value(" i=@Mail.Example.com.;"));
    ASSERT_TRUE(sig) << sig.error().reason;
    auto unknown = parse_signature(
        " v=1; a=rsa-sha512; d=e.org; s=s; h=From; bh=" + std::string(bh) + "; b=dGVzdA==");
    ASSERT_TRUE(unknown);
    EXPECT_EQ(unknown->algorithm, Algorithm::unknown);
    EXPECT_EQ(unknown->algorithm_text, "rsa-sha512");
    EXPECT_EQ(parse_algorithm("rsa-sha1"), Algorithm::rsa_sha1);
    EXPECT_EQ(key_type_of(Algorithm::ed25519_sha256), KeyType::ed25519);
    EXPECT_EQ(hash_of(Algorithm::rsa_sha1), HashAlgorithm::sha1);
    EXPECT_EQ(to_string(Algorithm::ed25519_sha256), "ed25519-sha256");
}

TEST(Signature, ArcMessageSignatureHasAnInstanceAndNoVersion) {
    const std::string ams =
        " i=2; a=rsa-sha256; c=relaxed/relaxed; d=e.org; s=s; h=to:subject; bh=" + std::string(bh) +
        "; b=dGVzdA==";
    auto sig = parse_signature(ams, SignatureKind::arc_message);
    ASSERT_TRUE(sig) << sig.error().reason;
    EXPECT_EQ(sig->instance, 2);
    EXPECT_EQ(sig->kind, SignatureKind::arc_message);
    // From is not required in an AMS, v= is ignored, i= must be 1..50.
    EXPECT_TRUE(parse_signature(" v=9;" + ams, SignatureKind::arc_message));
    EXPECT_FALSE(parse_signature(ams, SignatureKind::dkim));
    std::string bad_instance = ams;
    bad_instance.replace(bad_instance.find("i=2"), 3, "i=51");
    EXPECT_FALSE(parse_signature(bad_instance, SignatureKind::arc_message));
    std::string no_instance = ams;
    no_instance.erase(no_instance.find("i=2;"), 4);
    EXPECT_FALSE(parse_signature(no_instance, SignatureKind::arc_message));
}

TEST(Signature, ArcSealTagsAndHMakesItInvalid) {
    const std::string seal = " i=1; a=rsa-sha256; t=12345; cv=none; d=e.org; s=s; b=dGVzdA==";
    auto sig = parse_signature(seal, SignatureKind::arc_seal);
    ASSERT_TRUE(sig) << sig.error().reason;
    EXPECT_EQ(sig->chain_validation, "none");
    EXPECT_EQ(sig->header_canon, Canonicalization::relaxed);
    EXPECT_EQ(sig->instance, 1);
    EXPECT_FALSE(parse_signature(seal + "; h=from", SignatureKind::arc_seal));
    std::string bad_cv = seal;
    bad_cv.replace(bad_cv.find("cv=none"), 7, "cv=maybe");
    EXPECT_FALSE(parse_signature(bad_cv, SignatureKind::arc_seal));
    std::string no_cv = seal;
    no_cv.erase(no_cv.find("cv=none;"), 8);
    EXPECT_FALSE(parse_signature(no_cv, SignatureKind::arc_seal));
}

}  // namespace
}  // namespace rampart::dkim
