#include "publish/publish.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "dns/zone.hpp"

namespace rampart::publish {
namespace {

Change change() {
    return Change{.domain = "acme.example",
                  .name = "_dmarc.acme.example",
                  .old_record = "v=DMARC1; p=none; rua=mailto:d@msp.example",
                  .new_record = "v=DMARC1; p=quarantine; sp=quarantine; t=y; pct=10; rua=mailto:d@msp.example",
                  .client = "acme",
                  .reason = "every check passed",
                  .at = Timestamp(std::chrono::seconds(1'795'000'000)),
                  .ttl = 3600};
}

std::string read(const std::filesystem::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(PublishText, QuotesEscapesAndSplitsTxt) {
    EXPECT_EQ(quoted_txt("v=DMARC1; p=none"), "\"v=DMARC1; p=none\"");
    EXPECT_EQ(quoted_txt("a\"b\\c"), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(quoted_txt("tab\there"), "\"tab\\009here\"");
    EXPECT_EQ(quoted_txt(""), "\"\"");
    const std::string long_text(300, 'x');
    EXPECT_EQ(quoted_txt(long_text), "\"" + std::string(255, 'x') + "\" \"" + std::string(45, 'x') + "\"");
}

TEST(PublishText, ZoneLinesAndNsupdateScriptSayExactlyTheChange) {
    const auto zone = zone_lines(change());
    EXPECT_NE(zone.find("; Rampart, 2026-11-18T"), std::string::npos) << zone;
    EXPECT_NE(zone.find("; replaces: v=DMARC1; p=none; rua=mailto:d@msp.example\n"), std::string::npos);
    EXPECT_NE(zone.find("_dmarc.acme.example. 3600 IN TXT \"v=DMARC1; p=quarantine; sp=quarantine; t=y; pct=10; "
                        "rua=mailto:d@msp.example\"\n"),
              std::string::npos)
        << zone;

    const auto script = nsupdate_script(change());
    EXPECT_NE(script.find("prereq yxrrset _dmarc.acme.example. TXT \"v=DMARC1; p=none; rua=mailto:d@msp.example\"\n"),
              std::string::npos)
        << script;
    EXPECT_NE(script.find("update delete _dmarc.acme.example. TXT \"v=DMARC1; p=none; rua=mailto:d@msp.example\"\n"),
              std::string::npos);
    EXPECT_NE(script.find("update add _dmarc.acme.example. 3600 TXT \"v=DMARC1; p=quarantine"), std::string::npos);
    EXPECT_TRUE(script.ends_with("send\n"));
    EXPECT_LT(script.find("update delete"), script.find("update add"));

    Change first = change();
    first.old_record.clear();
    const auto fresh = nsupdate_script(first);
    EXPECT_EQ(fresh.find("update delete"), std::string::npos) << "nothing to delete when nothing was live";
    EXPECT_EQ(fresh.find("prereq"), std::string::npos);
}

TEST(ManualPublisher, WritesBothFilesWholeToTheOutbox) {
    const auto outbox = std::filesystem::temp_directory_path() / ("rampart-outbox-" + std::to_string(::getpid()));
    std::filesystem::remove_all(outbox);
    ManualPublisher publisher(outbox / "nested");
    auto outcome = publisher.publish(change());
    ASSERT_TRUE(outcome) << outcome.error().reason;
    EXPECT_EQ(outcome->status, Outcome::Status::queued);
    ASSERT_EQ(outcome->files.size(), 2U);
    EXPECT_EQ(outcome->files[0].filename(), "20261118T110640Z-acme.example.zone");
    EXPECT_EQ(read(outcome->files[0]), zone_lines(change()));
    EXPECT_EQ(read(outcome->files[1]), nsupdate_script(change()));
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(outbox / "nested")) {
        EXPECT_FALSE(entry.path().string().ends_with(".tmp"));
        ++files;
    }
    EXPECT_EQ(files, 2U);

    Change bad = change();
    bad.domain = "../etc";
    EXPECT_FALSE(publisher.publish(bad)) << "a domain that is not a name never becomes a path";
    std::filesystem::remove_all(outbox);
}

TEST(LiveRecord, SaysWhatResolversSee) {
    dns::Zone zone;
    zone.add_txt("_dmarc.one.example", "v=DMARC1; p=none");
    zone.add_txt("_dmarc.one.example", "google-site-verification=abc");
    zone.add_txt("_dmarc.two.example", "v=DMARC1; p=none");
    zone.add_txt("_dmarc.two.example", "v=DMARC1; p=reject");
    zone.fail("_dmarc.broken.example", dns::Status::servfail);
    dns::ZoneResolver resolver(zone);

    auto one = live_record(resolver, "one.example");
    EXPECT_EQ(one.status, Live::Status::one);
    EXPECT_EQ(one.record, "v=DMARC1; p=none");
    EXPECT_EQ(live_record(resolver, "two.example").status, Live::Status::several);
    EXPECT_EQ(live_record(resolver, "none.example").status, Live::Status::none);
    auto broken = live_record(resolver, "broken.example");
    EXPECT_EQ(broken.status, Live::Status::failed);
    EXPECT_FALSE(broken.detail.empty());
}

TEST(LiveRecord, SameRecordIgnoresSpacingAndCase) {
    EXPECT_TRUE(same_record("v=DMARC1; p=none; rua=mailto:a@b.example", "v=DMARC1;p=none;rua=mailto:a@b.example"));
    EXPECT_TRUE(same_record("v=DMARC1; p=Quarantine", "v=DMARC1; p=quarantine"));
    EXPECT_FALSE(same_record("v=DMARC1; p=none", "v=DMARC1; p=quarantine"));
    EXPECT_FALSE(same_record("v=DMARC1; p=none", "v=DMARC1; p=none; pct=10"));
}

}  // namespace
}  // namespace rampart::publish
