// The real resolver path (AresResolver on c-ares, CachingResolver in front) against a real
// authoritative server: Knot DNS on 127.0.0.1 (tests/harness/knot.hpp) serving the zone of
// harness/dns_cases.hpp, the same table the in-memory ZoneResolver answers in the unit tests.
// Also: answers over 512 octets come over TCP (RFC 1035 §4.2.1, RFC 7766), a name outside the
// served zones is REFUSED (servfail, rcode 5), a server that never answers is a timeout, and
// 1,000 questions run concurrently and all come back right, as do the answers of sixteen threads
// asking at once.
// Skipped when Knot is not installed, unless RAMPART_REQUIRE_REAL=1 (CI), which fails instead.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dns/ares.hpp"
#include "dns/cache.hpp"
#include "dns/zone.hpp"
#include "harness/dns_cases.hpp"
#include "harness/knot.hpp"

namespace {

using namespace rampart::dns;
namespace cases = rampart::test::dns_cases;
using rampart::test::KnotServer;

class Knot : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (auto why = KnotServer::missing(); !why.empty()) {
            skip_reason_ = why;
            return;
        }
        const auto zone = cases::zone();
        server_ = std::make_unique<KnotServer>(std::map<std::string, std::string>{
            {cases::origin, zone.to_master_file(cases::origin)},
            {cases::reverse_origin, zone.to_master_file(cases::reverse_origin)}});
        start_error_ = server_->start();
    }
    static void TearDownTestSuite() { server_.reset(); }

    void SetUp() override {
        if (!skip_reason_.empty()) {
            if (rampart::test::require_real_servers())
                FAIL() << skip_reason_ << ", and RAMPART_REQUIRE_REAL=1 forbids skipping";
            GTEST_SKIP() << skip_reason_ << ": DNS integration tests skipped";
        }
        ASSERT_EQ(start_error_, "");
    }
    void TearDown() override {
        if (HasFailure() && server_ != nullptr)
            std::cerr << "---- knotd log ----\n" << server_->log() << "----\n";
    }

    static std::unique_ptr<AresResolver> open(AresOptions options = {}) {
        if (!options.server) options.server = server_->server();
        auto resolver = AresResolver::open(options);
        EXPECT_TRUE(resolver.has_value()) << resolver.error().reason;
        return resolver ? std::move(*resolver) : nullptr;
    }

    static inline std::unique_ptr<KnotServer> server_;
    static inline std::string skip_reason_, start_error_;
};

class KnotCases : public Knot, public ::testing::WithParamInterface<cases::Case> {};

TEST_P(KnotCases, AnswerAsTheZoneResolverDoes) {
    auto resolver = open();
    ASSERT_NE(resolver, nullptr);
    cases::check(GetParam(), resolver->query(GetParam().name, GetParam().type), true);
}

INSTANTIATE_TEST_SUITE_P(Table, KnotCases, ::testing::ValuesIn(cases::cases()));

TEST_F(Knot, SoaAndItsNegativeTtl) {
    auto resolver = open();
    ASSERT_NE(resolver, nullptr);
    const auto soa = resolver->query(cases::origin, RrType::soa);
    ASSERT_EQ(soa.status, Status::ok) << soa.detail;
    ASSERT_TRUE(soa.soa().has_value());
    EXPECT_EQ(soa.soa()->mname, "ns.example.test");
    EXPECT_EQ(soa.soa()->rname, "hostmaster.example.test");
    EXPECT_EQ(soa.soa()->minimum, cases::negative_ttl);
}

TEST_F(Knot, QueryAllOfThousandQuestionsAllCorrect) {
    auto resolver = open();
    ASSERT_NE(resolver, nullptr);
    const auto table = cases::cases();
    std::vector<Resolver::Question> questions;
    std::vector<const cases::Case*> expected;
    for (std::size_t i = 0; questions.size() < 1000; ++i) {
        const auto& c = table[i % table.size()];
        questions.push_back({c.name, c.type});
        expected.push_back(&c);
    }
    const auto answers = resolver->query_all(questions);
    ASSERT_EQ(answers.size(), questions.size());
    for (std::size_t i = 0; i < answers.size(); ++i) {
        SCOPED_TRACE("question " + std::to_string(i));
        cases::check(*expected[i], answers[i], true);
        if (HasFailure()) break;
    }
}

