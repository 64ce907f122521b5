// Realistic mail domains for the audit, as one dns::Zone under the reserved TLD "test": the unit
// tests read it through ZoneResolver, the `rampart check` integration test serves the same zone
// from Knot DNS (origin "test", so the DMARC tree walk's last query, _dmarc.test, is answered by
// the same server), and generated_domains() makes the 1,000-domain run.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "dns/zone.hpp"

namespace rampart::test::audit_samples {

// Public keys made for these tests (SubjectPublicKeyInfo DER in base64; Ed25519 raw 32 octets).
inline const std::string rsa512 =
    "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKf9ssXkv1EKUXsD8MQ9DGw3wHfJNw22ieE8oKPthsVzzfJWp3rygyRIe6gqPO"
    "vx7eWlpXg8iEwyNAItYxixD8kCAwEAAQ==";
inline const std::string rsa1024 =
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDSXZqIc7LXSBh5ikZYeXyoEYWoDdis9BLnarhVNtXZnMUZNVvHUAh7G4"
    "0nvdRzOOx5pOOJskmrZefic8RGNNBXz3vIujXBz5j+qjKXiQ0Yp6jumNlx4trLLStnJkAi3CMEGnjf+4rnn73VY6YAItGJ"
    "qFhh9YNgKhQsXlUigJ0fsQIDAQAB";
inline const std::string rsa2048 =
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0MeplussIsmghXvDXuBFGzf4J++DQkHfIUKnWfx6Zcspzwfu2p"
    "F7wJohp9Nz/k718VR5YezurZkV4TiS846KjfvdSsC4tPwWyuGUI8Hsxpfk2S06lJJwlh4eza5AREi9Cukxjzycq9hWdb1D"
    "rgkLfgaNvhS5rHNtuM3uiMMjD+jhvif4O/cJjcKeDcX3NVDr5r2hpfBntRuNZQOUJXKEVc26X9SfeB7CwXwuRKqXZ/pBzU"
    "VvB+ZKpuY2+hDxopaJNl/rjYpE0QUKaXewhib1eqh+923c7S+jgINqRioWfZF7pSeszKPskssR022xX3reNJrm4fwqcX0D"
    "PY2wH1wSXQIDAQAB";
inline const std::string ed25519 = "GWf3TAX1moNe9LIJ6XN4IjoSFQ/8Df/CV+Tcm90kkQE=";

inline std::string rsa_key_record(const std::string& key) { return "v=DKIM1; k=rsa; p=" + key; }

/// The mail provider many domains use: an SPF include costing 2 more look-ups, and a report
/// mailbox that accepts reports for any domain (the RFC 9990 §4 wildcard).
inline void add_provider(dns::Zone& z) {
    z.add_txt("_spf.provider.test", "v=spf1 include:_netblocks.provider.test a:smtp.provider.test ~all")
        .add_txt("_netblocks.provider.test", "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:100::/48 ~all")
        .add_a("smtp.provider.test", "198.51.100.25")
        .add_mx("provider.test", 10, "mx.provider.test")
        .add_a("mx.provider.test", "198.51.100.10")
        .add_txt("provider.test", "v=spf1 include:_spf.provider.test -all")
        .add_txt("_dmarc.provider.test", "v=DMARC1; p=reject; rua=mailto:dmarc@provider.test")
        .add_txt("*._report._dmarc.provider.test", "v=DMARC1;");
}

/// A domain with nothing wrong: SPF through the provider, p=reject with reports to the provider,
/// a 2048-bit key at "google", two MX.
inline void add_clean_domain(dns::Zone& z, const std::string& d) {
    z.add_txt(d, "v=spf1 ip4:192.0.2.0/24 include:_spf.provider.test -all")
        .add_txt(d, "google-site-verification=abc123")
        .add_txt("_dmarc." + d, "v=DMARC1; p=reject; rua=mailto:dmarc-reports@provider.test")
        .add_txt("google._domainkey." + d, rsa_key_record(rsa2048))
        .add_mx(d, 10, "mx.provider.test")
        .add_mx(d, 20, "mx2.provider.test");
}

/// A domain with error-level problems: +all, a dead include, p=none without reports, a 512-bit
/// key.
inline void add_broken_domain(dns::Zone& z, const std::string& d) {
    z.add_txt(d, "v=spf1 include:_spf.provider.test include:gone.provider.test +all")
        .add_txt("_dmarc." + d, "v=DMARC1; p=none")
        .add_txt("default._domainkey." + d, rsa_key_record(rsa512))
        .add_mx(d, 10, "mx." + d)
        .add_a("mx." + d, "192.0.2.25");
}

/// A domain that sends and receives no mail, published the recommended way.
inline void add_parked_domain(dns::Zone& z, const std::string& d) {
    z.add_txt(d, "v=spf1 -all")
        .add_txt("_dmarc." + d, "v=DMARC1; p=reject; rua=mailto:dmarc@provider.test")
        .add_mx(d, 0, ".");
}

/// clean.test, broken.test, parked.test and the provider.
inline dns::Zone sample_zone() {
    dns::Zone z;
    add_provider(z);
    add_clean_domain(z, "clean.test");
    add_broken_domain(z, "broken.test");
    add_parked_domain(z, "parked.test");
    return z;
}

/// "d0000.test" ... : every tenth broken, the rest clean.
inline std::vector<std::string> generated_domains(dns::Zone& z, std::size_t count) {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < count; ++i) {
        auto d = fmt::format("d{:04}.test", i);
        if (i % 10 == 9) add_broken_domain(z, d);
        else add_clean_domain(z, d);
        names.push_back(std::move(d));
    }
    return names;
}

}  // namespace rampart::test::audit_samples
