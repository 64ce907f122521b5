#include "report/report.hpp"

namespace rampart::report {

std::string_view to_string(Alignment v) noexcept { return v == Alignment::strict ? "s" : "r"; }

std::string_view to_string(Policy v) noexcept {
    switch (v) {
        case Policy::none: return "none";
        case Policy::quarantine: return "quarantine";
        case Policy::reject: return "reject";
    }
    return "none";
}

std::string_view to_string(DiscoveryMethod v) noexcept {
    return v == DiscoveryMethod::psl ? "psl" : "treewalk";
}

std::string_view to_string(Disposition v) noexcept {
    switch (v) {
        case Disposition::none: return "none";
        case Disposition::pass: return "pass";
        case Disposition::quarantine: return "quarantine";
        case Disposition::reject: return "reject";
        case Disposition::unknown: return "unknown";
    }
    return "unknown";
}

std::string_view to_string(DmarcVerdict v) noexcept {
    switch (v) {
        case DmarcVerdict::pass: return "pass";
        case DmarcVerdict::fail: return "fail";
        case DmarcVerdict::unknown: return "unknown";
    }
    return "unknown";
}

std::string_view to_string(AuthVerdict v) noexcept {
    switch (v) {
        case AuthVerdict::none: return "none";
        case AuthVerdict::pass: return "pass";
        case AuthVerdict::fail: return "fail";
        case AuthVerdict::softfail: return "softfail";
        case AuthVerdict::neutral: return "neutral";
        case AuthVerdict::policy: return "policy";
        case AuthVerdict::temperror: return "temperror";
        case AuthVerdict::permerror: return "permerror";
        case AuthVerdict::unknown: return "unknown";
    }
    return "unknown";
}

std::string_view to_string(SpfScope v) noexcept {
    switch (v) {
        case SpfScope::unspecified: return "";
        case SpfScope::mfrom: return "mfrom";
        case SpfScope::helo: return "helo";
    }
    return "";
}

std::string_view to_string(OverrideType v) noexcept {
    switch (v) {
        case OverrideType::forwarded: return "forwarded";
        case OverrideType::sampled_out: return "sampled_out";
        case OverrideType::trusted_forwarder: return "trusted_forwarder";
        case OverrideType::mailing_list: return "mailing_list";
        case OverrideType::local_policy: return "local_policy";
        case OverrideType::other: return "other";
        case OverrideType::policy_test_mode: return "policy_test_mode";
        case OverrideType::unknown: return "unknown";
    }
    return "unknown";
}

std::string_view to_string(Schema v) noexcept {
    switch (v) {
        case Schema::none: return "none";
        case Schema::dmarc_0_1: return "dmarc-0.1";
        case Schema::dmarc_0_2: return "dmarc-0.2";
        case Schema::dmarc_2_0: return "dmarc-2.0";
        case Schema::other: return "other";
    }
    return "other";
}

}  // namespace rampart::report