TEST_F(Knot, ManyThreadsAskingAtOnceAllGetTheirOwnAnswers) {
    // query() runs on the calling thread with a channel of its own: sixteen callers at once must
    // neither share a channel nor receive each other's answers.
    auto resolver = open();
    ASSERT_NE(resolver, nullptr);
    const auto table = cases::cases();
    constexpr std::size_t threads = 16, rounds = 5;
    std::vector<std::vector<Answer>> answers(threads);
    std::vector<std::thread> askers;
    for (std::size_t t = 0; t < threads; ++t) {
        askers.emplace_back([&, t] {
            for (std::size_t i = 0; i < rounds * table.size(); ++i) {
                // Each thread starts at a different row, so that different questions overlap.
                const auto& c = table[(i + t) % table.size()];
                answers[t].push_back(resolver->query(c.name, c.type));
            }
        });
    }
    for (auto& a : askers) a.join();
    for (std::size_t t = 0; t < threads; ++t) {
        ASSERT_EQ(answers[t].size(), rounds * table.size());
        for (std::size_t i = 0; i < answers[t].size(); ++i) {
            SCOPED_TRACE("thread " + std::to_string(t) + ", question " + std::to_string(i));
            cases::check(table[(i + t) % table.size()], answers[t][i], true);
            if (HasFailure()) return;
        }
    }
}

TEST_F(Knot, CacheInFrontMakesTheSecondRoundFree) {
    auto resolver = open();
    ASSERT_NE(resolver, nullptr);
    CachingResolver cache(std::move(resolver));
    std::vector<Resolver::Question> questions;
    for (const auto& c : cases::cases()) questions.push_back({c.name, c.type});
    const auto first = cache.query_all(questions);
    const auto after_first = cache.stats();
    const auto second = cache.query_all(questions);
    const auto after_second = cache.stats();
    ASSERT_EQ(first.size(), second.size());
    for (std::size_t i = 0; i < first.size(); ++i) {
        EXPECT_EQ(first[i].status, second[i].status) << questions[i].name;
        EXPECT_EQ(first[i].records.size(), second[i].records.size()) << questions[i].name;
    }
    // The loop is the one servfail of the table, and failures are never cached.
    std::uint64_t failures = 0;
    for (const auto& a : first) failures += a.failed() ? 1u : 0u;
    EXPECT_EQ(failures, 1u);
    EXPECT_EQ(after_second.upstream_queries - after_first.upstream_queries, failures);
}

TEST_F(Knot, NameOutsideTheServedZonesIsRefused) {
    auto resolver = open();
    ASSERT_NE(resolver, nullptr);
    const auto answer = resolver->query("example.org", RrType::a);
    EXPECT_EQ(answer.status, Status::servfail) << answer.detail;
    EXPECT_EQ(answer.rcode, 5);
    EXPECT_NE(answer.detail.find("REFUSED"), std::string::npos) << answer.detail;
}

TEST_F(Knot, BadNamesAreRefusedBeforeAnyQuery) {
    auto resolver = open();
    ASSERT_NE(resolver, nullptr);
    std::string long_name;
    for (int i = 0; i < 4; ++i) long_name += std::string(63, 'a') + ".";
    for (const auto& name : {long_name + "example.test", std::string("b\xc3\xbc.example.test"),
                             std::string("a..example.test")}) {
        const auto answer = resolver->query(name, RrType::a);
        EXPECT_EQ(answer.status, Status::error);
        EXPECT_FALSE(answer.detail.empty());
    }
}

TEST_F(Knot, ServerThatNeverAnswersIsATimeout) {
    rampart::test::SilentServer silent;
    ASSERT_EQ(silent.error(), "");
    AresOptions options;
    options.server = silent.server();
    options.timeout = std::chrono::milliseconds(100);
    options.tries = 1;
    auto resolver = open(options);
    ASSERT_NE(resolver, nullptr);
    const std::vector<Resolver::Question> questions{{"a.example.test", RrType::a},
                                                    {"big.example.test", RrType::txt}};
    for (const auto& answer : resolver->query_all(questions)) {
        EXPECT_EQ(answer.status, Status::timeout) << answer.detail;
        EXPECT_TRUE(answer.failed());
        EXPECT_FALSE(answer.detail.empty());
    }
}

TEST_F(Knot, DestroyingTheResolverEndsQuestionsInFlight) {
    rampart::test::SilentServer silent;
    ASSERT_EQ(silent.error(), "");
    AresOptions options;
    options.server = silent.server();
    options.timeout = std::chrono::milliseconds(60'000);
    auto resolver = open(options);
    ASSERT_NE(resolver, nullptr);
    Answer answer;
    std::thread asking([&] { answer = resolver->query("a.example.test", RrType::a); });
    // Destroying a resolver while a call is still on its way in would be the caller's bug; once
    // the question is on the wire, the destructor must end it.
    while (!silent.received_query()) std::this_thread::yield();
    resolver.reset();
    asking.join();
    EXPECT_EQ(answer.status, Status::error);
    EXPECT_EQ(answer.detail, "resolver shut down");
}

}  // namespace
