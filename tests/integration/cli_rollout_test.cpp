// The rollout commands as users and scripts call them, on the sample reports and the sample
// configuration: `status` enrols every configured domain and prints the contract's keys; `hold`,
// `resume` and `set` change a domain and say so; `advance` publishes each pending record once to
// the outbox (zone lines and an nsupdate script) and `--dry-run` changes nothing; `plan` and
// `forecast` answer with their keys; bad input exits 2.
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using rampart::test::read_file;
using rampart::test::shell;

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }
const std::string rampart = quote(RAMPART_BINARY);
fs::path examples() { return rampart::test::source_dir() / "examples"; }

class CliRollout : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("rampart-rollout-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        db_ = dir_ / "rampart.db";
        auto r = shell(rampart + " ingest --json --db " + quote(db_) + " " + quote(examples() / "reports"));
        ASSERT_NE(r.status, 2) << r.out;
    }
    void TearDown() override { fs::remove_all(dir_); }

    /// Runs a rollout command on the samples, as of 2026-11-07 unless `now` says otherwise.
    rampart::test::ShellResult run(const std::string& args, const std::string& now = "2026-11-07") {
        return shell(rampart + " " + args + " --db " + quote(db_) + " --config " +
                     quote(examples() / "rampart.toml") + " --now " + now + " 2>" + quote(dir_ / "err"));
    }
    std::string err() const { return read_file(dir_ / "err"); }
    std::size_t outbox_files() const {
        if (!fs::exists(dir_ / "outbox")) return 0;
        return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_ / "outbox"), fs::directory_iterator()));
    }

    fs::path dir_, db_;
};

TEST_F(CliRollout, StatusEnrolsEveryConfiguredDomainWithTheContractKeys) {
    auto r = run("status --json");
    ASSERT_EQ(r.status, 0) << err();
    auto doc = json::parse(r.out);
    ASSERT_TRUE(doc.contains("domains"));
    ASSERT_GE(doc["domains"].size(), 4U);
    for (const auto& d : doc["domains"]) {
        for (const char* key : {"domain", "client", "plan", "step", "record", "since", "state", "reason", "next_step",
                                "earliest_next"})
            EXPECT_TRUE(d.contains(key)) << key << " in " << d.dump();
        EXPECT_EQ(d["plan"], "gradual");
        EXPECT_EQ(d["step"], "monitor");
        EXPECT_EQ(d["state"], "monitoring");
        EXPECT_TRUE(d["since"].is_null()) << "not live until its record is seen";
        EXPECT_EQ(d["next_step"], "sp-quarantine");
        EXPECT_EQ(d["record"], "v=DMARC1; p=none");
    }
    EXPECT_EQ(doc["domains"][0]["domain"], "acme.example");
    EXPECT_EQ(doc["domains"][0]["client"], "acme");

    auto one = run("status globex.example --json");
    ASSERT_EQ(one.status, 0) << err();
    EXPECT_EQ(json::parse(one.out)["domains"].size(), 1U);
    auto text = run("status acme.example");
    ASSERT_EQ(text.status, 0);
    EXPECT_NE(text.out.find("acme.example (acme, plan gradual): monitor"), std::string::npos) << text.out;

    EXPECT_EQ(run("status nobody.example").status, 2);
    EXPECT_NE(err().find("no [[client]] lists the domain nobody.example"), std::string::npos) << err();
}

TEST_F(CliRollout, HoldResumeAndSetChangeTheDomain) {
    auto held = run("hold acme.example --reason 'waiting for the CRM vendor' --json");
    ASSERT_EQ(held.status, 0) << err();
    auto h = json::parse(held.out)["domains"][0];
    EXPECT_EQ(h["state"], "holding");
    EXPECT_TRUE(h["held"].get<bool>());
    EXPECT_NE(h["reason"].get<std::string>().find("waiting for the CRM vendor"), std::string::npos);

    auto resumed = run("resume acme.example --json");
    ASSERT_EQ(resumed.status, 0) << err();
    EXPECT_EQ(json::parse(resumed.out)["domains"][0]["state"], "monitoring");

    auto set = run("set acme.example quarantine-10 --reason 'agreed with the client' --json");
    ASSERT_EQ(set.status, 0) << err();
    auto s = json::parse(set.out)["domains"][0];
    EXPECT_EQ(s["step"], "quarantine-10");
    EXPECT_EQ(s["record"], "v=DMARC1; p=quarantine; sp=quarantine; t=y; pct=10");
    EXPECT_TRUE(s["pending"].get<bool>());

    EXPECT_EQ(run("set acme.example quarantine-11 --reason typo").status, 2);
    EXPECT_NE(err().find("has no step \"quarantine-11\""), std::string::npos) << err();
    EXPECT_EQ(run("hold acme.example").status, 2) << "a hold needs a reason";
}

