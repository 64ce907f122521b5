// dns: the one way to include ldns from C++. ldns/common.h defines `bool`, `true` and `false` as
// macros unless <stdbool.h> was included first (its configure-time guard is missing from the
// installed header), which breaks <optional> and friends included afterwards.
#pragma once

// clang-format off
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers): must precede ldns
#include <ldns/ldns.h>
// clang-format on
