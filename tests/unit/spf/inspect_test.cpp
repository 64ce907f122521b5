// inspect(): the static walk of an SPF policy for audits (RFC 7208 §4.6.4 costs, §4.5 record
// selection, §5 deprecated ptr, §3.4 answer size): each node's cost, the running total in
// evaluation order, where a limit is first exceeded, and what is wrong where.
#include <gtest/gtest.h>

#include <algorithm>

#include "dns/zone.hpp"
#include "spf/spf.hpp"

namespace rampart::spf {
namespace {

bool has_issue(const std::vector<Issue>& issues, std::string_view code) {
    return std::any_of(issues.begin(), issues.end(),
                       [&](const Issue& i) { return i.code == code; });
}

class Inspect : public ::testing::Test {
protected:
    Tree run(std::string_view domain) {
        dns::ZoneResolver resolver(zone);
        return inspect(resolver, domain);
    }
    dns::Zone zone;
};

TEST_F(Inspect, CostsAndRunningTotalsInEvaluationOrder) {
    zone.add_txt("example.com",
                 "v=spf1 a mx include:_spf.a.example include:_spf.b.example ip4:192.0.2.1 -all");
    zone.add_a("example.com", "192.0.2.1").add_mx("example.com", 10, "mx.example.com");
    zone.add_txt("_spf.a.example", "v=spf1 include:deep.a.example ip4:198.51.100.0/24 ~all");
    zone.add_txt("deep.a.example", "v=spf1 a:h.a.example -all");
    zone.add_a("h.a.example", "203.0.113.1");
    zone.add_txt("_spf.b.example", "v=spf1 ip4:203.0.113.0/24 -all");
    const auto tree = run("example.com");
    EXPECT_EQ(tree.total_lookups, 6);
    EXPECT_FALSE(tree.over_limit);
    EXPECT_EQ(tree.nodes, 4);
    const auto& root = tree.root;
    EXPECT_EQ(root.own_lookups, 4);
    EXPECT_EQ(root.subtree_lookups, 6);
    ASSERT_EQ(root.terms.size(), 4u);
    EXPECT_EQ(root.terms[0].running_total, 1);
    EXPECT_EQ(root.terms[1].running_total, 2);
    EXPECT_EQ(root.terms[2].running_total, 5);  // include + its two look-ups
    EXPECT_EQ(root.terms[3].running_total, 6);
    ASSERT_EQ(root.children.size(), 2u);
    const auto& a = root.children[0];
    EXPECT_EQ(a.via, Via::include);
    EXPECT_EQ(a.term, "include:_spf.a.example");
    EXPECT_EQ(a.running_total_before, 3);
    EXPECT_EQ(a.running_total_after, 5);
    EXPECT_EQ(a.subtree_lookups, 2);
    EXPECT_EQ(a.children[0].domain, "deep.a.example");
    EXPECT_EQ(root.children[1].subtree_lookups, 0);
    EXPECT_FALSE(has_issue(tree.issues, "spf-no-all"));  // include targets need no all
    EXPECT_TRUE(tree.issues.empty()) << tree.issues.front().message;
}

TEST_F(Inspect, OverLimitNamesTheTermWhereItHappensAndContinues) {
    std::string big = "v=spf1";
    for (int i = 0; i < 9; ++i) big += " a:h" + std::to_string(i) + ".example.net";
    zone.add_txt("_spf.example.net", big + " -all");
    for (int i = 0; i < 9; ++i) zone.add_a("h" + std::to_string(i) + ".example.net", "192.0.2.1");
    zone.add_txt("example.com", "v=spf1 include:_spf.example.net mx:example.com -all");
    zone.add_mx("example.com", 10, "mx.example.com");
    const auto tree = run("example.com");
    EXPECT_EQ(tree.total_lookups, 11);
    EXPECT_TRUE(tree.over_limit);
    EXPECT_EQ(tree.limit_exceeded_at, "example.com: mx:example.com");
    EXPECT_TRUE(tree.root.terms[1].over_limit);
    EXPECT_FALSE(tree.root.terms[0].over_limit);
    EXPECT_TRUE(has_issue(tree.root.issues, "spf-too-many-lookups"));
}

TEST_F(Inspect, VoidLookupsMissingIncludesAndStaleTargets) {
    zone.add_txt("example.com",
                 "v=spf1 a:gone1.example.com mx:gone2.example.com include:gone3.example.com "
                 "exists:gone4.example.com -all");
    const auto tree = run("example.com");
    EXPECT_EQ(tree.total_void_lookups, 3);
    EXPECT_TRUE(tree.void_over_limit);
    EXPECT_TRUE(has_issue(tree.issues, "spf-void-lookups"));
    EXPECT_TRUE(has_issue(tree.issues, "spf-include-missing"));
    ASSERT_EQ(tree.root.children.size(), 1u);
    EXPECT_EQ(tree.root.children[0].status, dns::Status::nxdomain);
    EXPECT_EQ(tree.root.terms[0].note, "void lookup (nxdomain)");
}

TEST_F(Inspect, DangerousAllPtrAndNoAll) {
    zone.add_txt("plus.example", "v=spf1 ptr +all");
    zone.add_txt("neutral.example", "v=spf1 ?all");
    zone.add_txt("open.example", "v=spf1 ip4:192.0.2.1");
    auto plus = run("plus.example");
    EXPECT_TRUE(has_issue(plus.issues, "spf-plus-all"));
    EXPECT_TRUE(has_issue(plus.issues, "spf-ptr"));
    EXPECT_EQ(plus.root.terms[0].note, "depends on the client's address");
    EXPECT_TRUE(has_issue(run("neutral.example").issues, "spf-neutral-all"));
    EXPECT_TRUE(has_issue(run("open.example").issues, "spf-no-all"));
}

TEST_F(Inspect, MultipleRecordsSyntaxAndNone) {
    zone.add_txt("two.example", "v=spf1 -all").add_txt("two.example", "v=spf1 ~all");
    zone.add_txt("bad.example", "v=spf1 ip4:1.2.3 -all");
    const auto two = run("two.example");
    EXPECT_TRUE(has_issue(two.issues, "spf-multiple-records"));
    EXPECT_EQ(two.root.records.size(), 2u);
    EXPECT_TRUE(has_issue(run("bad.example").issues, "spf-syntax"));
    EXPECT_TRUE(has_issue(run("none.example").issues, "spf-none"));
}

TEST_F(Inspect, LoopsStopAndAreNamed) {
    zone.add_txt("a.example", "v=spf1 include:b.example -all");
    zone.add_txt("b.example", "v=spf1 include:a.example");
    zone.add_txt("self.example", "v=spf1 redirect=self.example");
    const auto tree = run("a.example");
    EXPECT_TRUE(has_issue(tree.issues, "spf-loop"));
    EXPECT_EQ(tree.nodes, 2);
    EXPECT_TRUE(has_issue(run("self.example").issues, "spf-loop"));
}

TEST_F(Inspect, MxNameCountsMacrosAndRedirectIgnored) {
    for (int i = 0; i < 11; ++i) zone.add_mx("example.com", static_cast<std::uint16_t>(i), "mx.example.com");
    zone.add_txt("example.com", "v=spf1 mx exists:%{i}.bl.example -all redirect=x.example");
    const auto tree = run("example.com");
    EXPECT_EQ(tree.root.terms[0].mx_names, 11);
    EXPECT_TRUE(has_issue(tree.issues, "spf-mx-too-many-names"));
    EXPECT_TRUE(has_issue(tree.issues, "spf-macro"));
    EXPECT_TRUE(has_issue(tree.issues, "spf-redirect-ignored"));
    EXPECT_EQ(tree.total_lookups, 2);  // the ignored redirect costs nothing
}

TEST_F(Inspect, LongTxtAndTemperror) {
    std::string record = "v=spf1";
    while (record.size() < 460) record += " ip4:198.51.100.1";
    zone.add_txt("long.example", std::string_view(record + " -all"));
    zone.add_txt("example.com", "v=spf1 include:slow.example -all");
    zone.fail("slow.example", dns::Status::timeout);
    EXPECT_TRUE(has_issue(run("long.example").issues, "spf-record-too-long-udp"));
    EXPECT_TRUE(has_issue(run("example.com").issues, "spf-temperror"));
}

TEST_F(Inspect, ProposedRecordCostsItsIncludes) {
    zone.add_txt("_spf.google.example", "v=spf1 include:_netblocks.google.example ~all");
    zone.add_txt("_netblocks.google.example", "v=spf1 ip4:192.0.2.0/24 ~all");
    dns::ZoneResolver resolver(zone);
    const auto tree = inspect_record(resolver, "example.org",
                                     "v=spf1 include:_spf.google.example mx -all");
    EXPECT_EQ(tree.total_lookups, 3);
    // Including _spf.google.example costs its own term plus the child's subtree.
    EXPECT_EQ(tree.root.terms[0].running_total, 2);
    EXPECT_EQ(tree.root.children[0].subtree_lookups, 1);
}

TEST_F(Inspect, WideTreesAreBounded) {
    std::string root = "v=spf1";
    for (int i = 0; i < 20; ++i) {
        const auto name = "n" + std::to_string(i) + ".example";
        root += " include:" + name;
        std::string child = "v=spf1";
        for (int j = 0; j < 20; ++j) child += " include:m" + std::to_string(j) + ".example";
        zone.add_txt(name, std::string_view(child));
    }
    for (int j = 0; j < 20; ++j) zone.add_txt("m" + std::to_string(j) + ".example", "v=spf1 -all");
    zone.add_txt("wide.example", std::string_view(root + " -all"));
    Limits limits;
    limits.max_nodes = 50;
    dns::ZoneResolver resolver(zone);
    const auto tree = inspect(resolver, "wide.example", limits);
    EXPECT_LE(tree.nodes, 50);
    EXPECT_TRUE(has_issue(tree.issues, "spf-too-many-nodes"));
    EXPECT_TRUE(tree.over_limit);
}

}  // namespace
}  // namespace rampart::spf
