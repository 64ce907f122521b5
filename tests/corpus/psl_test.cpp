// The Public Suffix List's own test vectors (publicsuffix/list tests/, ../shared/corpus/psl) run
// through dmarc::org_domain_by_psl, the RFC 7489 §3.2 Organizational Domain. Both files hold the
// same cases: tests.txt as "input expected" lines, test_psl.txt as checkPublicSuffix(input,
// expected) calls; "null" means no registrable domain.
//
// The vectors may be newer than the system's list. A failing vector whose answer needs a rule the
// system list (the file libpsl loaded) does not have is skipped with that rule named; any other
// failure fails the test.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <regex>
#include <set>

#include "dmarc/dmarc.hpp"
#include "support.hpp"

namespace rampart::dmarc {
namespace {

struct Vector {
    std::string input;     // "" for the null input
    std::optional<std::string> expected;
    int line = 0;
};

std::optional<std::string> nullable(const std::string& text) {
    if (text == "null") return std::nullopt;
    return text;
}

std::vector<Vector> read_tests_txt(const std::filesystem::path& path) {
    std::vector<Vector> vectors;
    std::ifstream in(path);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        if (line.empty() || line.starts_with("//")) continue;
        const auto space = line.find(' ');
        if (space == std::string::npos) continue;
        const auto input = line.substr(0, space);
        vectors.push_back({input == "null" ? "" : input, nullable(line.substr(space + 1)), number});
    }
    return vectors;
}

std::vector<Vector> read_test_psl_txt(const std::filesystem::path& path) {
    static const std::regex call(R"(^checkPublicSuffix\(('([^']*)'|null), ('([^']*)'|null)\);)");
    std::vector<Vector> vectors;
    std::ifstream in(path);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        std::smatch m;
        if (!std::regex_search(line, m, call)) continue;
        Vector v;
        v.input = m[1] == "null" ? "" : m[2].str();
        if (m[3] != "null") v.expected = m[4].str();
        v.line = number;
        vectors.push_back(std::move(v));
    }
    return vectors;
}

/// The rules of a list file: first word of each line that is not a comment.
std::set<std::string> read_rules(const std::filesystem::path& path) {
    std::set<std::string> rules;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line.starts_with("//")) continue;
        rules.insert(line.substr(0, line.find_first_of(" \t\r")));
    }
    return rules;
}

std::string parent_of(const std::string& name) {
    const auto dot = name.find('.');
    return dot == std::string::npos ? "" : name.substr(dot + 1);
}

/// The public suffix a vector's answer rests on, when the list has no rule giving it; "" when
/// the list has one (so a failure is ours, not the list's).
std::string missing_rule(const Vector& v, const std::set<std::string>& rules) {
    std::string suffix = v.expected ? parent_of(*v.expected) : ascii_lower(v.input);
    if (suffix.empty() || suffix.find('.') == std::string::npos) return "";  // "*" covers TLDs
    // The list file writes IDN rules as U-labels; an A-label vector is never skipped.
    if (suffix.find("xn--") != std::string::npos) return "";
    if (rules.contains(suffix) || rules.contains("*." + parent_of(suffix))) return "";
    return suffix;
}

/// The text form of the list libpsl loaded: Debian ships the .dafsa (compiled) next to the .dat.
std::filesystem::path list_text(const std::string& source) {
    std::filesystem::path path(source);
    if (path.extension() == ".dafsa") path.replace_extension(".dat");
    return path;
}

void run_vectors(const std::vector<Vector>& vectors, const std::string& file) {
    const auto list = list_text(psl_source()).string();
    const auto rules = std::filesystem::exists(list) ? read_rules(list) : std::set<std::string>{};
    std::size_t passed = 0, skipped = 0;
    for (const auto& v : vectors) {
        const auto got = org_domain_by_psl(v.input);
        if (got == v.expected) {
            ++passed;
            continue;
        }
        const auto rule = rules.empty() ? std::string() : missing_rule(v, rules);
        if (!rule.empty()) {
            ++skipped;
            std::cout << fmt::format("  skipped {}:{} {}: needs the rule \"{}\", which {} lacks\n",
                                     file, v.line, v.input, rule, list);
            continue;
        }
        ADD_FAILURE() << file << ":" << v.line << " " << v.input << ": expected "
                      << v.expected.value_or("null") << ", got " << got.value_or("null");
    }
    std::cout << fmt::format("{}: {}/{} vectors pass with {} ({} skipped for the list's age)\n",
                             file, passed, vectors.size(), list, skipped);
    EXPECT_EQ(passed + skipped, vectors.size());
    EXPECT_EQ(vectors.size(), 78u);  // the cases of the 2016 files, commented ones aside
}

TEST(PslCorpus, TestsTxt) {
    RAMPART_REQUIRE_CORPUS(corpus);
    run_vectors(read_tests_txt(corpus / "psl" / "tests.txt"), "tests.txt");
}

TEST(PslCorpus, TestPslTxt) {
    RAMPART_REQUIRE_CORPUS(corpus);
    run_vectors(read_test_psl_txt(corpus / "psl" / "test_psl.txt"), "test_psl.txt");
}

}  // namespace
}  // namespace rampart::dmarc