TEST_F(CliRollout, AdvancePublishesEachPendingRecordOnceAndDryRunChangesNothing) {
    auto dry = run("advance --offline --dry-run --json");
    ASSERT_EQ(dry.status, 0) << err();
    auto d = json::parse(dry.out);
    EXPECT_TRUE(d["dry_run"].get<bool>());
    EXPECT_EQ(outbox_files(), 0U) << "a dry run publishes nothing";

    auto first = run("advance --offline --json");
    ASSERT_EQ(first.status, 0) << err();
    auto doc = json::parse(first.out);
    ASSERT_GE(doc["domains"].size(), 4U);
    for (const auto& r : doc["domains"]) {
        for (const char* key : {"domain", "client", "action", "step", "reason", "old_record", "new_record", "published",
                                "went_live", "gates", "notes"})
            EXPECT_TRUE(r.contains(key)) << key;
        EXPECT_EQ(r["action"], "wait");
        ASSERT_TRUE(r["published"].is_object()) << r.dump();
        EXPECT_EQ(r["published"]["status"], "queued");
    }
    EXPECT_EQ(outbox_files(), 2 * doc["domains"].size()) << "a zone file and an nsupdate script per domain";
    const auto first_script = doc["domains"][0]["published"]["files"][1].get<std::string>();
    EXPECT_NE(read_file(first_script).find("update add _dmarc.acme.example. 3600 TXT \"v=DMARC1; p=none\""),
              std::string::npos)
        << read_file(first_script);

    auto second = run("advance --offline --json", "2026-11-08");
    ASSERT_EQ(second.status, 0) << err();
    const auto second_doc = json::parse(second.out);
    for (const auto& r : second_doc["domains"]) EXPECT_TRUE(r["published"].is_null()) << r.dump();
    EXPECT_EQ(outbox_files(), 2 * doc["domains"].size()) << "never published twice";

    EXPECT_EQ(run("advance --offline --domain nobody.example").status, 2);
}

TEST_F(CliRollout, PlanAndForecastAnswerWithTheirKeys) {
    auto plan = run("plan acme.example --json");
    ASSERT_EQ(plan.status, 0) << err();
    auto p = json::parse(plan.out);
    for (const char* key : {"domain", "plan", "step", "target", "feasible", "explanation", "steps"})
        EXPECT_TRUE(p.contains(key)) << key;
    ASSERT_EQ(p["steps"].size(), 9U);
    EXPECT_TRUE(p["steps"][0]["current"].get<bool>());
    EXPECT_EQ(p["steps"][4]["step"], "quarantine-100");
    EXPECT_TRUE(p["steps"][4]["milestone"].get<bool>());

    auto forecast = run("forecast acme.example --to quarantine-100 --since 2026-11-01 --json");
    ASSERT_NE(forecast.status, 2) << err();
    auto f = json::parse(forecast.out);
    for (const char* key : {"domain", "step", "record", "since", "until", "messages", "legitimate", "unauthorised",
                            "senders"})
        EXPECT_TRUE(f.contains(key)) << key;
    EXPECT_EQ(f["step"], "quarantine-100");
    EXPECT_EQ(f["record"], "v=DMARC1; p=quarantine; sp=quarantine");
    EXPECT_GT(f["messages"].get<std::uint64_t>(), 0U);
    // The sample spoofers fail DMARC: under quarantine for all, all their mail is quarantined.
    EXPECT_GT(f["unauthorised"]["quarantined"].get<double>(), 0.0);
    const bool blocks_legitimate =
        f["legitimate"]["quarantined"].get<double>() + f["legitimate"]["rejected"].get<double>() >= 0.5;
    EXPECT_EQ(forecast.status, blocks_legitimate ? 1 : 0);

    EXPECT_EQ(run("forecast acme.example --to nowhere").status, 2);
    EXPECT_EQ(run("status", "yesterday").status, 2);
    EXPECT_NE(err().find("--now"), std::string::npos) << err();
}

}  // namespace
