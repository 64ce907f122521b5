// The composition root: the only place that builds real adapters and hands them to the CLI.
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>

#include "cli/cli.hpp"
#include "dns/ares.hpp"
#include "dns/cache.hpp"
#include "mail/imap/imap.hpp"
#include "store/sqlite/sqlite_store.hpp"

int main(int argc, char** argv) {
    rampart::cli::Environment env;
    env.open_store = [](const std::filesystem::path& path) { return rampart::store::open_sqlite(path); };
    env.now = [] {
        return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    };
    env.err_is_terminal = ::isatty(STDERR_FILENO) == 1;
    env.connect_imap = [](const rampart::mail::imap::ConnectOptions& options,
                          const rampart::mail::imap::Secret& password) {
        return rampart::mail::imap::connect(options, password);
    };
    // The network resolver behind a cache: a command asks the same names many times (SPF
    // includes, DMARC tree walks), and the cache counts what the network was asked.
    env.open_resolver = [](const std::optional<rampart::dns::Server>& server)
        -> rampart::Result<std::unique_ptr<rampart::dns::Resolver>> {
        rampart::dns::AresOptions options;
        options.server = server;
        auto network = rampart::dns::AresResolver::open(options);
        if (!network) return std::unexpected(std::move(network.error()));
        return std::make_unique<rampart::dns::CachingResolver>(std::move(*network));
    };
    return rampart::cli::run(argc, argv, env);
}
